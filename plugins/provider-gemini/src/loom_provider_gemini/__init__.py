"""Loom provider plugin for the Google Gemini API (google-genai SDK).

Registers the ``gemini`` provider record (``from loom.providers import
GeminiProvider``) and classifies the SDK's errors. This module is
import-light: ``google.genai`` is imported only when the provider is built or
one of its errors is classified.
"""

from __future__ import annotations

from loom_provider_common.plugin import SDKPlugin

from loom_provider_gemini.settings import GeminiSettings

__all__ = ["GeminiSettings", "loom_classify_error", "loom_register_providers"]

NAME = "gemini"

#: The ``gemini`` provider record, configured by ``[settings.gemini]``, and the
#: classification of the SDK's errors: the two hook implementations below.
PLUGIN = SDKPlugin(
    NAME, "loom_provider_gemini.provider:GeminiProvider", GeminiSettings,
    "Google Gemini API (official google-genai SDK)",
    sdk_error="google.genai.errors:APIError", classify="loom_provider_gemini.errors:classify_error")

loom_register_providers = PLUGIN.loom_register_providers
loom_classify_error = PLUGIN.loom_classify_error
