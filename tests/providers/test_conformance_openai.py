"""The provider conformance suite for the OpenAI plugin, on both of its APIs."""

from __future__ import annotations

from typing import Any, ClassVar

from loom_wire_servers import OpenAIServer

from .conformance import ProviderConformance


class TestOpenAIChatConformance(ProviderConformance):
    server_class = OpenAIServer
    class_name = "OpenAIProvider"
    record_name = "openai"
    plugin_module = "loom_provider_openai"
    options: ClassVar[dict[str, Any]] = {"api": "chat"}
    priced_model = "gpt-4o-mini"


class TestOpenAIResponsesConformance(TestOpenAIChatConformance):
    options: ClassVar[dict[str, Any]] = {"api": "responses"}
