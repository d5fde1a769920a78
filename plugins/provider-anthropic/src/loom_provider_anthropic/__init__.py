"""Loom provider plugin for the Anthropic Messages API.

Registers the ``anthropic`` provider record (``from loom.providers import
AnthropicProvider``) and classifies the SDK's errors. This module is
import-light: the ``anthropic`` SDK is imported only when the provider is
built or one of its errors is classified.
"""

from __future__ import annotations

from loom_provider_common.plugin import SDKPlugin

from loom_provider_anthropic.settings import AnthropicSettings

__all__ = ["AnthropicSettings", "loom_classify_error", "loom_register_providers"]

NAME = "anthropic"

#: The ``anthropic`` provider record, configured by ``[settings.anthropic]``, and the
#: classification of the SDK's errors: the two hook implementations below.
PLUGIN = SDKPlugin(
    NAME, "loom_provider_anthropic.provider:AnthropicProvider", AnthropicSettings,
    "Anthropic Messages API (official anthropic SDK)",
    sdk_error="anthropic:AnthropicError", classify="loom_provider_anthropic.errors:classify_error")

loom_register_providers = PLUGIN.loom_register_providers
loom_classify_error = PLUGIN.loom_classify_error
