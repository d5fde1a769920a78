"""Loom provider plugin for the Anthropic Messages API.

Registers the ``anthropic`` provider record (``from loom.providers import
AnthropicProvider``) and classifies the SDK's errors. This module is
import-light: the ``anthropic`` SDK is imported only when the provider is
built or one of its errors is classified.
"""

from __future__ import annotations

from loom.errors import ProviderError
from loom.hookspecs import hookimpl
from loom.records import ProviderRecord
from loom_provider_common.plugin import SDKPlugin

from loom_provider_anthropic.settings import AnthropicSettings

__all__ = ["AnthropicSettings", "loom_classify_error", "loom_register_providers"]

NAME = "anthropic"

PLUGIN = SDKPlugin(
    NAME, "loom_provider_anthropic.provider:AnthropicProvider", AnthropicSettings,
    "Anthropic Messages API (official anthropic SDK)",
    sdk_error="anthropic:AnthropicError", classify="loom_provider_anthropic.errors:classify_error")


@hookimpl
def loom_register_providers() -> list[ProviderRecord]:
    """Register the ``anthropic`` provider, configured by ``[settings.anthropic]``."""
    return PLUGIN.records()


@hookimpl
def loom_classify_error(error: BaseException, provider: str) -> ProviderError | None:
    """Type an exception from the Anthropic SDK (or, for this provider, its transport).

    Returns None for errors that are neither, so other plugins may classify them.
    """
    return PLUGIN.classify_error(error, provider)
