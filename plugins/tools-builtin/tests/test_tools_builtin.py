"""The built-in tools do their job inside the workspace and refuse every way out of it."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import loom_tools_builtin
import pytest
from loom.errors import ConfigError
from loom.messages import ToolResultBlock
from loom.requests import Effect, ModelRequest
from loom.testing import LoomHarness, call


def last_result(request: ModelRequest) -> str:
    result: ToolResultBlock = request.messages[-1].tool_results[0]
    return ("ERROR " if result.is_error else "") + result.content


def run_tool(workspace: Path, name: str, settings: dict[str, Any] | None = None,
             **arguments: Any) -> str:
    """Run one tool call through a real run (no harness: the kernel allows it) and return its result."""
    config = {"settings": {"tools-builtin": settings}} if settings else None
    harness = LoomHarness([call(name, **arguments), last_result], plugins=[loom_tools_builtin],
                          config=config)
    harness.runtime.workspace = workspace
    result = harness.run_sync(f"use {name}")
    assert result.ok, result
    return result.output


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text("def main():\n    return 42\n# main entry\n")
    (root / "notes.txt").write_text("one\ntwo\nthree\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("top secret")
    return root


def test_effects_are_declared() -> None:
    effects = {record.name: record.spec.effects for record in loom_tools_builtin.TOOLS
               if record.spec is not None}
    assert effects == {"read": {Effect.READ}, "list": {Effect.READ}, "glob": {Effect.READ},
                       "grep": {Effect.READ}, "write": {Effect.MUTATE}, "edit": {Effect.MUTATE},
                       "shell": {Effect.EXECUTE}}


def test_read_whole_file_and_a_range_of_lines(ws: Path) -> None:
    assert run_tool(ws, "read", path="notes.txt") == "one\ntwo\nthree\n"
    assert run_tool(ws, "read", path="notes.txt", offset=2, limit=1) == "two\n"


def test_list_glob_grep(ws: Path) -> None:
    assert run_tool(ws, "list") == "notes.txt\nsrc/"
    assert run_tool(ws, "glob", pattern="**/*.py") == "src/app.py"
    assert run_tool(ws, "grep", pattern=r"main", include="*.py") == \
        "src/app.py:1: def main():\nsrc/app.py:3: # main entry"
    assert run_tool(ws, "grep", pattern="nothing-like-this") == "no match for 'nothing-like-this'"


def test_write_creates_folders_and_edit_replaces_exactly_once(ws: Path) -> None:
    assert run_tool(ws, "write", path="docs/new.md", content="hello") == "wrote 5 bytes to docs/new.md"
    assert (ws / "docs" / "new.md").read_text() == "hello"
    assert run_tool(ws, "edit", path="src/app.py", old="return 42", new="return 43") == \
        "replaced 1 occurrence in src/app.py"
    assert "return 43" in (ws / "src" / "app.py").read_text()


def test_edit_refuses_missing_and_ambiguous_text(ws: Path) -> None:
    before = (ws / "src" / "app.py").read_text()
    missing = run_tool(ws, "edit", path="src/app.py", old="return 99", new="x")
    assert missing.startswith("ERROR") and "not found" in missing
    ambiguous = run_tool(ws, "edit", path="src/app.py", old="main", new="start")
    assert ambiguous.startswith("ERROR") and "occurs 2 times" in ambiguous
    assert (ws / "src" / "app.py").read_text() == before
    assert run_tool(ws, "edit", path="src/app.py", old="main", new="start", replace_all=True) == \
        "replaced 2 occurrences in src/app.py"


@pytest.mark.parametrize(("tool", "arguments"), [
    ("read", {"path": "../outside/secret.txt"}),
    ("read", {"path": "src/../../outside/secret.txt"}),
    ("read", {"path": "{outside}/secret.txt"}),
    ("read", {"path": "~/.bashrc"}),
    ("list", {"path": ".."}),
    ("grep", {"pattern": "secret", "path": "../outside"}),
    ("glob", {"pattern": "../outside/*"}),
    ("glob", {"pattern": "{outside}/*"}),
    ("write", {"path": "../outside/pwned.txt", "content": "x"}),
    ("write", {"path": "{outside}/pwned.txt", "content": "x"}),
    ("edit", {"path": "../outside/secret.txt", "old": "top", "new": "no"}),
])
def test_paths_outside_the_workspace_are_refused(ws: Path, tool: str, arguments: dict[str, Any]) -> None:
    outside = ws.parent / "outside"
    args = {k: v.replace("{outside}", str(outside)) for k, v in arguments.items()}
    output = run_tool(ws, tool, **args)
    assert output.startswith("ERROR"), output
    assert "top secret" not in output
    assert not (outside / "pwned.txt").exists()
    assert (outside / "secret.txt").read_text() == "top secret"


def test_symbolic_links_out_of_the_workspace_are_refused(ws: Path) -> None:
    outside = ws.parent / "outside"
    (ws / "link").symlink_to(outside, target_is_directory=True)
    (ws / "leak.txt").symlink_to(outside / "secret.txt")
    for tool, arguments in [("read", {"path": "leak.txt"}), ("read", {"path": "link/secret.txt"}),
                            ("write", {"path": "link/pwned.txt", "content": "x"}),
                            ("write", {"path": "leak.txt", "content": "overwritten"}),
                            ("list", {"path": "link"})]:
        output = run_tool(ws, tool, **arguments)
        assert output.startswith("ERROR") and "symbolic link" in output, (tool, output)
    assert (outside / "secret.txt").read_text() == "top secret"
    assert not (outside / "pwned.txt").exists()
    assert "top secret" not in run_tool(ws, "grep", pattern="secret")


def test_absolute_paths_inside_the_workspace_work(ws: Path) -> None:
    assert run_tool(ws, "read", path=str(ws / "notes.txt")).startswith("one")


def test_shell_runs_in_the_workspace_and_reports_the_exit_code(ws: Path) -> None:
    output = run_tool(ws, "shell", command="pwd; ls; exit 3")
    assert output.splitlines()[0] == "exit code: 3"
    assert os.path.realpath(output.splitlines()[1]) == os.path.realpath(ws)
    assert "notes.txt" in output


def test_shell_output_is_capped(ws: Path) -> None:
    output = run_tool(ws, "shell", settings={"output_cap": 100},
                      command=f"{sys.executable} -c \"print('x' * 5000)\"")
    assert "[output truncated: 4901 more characters]" in output


def test_shell_timeout_kills_the_command_and_its_children(ws: Path) -> None:
    started = time.monotonic()
    output = run_tool(ws, "shell", command="(sleep 1; touch late.txt) & sleep 1; touch late2.txt",
                      timeout=0.3)
    assert time.monotonic() - started < 1.0
    assert output.startswith("ERROR") and "timed out after 0.3s" in output
    time.sleep(1.3)
    assert not (ws / "late.txt").exists() and not (ws / "late2.txt").exists()


def test_bad_settings_name_the_key() -> None:
    with pytest.raises(ConfigError, match="settings.tools-builtin.shell_timeout"):
        LoomHarness([], plugins=[loom_tools_builtin],
                    config={"settings": {"tools-builtin": {"shell_timeout": -1}}})
