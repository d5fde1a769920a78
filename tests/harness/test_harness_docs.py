"""The harness documentation matches the code: examples validate, links and keys exist."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import loom_harness_classifier
import loom_harness_hooks
import loom_harness_permissions
import loom_tools_builtin
import pytest
from loom.testing import LoomHarness

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = ["harness-classifier", "harness-hooks", "harness-permissions", "tools-builtin"]
MODELS = {"harness-classifier": loom_harness_classifier.ClassifierSettings,
          "harness-hooks": loom_harness_hooks.HooksSettings,
          "harness-permissions": loom_harness_permissions.PermissionsSettings,
          "tools-builtin": loom_tools_builtin.BuiltinToolsSettings}


def readme(name: str) -> str:
    return (ROOT / "plugins" / name / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", PLUGINS)
def test_every_settings_example_in_a_readme_is_valid(name: str) -> None:
    settings: dict[str, Any] = {}
    for block in re.findall(r"```toml\n(.*?)```", readme(name), re.S):
        for table, values in tomllib.loads(block).get("settings", {}).items():
            settings.setdefault(table, {}).update(values)
    assert name in settings, f"the README of {name} shows no [settings.{name}] example"
    harness = LoomHarness([], config={"settings": settings},
                          plugins=[loom_harness_classifier, loom_harness_hooks,
                                   loom_harness_permissions, loom_tools_builtin])
    assert harness.runtime.plugins.settings_for(name) is not None


@pytest.mark.parametrize("name", PLUGINS)
def test_every_setting_is_documented_in_its_readme(name: str) -> None:
    text = readme(name)
    missing = [field for field in MODELS[name].model_fields if field not in text]
    assert not missing, f"settings of {name} missing from its README: {missing}"


def test_the_harness_page_links_exist_and_name_every_state_key() -> None:
    page = (ROOT / "docs" / "harness.md").read_text(encoding="utf-8")
    for link in re.findall(r"\]\(([^)#]+)\)", page):
        assert (ROOT / "docs" / link).resolve().exists(), link
    for key in (loom_harness_classifier.CLASSIFICATION_KEY, loom_harness_classifier.INJECTION_KEY,
                loom_harness_hooks.ARGUMENTS_KEY, loom_harness_hooks.HOOK_ALLOW_KEY,
                loom_harness_permissions.POLICY_KEY):
        assert f"`{key}`" in page, key
