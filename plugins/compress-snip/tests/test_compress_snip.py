"""The snip level on crafted histories."""

from __future__ import annotations

from pathlib import Path

import loom_compress_snip
import pytest
from loom.config import load_config
from loom.errors import ConfigError
from loom.invariants import check_edit
from loom.plugins import PluginManager
from loom.run import Run
from loom_compress_common.ledger import LEDGER_KEY
from loom_compress_common.replay import make_run
from loom_compress_common.restore import restore_text
from loom_compress_common.store import RestoreStore
from loom_compress_common.stubs import is_stub, refs_in
from loom_compress_common.testing import History
from loom_compress_snip.level import Snip
from loom_compress_snip.settings import SnipSettings


def window_run(tmp_path: Path, history: History, **kwargs: int) -> Run:
    run = make_run(tmp_path, **kwargs)
    run.window.history = list(history.messages)
    return run


def results(run: Run) -> list[str]:
    return [r.content for m in run.window.history if m.role == "tool" for r in m.tool_results]


def tail(history: History) -> History:
    """Two more turns, so what came before is outside the protected tail."""
    return history.tool("run_shell", "ok", command="true").tool("run_shell", "ok", command="true")


async def test_older_read_of_a_file_read_again_becomes_a_stub_with_its_content_on_disk(
    tmp_path: Path,
) -> None:
    old = "def handler():\n    return 1\n" * 40
    history = (
        History()
        .tool("read_file", old, path="src/app.py")
        .tool("read_file", "new content " * 30, path="src/app.py")
    )
    run = window_run(tmp_path, tail(history))
    edit = await Snip().compress(run.window, run)
    assert edit is not None and check_edit(run.window, edit) == []
    first, second = [r.content for m in edit.history if m.role == "tool" for r in m.tool_results][:2]
    assert is_stub(first) and "superseded: read_file src/app.py" in first
    assert second == "new content " * 30
    assert (
        restore_text(RestoreStore.for_run(run), refs_in(first)[0])
        == f"[result of read_file path=src/app.py]\n{old}"
    )


async def test_exact_duplicate_output_keeps_only_the_latest(tmp_path: Path) -> None:
    listing = "\n".join(f"src/module_{i}.py" for i in range(40))
    history = History().tool("run_shell", listing, command="ls").tool("run_shell", listing, command="ls -1")
    run = window_run(tmp_path, tail(history))
    edit = await Snip().compress(run.window, run)
    assert edit is not None
    outputs = [r.content for m in edit.history if m.role == "tool" for r in m.tool_results]
    assert outputs[0].startswith("[context duplicate") and outputs[1] == listing


async def test_progress_noise_is_removed_and_the_rest_kept(tmp_path: Path) -> None:
    lines = [f"Downloading pkg{i}-1.0.whl (1.2 MB)\n   ━━━━━━━━━━━━━━━━━━━━ 100%" for i in range(12)]
    output = "\n".join([*lines, "Successfully installed pkg0-1.0", "ERROR: pkg3 needs python>=3.12"])
    run = window_run(tmp_path, tail(History().tool("run_shell", output, command="pip install .")))
    edit = await Snip().compress(run.window, run)
    assert edit is not None
    snipped = next(r.content for m in edit.history if m.role == "tool" for r in m.tool_results)
    assert snipped.startswith("[context snipped 24 progress lines")
    assert "Successfully installed pkg0-1.0" in snipped and "ERROR: pkg3 needs python>=3.12" in snipped
    assert "Downloading" not in snipped


async def test_oversized_output_leaves_a_preview_and_its_facts_in_the_ledger(tmp_path: Path) -> None:
    body = [f"line {i} of the log" for i in range(3000)]
    body[1500] = "deployment id: dep-42abc"
    run = window_run(tmp_path, tail(History().tool("run_shell", "\n".join(body), command="make deploy")))
    edit = await Snip(SnipSettings(max_output_tokens=1000, preview_chars=300)).compress(run.window, run)
    assert edit is not None and check_edit(run.window, edit) == []
    preview = next(r.content for m in edit.history if m.role == "tool" for r in m.tool_results)
    assert preview.startswith("[context preview of a 3000-line output") and "line 0 of the log" in preview
    assert "line 2999 of the log" in preview and "dep-42abc" not in preview and len(preview) < 800
    assert "deployment id = dep-42abc" in edit.pinned[LEDGER_KEY]


async def test_the_protected_tail_is_never_touched_and_nothing_to_do_is_none(tmp_path: Path) -> None:
    listing = "x\n" * 200
    history = History().tool("run_shell", listing, command="ls").tool("run_shell", listing, command="ls")
    run = window_run(tmp_path, history)
    assert await Snip().compress(run.window, run) is None
    clean = window_run(tmp_path, tail(History().tool("read_file", "short", path="a.py")))
    assert await Snip().compress(clean.window, clean) is None


def test_settings_reject_unknown_keys_and_name_them() -> None:
    config = load_config(data={"settings": {"snip": {"threshold": 0.4, "preview": 10}}}, environ={})
    with pytest.raises(ConfigError, match="preview"):
        PluginManager(config, plugins=[loom_compress_snip], entry_points=False).load()
    ok = load_config(data={"settings": {"snip": {"threshold": 0.4}}}, environ={})
    manager = PluginManager(ok, plugins=[loom_compress_snip], entry_points=False).load()
    assert manager.settings_for("snip").threshold == 0.4
    assert manager.records("compression")["snip"].threshold == 0.5
