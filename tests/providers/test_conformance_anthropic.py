"""The provider conformance suite for the Anthropic plugin."""

from __future__ import annotations

from loom_wire_servers import AnthropicServer

from .conformance import ProviderConformance


class TestAnthropicConformance(ProviderConformance):
    server_class = AnthropicServer
    class_name = "AnthropicProvider"
    record_name = "anthropic"
    plugin_module = "loom_provider_anthropic"
    priced_model = "claude-haiku-4-5"
