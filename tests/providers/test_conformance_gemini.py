"""The provider conformance suite for the Gemini plugin."""

from __future__ import annotations

from loom_wire_servers import GeminiServer

from .conformance import ProviderConformance


class TestGeminiConformance(ProviderConformance):
    server_class = GeminiServer
    class_name = "GeminiProvider"
    record_name = "gemini"
    plugin_module = "loom_provider_gemini"
    priced_model = "gemini-2.5-flash"
    # Gemini reports a malformed call as a finish reason, without the call.
    malformed_feedback = "malformed_function_call"
