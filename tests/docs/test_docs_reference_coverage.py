"""The user guide and the configuration page cover what the code defines."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
from loom import errors
from loom.config import ConfigFile, PluginsConfig, StagesConfig
from loom.events import EVENT_KINDS
from loom.profile import BUILTIN_PRESETS, AgentProfile

DOCS = Path(__file__).resolve().parents[2] / "docs"
USER_GUIDE = (DOCS / "user-guide.md").read_text(encoding="utf-8")
CONFIGURATION = (DOCS / "configuration.md").read_text(encoding="utf-8")


def config_section(table: str) -> str:
    """The text of the ``## `[table]` `` section of docs/configuration.md."""
    match = re.search(rf"^## `\[{re.escape(table)}\]`\n(.*?)(?=^## |\Z)", CONFIGURATION,
                      re.M | re.S)
    assert match, f"docs/configuration.md has no '## `[{table}]`' section"
    return match.group(1)


@pytest.mark.parametrize("kind", sorted(EVENT_KINDS))
def test_every_event_kind_is_in_the_user_guide(kind: str) -> None:
    assert f"| `{kind}` |" in USER_GUIDE, f"event kind {kind!r} is missing from the user guide"


@pytest.mark.parametrize(
    ("table", "model"),
    [("plugins", PluginsConfig), ("stages", StagesConfig), ("profile", AgentProfile)],
)
def test_every_field_is_in_the_configuration_page(table: str, model: type) -> None:
    section = config_section(table)
    missing = [f for f in model.model_fields if f"| `{f}` |" not in section]
    assert not missing, f"[{table}] fields missing from docs/configuration.md: {missing}"


@pytest.mark.parametrize(
    ("table", "model"),
    [("plugins", PluginsConfig), ("stages", StagesConfig), ("profile", AgentProfile)],
)
def test_the_configuration_page_documents_no_unknown_key(table: str, model: type) -> None:
    section = config_section(table)
    rows = re.findall(r"^\| `([a-z_]+)` \|", section, re.M)
    extra = set(rows) - set(model.model_fields) - {"preset"}
    assert not extra, f"docs/configuration.md documents unknown [{table}] keys: {sorted(extra)}"


def test_every_table_has_a_section() -> None:
    for table in ConfigFile.model_fields:
        name = "settings.<name>" if table == "settings" else table
        config_section(name)


def test_every_error_class_is_in_the_user_guide_tree() -> None:
    classes = [name for name, obj in vars(errors).items()
               if inspect.isclass(obj) and issubclass(obj, errors.LoomError)]
    tree = USER_GUIDE.split("## Errors", 1)[1]
    missing = [name for name in classes if not re.search(rf"(^|[─ ]){name}\b", tree, re.M)]
    assert not missing, f"error classes missing from the user guide: {missing}"


@pytest.mark.parametrize("preset", sorted(BUILTIN_PRESETS))
def test_every_builtin_preset_is_described(preset: str) -> None:
    assert f"| `{preset}` |" in USER_GUIDE
