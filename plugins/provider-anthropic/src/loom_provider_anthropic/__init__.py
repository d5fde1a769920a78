"""Loom provider plugin for the Anthropic Messages API.

Registers the ``anthropic`` provider record (``from loom.providers import
AnthropicProvider``) and classifies the SDK's errors. This module is
import-light: the ``anthropic`` SDK is imported only when the provider is
built or one of its errors is classified.
"""

from __future__ import annotations

import sys

from loom.errors import ProviderError
from loom.hookspecs import hookimpl
from loom.records import ProviderRecord

from loom_provider_anthropic.settings import AnthropicSettings

__all__ = ["AnthropicSettings", "loom_classify_error", "loom_register_providers"]

NAME = "anthropic"


@hookimpl
def loom_register_providers() -> list[ProviderRecord]:
    """Register the ``anthropic`` provider, configured by ``[settings.anthropic]``."""
    return [ProviderRecord(
        name=NAME,
        factory="loom_provider_anthropic.provider:AnthropicProvider.from_settings",
        class_name="AnthropicProvider",
        cls="loom_provider_anthropic.provider:AnthropicProvider",
        settings=AnthropicSettings,
        description="Anthropic Messages API (official anthropic SDK)",
    )]


@hookimpl
def loom_classify_error(error: BaseException, provider: str) -> ProviderError | None:
    """Type an exception from the Anthropic SDK (or, for this provider, its transport).

    Returns None for errors that are neither, so other plugins may classify them.
    """
    if "anthropic" not in sys.modules:
        return None
    import anthropic

    if not isinstance(error, anthropic.AnthropicError) and provider != NAME:
        return None
    from loom_provider_anthropic.errors import classify_error

    return classify_error(error, provider or NAME)
