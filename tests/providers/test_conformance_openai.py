"""The provider conformance suite for the OpenAI plugin, on both of its APIs."""

from __future__ import annotations

from loom_wire_servers import OpenAIServer

from .conformance import ProviderConformance


class TestOpenAIChatConformance(ProviderConformance):
    server_class = OpenAIServer
    class_name = "OpenAIProvider"
    record_name = "openai"
    plugin_module = "loom_provider_openai"
    options = {"api": "chat"}
    priced_model = "gpt-4o-mini"


class TestOpenAIResponsesConformance(TestOpenAIChatConformance):
    options = {"api": "responses"}
