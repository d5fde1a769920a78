"""Loom provider plugin for the Google Gemini API (google-genai SDK).

Registers the ``gemini`` provider record (``from loom.providers import
GeminiProvider``) and classifies the SDK's errors. This module is
import-light: ``google.genai`` is imported only when the provider is built or
one of its errors is classified.
"""

from __future__ import annotations

from loom.errors import ProviderError
from loom.hookspecs import hookimpl
from loom.records import ProviderRecord
from loom_provider_common.plugin import SDKPlugin

from loom_provider_gemini.settings import GeminiSettings

__all__ = ["GeminiSettings", "loom_classify_error", "loom_register_providers"]

NAME = "gemini"

PLUGIN = SDKPlugin(
    NAME, "loom_provider_gemini.provider:GeminiProvider", GeminiSettings,
    "Google Gemini API (official google-genai SDK)",
    sdk_error="google.genai.errors:APIError", classify="loom_provider_gemini.errors:classify_error")


@hookimpl
def loom_register_providers() -> list[ProviderRecord]:
    """Register the ``gemini`` provider, configured by ``[settings.gemini]``."""
    return PLUGIN.records()


@hookimpl
def loom_classify_error(error: BaseException, provider: str) -> ProviderError | None:
    """Type an exception from google-genai (or, for this provider, its transport).

    Returns None for errors that are neither, so other plugins may classify them.
    """
    return PLUGIN.classify_error(error, provider)
