"""The three provider plugins register through entry points without importing an SDK."""

from __future__ import annotations

import subprocess
import sys

import pytest
from loom.plugins import PluginManager

PROVIDERS = {"anthropic": ("AnthropicProvider", "anthropic"),
             "openai": ("OpenAIProvider", "openai"),
             "gemini": ("GeminiProvider", "google.genai")}


def test_listing_providers_imports_no_sdk() -> None:
    code = (
        "import sys, loom.providers\n"
        "names = dir(loom.providers)\n"
        "assert {'AnthropicProvider', 'OpenAIProvider', 'GeminiProvider'} <= set(names), names\n"
        "loaded = [m for m in ('anthropic', 'openai', 'google.genai') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("record", sorted(PROVIDERS))
def test_each_provider_is_registered_with_its_settings(record: str) -> None:
    class_name, sdk = PROVIDERS[record]
    manager = PluginManager().load()
    found = manager.record("provider", record)
    assert getattr(found, "class_name", "") == class_name
    assert found.settings is not None and found.distribution == f"loom-provider-{record}"
    settings = manager.settings_for(record)
    assert settings.max_retries == 0  # retrying is the retry plugin's job
    import loom.providers

    cls = getattr(loom.providers, class_name)
    assert cls.__module__ == f"loom_provider_{record}.provider"
    assert sdk in sys.modules  # importing the class is what loads the SDK
