"""Loom provider plugin for the Google Gemini API (google-genai SDK).

Registers the ``gemini`` provider record (``from loom.providers import
GeminiProvider``) and classifies the SDK's errors. This module is
import-light: ``google.genai`` is imported only when the provider is built or
one of its errors is classified.
"""

from __future__ import annotations

import sys

from loom.errors import ProviderError
from loom.hookspecs import hookimpl
from loom.records import ProviderRecord

from loom_provider_gemini.settings import GeminiSettings

__all__ = ["GeminiSettings", "loom_classify_error", "loom_register_providers"]

NAME = "gemini"


@hookimpl
def loom_register_providers() -> list[ProviderRecord]:
    """Register the ``gemini`` provider, configured by ``[settings.gemini]``."""
    return [ProviderRecord(
        name=NAME,
        factory="loom_provider_gemini.provider:GeminiProvider.from_settings",
        class_name="GeminiProvider",
        cls="loom_provider_gemini.provider:GeminiProvider",
        settings=GeminiSettings,
        description="Google Gemini API (official google-genai SDK)",
    )]


@hookimpl
def loom_classify_error(error: BaseException, provider: str) -> ProviderError | None:
    """Type an exception from google-genai (or, for this provider, its transport).

    Returns None for errors that are neither, so other plugins may classify them.
    """
    if "google.genai" not in sys.modules:
        return None
    from google.genai import errors

    if not isinstance(error, errors.APIError) and provider != NAME:
        return None
    from loom_provider_gemini.errors import classify_error

    return classify_error(error, provider or NAME)
