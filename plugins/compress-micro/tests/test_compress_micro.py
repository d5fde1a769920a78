"""The micro level on crafted histories: the fact ledger first, then masking in batches."""

from __future__ import annotations

from pathlib import Path

from loom.invariants import check_edit
from loom.run import Run
from loom_compress_common.ledger import LEDGER_KEY
from loom_compress_common.replay import make_run
from loom_compress_common.restore import restore_text
from loom_compress_common.store import RestoreStore
from loom_compress_common.stubs import is_stub, refs_in
from loom_compress_common.testing import History
from loom_compress_micro.level import Micro
from loom_compress_micro.settings import MicroSettings

CONFIG = "\n".join(["[db]", 'host = "db.internal"', "port = 6842", *(f"opt_{i} = {i}" for i in range(30))])
FAILING = (
    "collected 12 items\n...........F\nFAILED tests/test_api.py::test_quota - KeyError: 'tenant_id'\n1 failed"
)
CODE = "\n".join(f"def f{i}(x):\n    return x + {i}" for i in range(60))


def session(tmp_path: Path, **settings: int) -> tuple[Run, Micro]:
    history = (
        History("add quotas")
        .tool("read_file", CONFIG, path="config/db.toml")
        .user("Never touch the migrations folder.")
        .tool("run_shell", FAILING, command="pytest -q tests/test_api.py", is_error=True)
        .tool(
            "edit_file",
            "Edited src/api/quota.py: 1 replacement",
            path="src/api/quota.py",
            old="x",
            new="y",
            text="I'll use a dict default instead of raising.",
        )
        .tool(
            "run_shell", "collected 12 items\n............\n12 passed", command="pytest -q tests/test_api.py"
        )
        .tool("read_file", CODE, path="src/a.py")
        .tool("read_file", CODE, path="src/b.py")
        .tool("read_file", CODE, path="src/c.py")
        .tool("read_file", CODE, path="src/d.py")
    )
    run = make_run(tmp_path, window_tokens=8000)
    run.window.history = list(history.messages)
    return run, Micro(MicroSettings(**{"min_output_chars": 50, "batch_fraction": 0.01, **settings}))


async def test_old_outputs_are_masked_after_their_facts_reach_the_ledger(tmp_path: Path) -> None:
    run, micro = session(tmp_path, keep_turns=4)
    edit = await micro.compress(run.window, run)
    assert edit is not None and check_edit(run.window, edit) == []
    outputs = [r.content for m in edit.history if m.role == "tool" for r in m.tool_results]
    assert is_stub(outputs[0]) and "masked: read_file path=config/db.toml" in outputs[0]
    assert is_stub(outputs[1])
    assert outputs[-4:] == [CODE] * 4  # the last four turns keep their outputs
    ledger = edit.pinned[LEDGER_KEY]
    assert "port = 6842" in ledger and 'host = "db.internal"' in ledger
    assert "KeyError: 'tenant_id' → fixed by edit_file src/api/quota.py" in ledger
    assert "touched src/api/quota.py" in ledger
    assert "- decision: I'll use a dict default instead of raising." in ledger
    assert "- constraint: Never touch the migrations folder." in ledger
    store = RestoreStore.for_run(run)
    assert "port = 6842" in restore_text(store, refs_in(outputs[0])[0])


async def test_no_batch_below_the_batch_fraction(tmp_path: Path) -> None:
    run, micro = session(tmp_path, keep_turns=4, batch_fraction=0.9)
    assert await micro.compress(run.window, run) is None


async def test_a_value_read_again_supersedes_the_ledger_entry(tmp_path: Path) -> None:
    run, micro = session(tmp_path, keep_turns=1, batch_fraction=0.0)
    edit = await micro.compress(run.window, run)
    assert edit is not None
    run.window.history = edit.history
    run.window.pinned.update(edit.pinned)
    history = History("x").tool(
        "read_file", CONFIG.replace("port = 6842", "port = 7000"), path="config/db.toml"
    )
    run.window.history += [
        *history.messages[1:],
        *History("y")
        .tool("run_shell", "ok", command="true")
        .tool("run_shell", "ok", command="true")
        .messages[1:],
    ]
    second = await micro.compress(run.window, run)
    assert second is not None and check_edit(run.window, second) == []
    assert "port = 7000 (was 6842)" in second.pinned[LEDGER_KEY]


async def test_masked_stubs_are_not_masked_again(tmp_path: Path) -> None:
    run, micro = session(tmp_path, keep_turns=0, batch_fraction=0.0)
    edit = await micro.compress(run.window, run)
    assert edit is not None
    run.window.history = edit.history
    run.window.pinned.update(edit.pinned)
    assert await micro.compress(run.window, run) is None
