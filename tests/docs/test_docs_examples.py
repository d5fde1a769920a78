"""Code in the docs is real: the guide shows the example package verbatim,
Python blocks compile, TOML blocks are valid configuration, links resolve."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import pytest
from loom.config import load_config

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
