"""Loom provider ``local``: a small model run in-process by llama.cpp.

Import-light: llama.cpp and the model load only when the provider is built.
"""

from __future__ import annotations

from loom.hookspecs import hookimpl
from loom.records import ProviderRecord

from loom_provider_local.settings import LocalSettings


@hookimpl
def loom_register_providers() -> list[ProviderRecord]:
    """Register the ``local`` provider."""
    return [ProviderRecord(
        name="local",
        factory="loom_provider_local.provider:LocalProvider.from_settings",
        class_name="LocalProvider",
        cls="loom_provider_local.provider:LocalProvider",
        settings=LocalSettings,
        description="Gemma 3 270M (Q4_K_M) via llama.cpp, offline",
    )]
