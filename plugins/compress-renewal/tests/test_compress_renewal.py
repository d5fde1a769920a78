"""Renewal: checkpoint everything, continue fresh, keep it all recoverable."""

from __future__ import annotations

from pathlib import Path

import loom_compress_renewal
from loom.invariants import check_edit
from loom.run import StepOutcome
from loom_compress_common.ledger import LEDGER_KEY
from loom_compress_common.replay import make_run
from loom_compress_common.restore import context_restore
from loom_compress_common.store import RestoreStore
from loom_compress_common.stubs import refs_in, stub
from loom_compress_common.testing import History
from loom_compress_renewal.level import HANDOFF_KEY, Renewal
from loom_compress_renewal.settings import RenewalSettings


def long_history() -> History:
    history = History("port the scheduler")
    history.tool("read_file", "SCHED_INTERVAL = 45\n" + "pass\n" * 100, path="src/sched.py")
    history.user("Keep cron syntax compatible.")
    for i in range(6):
        history.tool("read_file", f"chunk {i}\n" * 200, path=f"src/part{i}.py")
    return history.tool("run_shell", "ok", command="true").tool("run_shell", "ok", command="true")


async def test_fresh_window_keeps_users_tail_and_a_handoff_with_the_checkpoint(tmp_path: Path) -> None:
    run = make_run(tmp_path, window_tokens=20_000)
    run.window.history = list(long_history().messages)
    run.window.pinned[LEDGER_KEY] = "Facts kept …\n- values from x: A = 1"
    tail = run.window.history[-4:]
    edit = await Renewal().compress(run.window, run)
    assert edit is not None and check_edit(run.window, edit) == []
    assert [m.text_content for m in edit.history[:2]] == [
        "port the scheduler",
        "Keep cron syntax compatible.",
    ]
    assert edit.history[2:] == tail
    handoff = edit.pinned[HANDOFF_KEY]
    assert "The context was renewed" in handoff and "## Open work" in handoff
    assert "SCHED_INTERVAL = 45" in edit.pinned[LEDGER_KEY] and "A = 1" in edit.pinned[LEDGER_KEY]
    checkpoint = refs_in(handoff)[0]
    found = await context_restore.handler({"ref": checkpoint, "grep": "chunk 5"}, run)
    assert found.startswith("chunk 5") and found.count("\n") == 199
    window = RestoreStore.for_run(run).get(checkpoint)["window"]
    assert len(window["history"]) == len(run.window.history)


async def test_renews_after_repeated_auto_compactions(tmp_path: Path) -> None:
    run = make_run(
        tmp_path,
        window_tokens=20_000,
        plugins=[loom_compress_renewal],
        config={"settings": {"renewal": {"after_auto_compactions": 2}}},
    )
    run.window.history = list(long_history().messages)
    run.state["compress.auto_compactions"] = 1
    await loom_compress_renewal.loom_step_finished(StepOutcome(step=3), run)
    assert not [e for e in run.recorded if e.kind == "context.edited"]
    run.state["compress.auto_compactions"] = 2
    await loom_compress_renewal.loom_step_finished(StepOutcome(step=4), run)
    edited = [e for e in run.recorded if e.kind == "context.edited"]
    assert len(edited) == 1 and edited[0].data["reason"].endswith("after 2 auto compactions")
    assert HANDOFF_KEY in run.window.pinned and len(run.window.history) == 6


async def test_a_grep_on_the_checkpoint_follows_the_stubs_inside_it(tmp_path: Path) -> None:
    run = make_run(tmp_path, window_tokens=20_000)
    store = RestoreStore.for_run(run)
    batch = store.put(
        {
            "0": {
                "kind": "tool_result",
                "tool": "read_file",
                "arguments": {"path": "RUNBOOK.md"},
                "content": "intro\nThe on-call rota lives in ops/rota.yaml\noutro",
            }
        },
        level="micro",
    )
    history = long_history()
    history.tool("read_file", stub("masked: read_file path=RUNBOOK.md", f"{batch}/0"), path="RUNBOOK.md")
    run.window.history = list(history.tool("run_shell", "ok", command="true").messages)
    edit = await Renewal().compress(run.window, run)
    assert edit is not None
    checkpoint = refs_in(edit.pinned[HANDOFF_KEY])[0]
    found = await context_restore.handler({"ref": checkpoint, "grep": "on-call rota"}, run)
    assert found == f"[{batch}/0] The on-call rota lives in ops/rota.yaml"


async def test_nothing_to_renew_is_none(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    run.window.history = list(History("q").tool("run_shell", "ok", command="true").messages)
    assert await Renewal(RenewalSettings()).compress(run.window, run) is None
