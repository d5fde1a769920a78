"""Loom provider plugin for OpenAI (Chat Completions and Responses APIs).

Registers the ``openai`` provider record (``from loom.providers import
OpenAIProvider``); with ``base_url`` it drives any OpenAI-compatible server.
Also classifies the SDK's errors. This module is import-light: the ``openai``
SDK is imported only when the provider is built or one of its errors is
classified.
"""

from __future__ import annotations

from loom_provider_common.plugin import SDKPlugin

from loom_provider_openai.settings import OpenAISettings

__all__ = ["OpenAISettings", "loom_classify_error", "loom_register_providers"]

NAME = "openai"

#: The ``openai`` provider record, configured by ``[settings.openai]``, and the
#: classification of the SDK's errors: the two hook implementations below.
PLUGIN = SDKPlugin(
    NAME, "loom_provider_openai.provider:OpenAIProvider", OpenAISettings,
    "OpenAI Chat Completions / Responses API and OpenAI-compatible servers",
    sdk_error="openai:OpenAIError", classify="loom_provider_openai.errors:classify_error")

loom_register_providers = PLUGIN.loom_register_providers
loom_classify_error = PLUGIN.loom_classify_error
