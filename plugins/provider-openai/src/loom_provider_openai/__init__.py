"""Loom provider plugin for OpenAI (Chat Completions and Responses APIs).

Registers the ``openai`` provider record (``from loom.providers import
OpenAIProvider``); with ``base_url`` it drives any OpenAI-compatible server.
Also classifies the SDK's errors. This module is import-light: the ``openai``
SDK is imported only when the provider is built or one of its errors is
classified.
"""

from __future__ import annotations

from loom.errors import ProviderError
from loom.hookspecs import hookimpl
from loom.records import ProviderRecord
from loom_provider_common.plugin import SDKPlugin

from loom_provider_openai.settings import OpenAISettings

__all__ = ["OpenAISettings", "loom_classify_error", "loom_register_providers"]

NAME = "openai"

PLUGIN = SDKPlugin(
    NAME, "loom_provider_openai.provider:OpenAIProvider", OpenAISettings,
    "OpenAI Chat Completions / Responses API and OpenAI-compatible servers",
    sdk_error="openai:OpenAIError", classify="loom_provider_openai.errors:classify_error")


@hookimpl
def loom_register_providers() -> list[ProviderRecord]:
    """Register the ``openai`` provider, configured by ``[settings.openai]``."""
    return PLUGIN.records()


@hookimpl
def loom_classify_error(error: BaseException, provider: str) -> ProviderError | None:
    """Type an exception from the OpenAI SDK (or, for this provider, its transport).

    Returns None for errors that are neither, so other plugins may classify them.
    """
    return PLUGIN.classify_error(error, provider)
