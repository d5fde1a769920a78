"""Code in the docs is real: the guide shows the example package verbatim,
its hook examples take part in a run, Python blocks compile, TOML blocks are
valid configuration, links resolve."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path
from types import ModuleType

import pytest
from loom.config import load_config
from loom.hookspecs import hookimpl
from loom.profile import AgentProfile
from loom.records import ToolRecord
from loom.testing import LoomHarness, call
from loom.tools import tool

DOCS = Path(__file__).resolve().parents[2] / "docs"
EXAMPLE = DOCS / "examples" / "loom-deny-pattern"
GUIDE = (DOCS / "plugin-author-guide.md").read_text(encoding="utf-8")
PAGES = sorted(DOCS.glob("*.md"))
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```$", re.M | re.S)
FILE_BLOCK = re.compile(r"^File `loom-deny-pattern/([^`]+)`:\n\n```\w*\n(.*?)^```$", re.M | re.S)


def blocks(language: str) -> list[tuple[str, str]]:
    """``(page name, code)`` for every fenced block of ``language`` in docs/*.md."""
    out = []
    for page in PAGES:
        for lang, code in BLOCK.findall(page.read_text(encoding="utf-8")):
            if lang == language:
                out.append((page.name, code))
    return out


def test_the_guide_shows_the_example_package_verbatim() -> None:
    shown = dict(FILE_BLOCK.findall(GUIDE))
    assert set(shown) == {
        "pyproject.toml",
        "src/loom_deny_pattern/__init__.py",
        "tests/test_loom_deny_pattern.py",
    }
    for relative, code in shown.items():
        assert code == (EXAMPLE / relative).read_text(encoding="utf-8"), (
            f"the guide's copy of {relative} differs from docs/examples/loom-deny-pattern")


def test_the_example_module_is_small() -> None:
    source = (EXAMPLE / "src" / "loom_deny_pattern" / "__init__.py").read_text(encoding="utf-8")
    code_lines = [ln for ln in source.splitlines() if ln.strip() and not ln.startswith("#")]
    assert len(code_lines) <= 45


@pytest.mark.parametrize(("page", "code"), blocks("python"),
                         ids=lambda v: v if v.endswith(".md") else "")
def test_python_blocks_compile(page: str, code: str) -> None:
    compile(code, page, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


@pytest.mark.parametrize(("page", "code"), blocks("toml"),
                         ids=lambda v: v if v.endswith(".md") else "")
def test_toml_blocks_are_valid_configuration(page: str, code: str) -> None:
    document = tomllib.loads(code)
    if "project" in document or "build-system" in document:
        return  # a package's pyproject.toml, checked by installing it
    if "tool" in document:
        document = document["tool"]["loom"]
    load_config(data=document, environ={})


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_resolve(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text):
        assert (page.parent / target).exists(), f"{page.name} links to missing {target}"


def guide_module(heading: str) -> ModuleType:
    """The first Python block under ``## heading`` in the guide, as a module."""
    match = re.search(rf"^## {re.escape(heading)}\n.*?^```python\n(.*?)^```$", GUIDE,
                      re.M | re.S)
    assert match, f"the plugin author guide has no Python example under '## {heading}'"
    module = ModuleType(f"guide_{heading.lower().replace(' ', '_')}")
    exec(compile(match.group(1), "plugin-author-guide.md", "exec"), module.__dict__)
    return module


@tool(effects={"network"})
def fetch(url: str) -> str:
    """Fetch a URL (pretend)."""
    return f"fetched {url}"


@tool
def note() -> str:
    """Read the note."""
    return "a note"


class GuideTools:
    """Tools for running the guide's hook examples."""

    @hookimpl
    def loom_register_tools(self) -> list[ToolRecord]:
        """Register one network tool and one local tool."""
        return [fetch, note]


def test_the_guides_hook_examples_take_part_in_a_run() -> None:
    veto = guide_module("Async hooks")
    timing = guide_module("Hook kinds and their rules")
    profile = AgentProfile(approval_timeout=0.01)
    harness = LoomHarness([call("fetch", url="https://example.com"), call("note"), "done"],
                          plugins=[("ask-network", veto), ("timing", timing), GuideTools()],
                          profile=profile)
    assert harness.run_sync("fetch and note").ok
    events = harness.last_run.recorded
    asked = [e for e in events if e.kind == "approval.requested"]
    assert [e.data["tool"] for e in asked] == ["fetch"]
    assert asked[0].data["reason"] == "this call reaches the network"
    timed = [e.data["tool"] for e in events if e.kind == "timing.tool_call"]
    assert timed == ["note"]
