"""docs/hooks.md documents every hook of the contract, and only those."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
from loom import hookspecs

HOOKS_MD = Path(__file__).resolve().parents[2] / "docs" / "hooks.md"
HEADING = re.compile(r"^(#{2,3}) (.+?)\s*$", re.M)


def sections() -> dict[str, str]:
    """Heading text → the text up to the next level-2 or level-3 heading."""
    text = HOOKS_MD.read_text(encoding="utf-8")
    found = list(HEADING.finditer(text))
    out: dict[str, str] = {}
    for match, following in zip(found, [*found[1:], None], strict=True):
        end = following.start() if following else len(text)
        out[match.group(2)] = text[match.end():end]
    return out


SECTIONS = sections()


@pytest.mark.parametrize("hook", sorted(hookspecs.HOOK_KINDS))
def test_hook_has_a_section_stating_its_kind_and_stage(hook: str) -> None:
    assert hook in SECTIONS, f"docs/hooks.md has no '## {hook}' or '### {hook}' section"
    body = SECTIONS[hook]
    kind = hookspecs.HOOK_KINDS[hook]
    assert f"**Kind:** {kind}\n" in body, f"section {hook} does not state its kind {kind!r}"
    stage = hookspecs.HOOK_STAGES[hook]
    assert f"**Stage:** {stage}\n" in body, f"section {hook} does not state its stage {stage!r}"


@pytest.mark.parametrize("hook", sorted(hookspecs.HOOK_KINDS))
def test_hook_section_names_every_argument(hook: str) -> None:
    body = SECTIONS[hook]
    arguments = list(inspect.signature(getattr(hookspecs, hook)).parameters)
    line = next((ln for ln in body.splitlines() if "**Arguments:**" in ln), None)
    assert line is not None, f"section {hook} has no Arguments line"
    if not arguments:
        assert "none" in line, f"section {hook}: the hook takes no arguments"
    for name in arguments:
        assert f"`{name}`" in body, f"section {hook} does not describe argument {name!r}"
    assert "**Returns:**" in body, f"section {hook} does not say what it returns"


def test_no_section_documents_a_hook_that_does_not_exist() -> None:
    documented = {title for title in SECTIONS if title.startswith("loom_")}
    unknown = documented - set(hookspecs.HOOK_KINDS)
    assert not unknown, f"docs/hooks.md documents hooks that do not exist: {sorted(unknown)}"


def test_every_kind_is_explained() -> None:
    kinds_table = SECTIONS["Kinds"]
    for kind in set(hookspecs.HOOK_KINDS.values()):
        assert f"\n| {kind} |" in kinds_table, f"kind {kind!r} is missing from the Kinds table"
