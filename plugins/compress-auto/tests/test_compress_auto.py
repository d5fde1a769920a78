"""The auto level: a model's structured summary, or one built without a model."""

from __future__ import annotations

from pathlib import Path

from loom.invariants import check_edit
from loom.requests import ModelRequest
from loom.run import Run
from loom.testing import ScriptedModel
from loom_compress_auto.level import Auto
from loom_compress_auto.settings import AutoSettings
from loom_compress_common.digest import SECTIONS
from loom_compress_common.replay import make_run
from loom_compress_common.testing import History

SUMMARY = "\n".join(f"## {s}\n(model text for {s})" for s in SECTIONS)


def window_run(tmp_path: Path, provider: ScriptedModel | None = None) -> Run:
    messages = (
        History("migrate the billing tables")
        .tool("read_file", "TABLES = 4\nschema = 'billing'\n", path="src/schema.py")
        .tool(
            "edit_file",
            "Edited",
            path="src/schema.py",
            old="4",
            new="5",
            text="I'll use a new migration instead of editing the old one.",
        )
        .user("Do not drop any column.")
        .tool(
            "run_shell",
            "Error: relation 'invoices' does not exist\nexit code 1",
            command="alembic upgrade head",
            is_error=True,
        )
        .tool("run_shell", "ok", command="true")
        .tool("run_shell", "ok", command="true")
    ).messages
    run = make_run(tmp_path, provider=provider, window_tokens=50_000)
    run.window.history = list(messages)
    return run


async def test_model_summary_replaces_the_history_but_users_and_tail_stay(tmp_path: Path) -> None:
    model = ScriptedModel(lambda request: SUMMARY)
    run = window_run(tmp_path, model)
    tail = run.window.history[-4:]
    edit = await Auto().compress(run.window, run)
    assert edit is not None and check_edit(run.window, edit) == []
    assert [m.text_content for m in edit.history[:2]] == [
        "migrate the billing tables",
        "Do not drop any column.",
    ]
    summary = edit.history[2].text_content
    assert summary.startswith("[context summary of") and "written by the model" in summary
    assert "(model text for Errors and fixes)" in summary
    assert "## Recently used files\n### src/schema.py\nTABLES = 4" in summary
    assert edit.history[3:] == tail
    request: ModelRequest = model.requests[0]
    assert request.metadata["purpose"] == "context.summary"
    assert "- user: Do not drop any column." in request.messages[0].text_content
    assert "TABLES = 4" in edit.pinned["Fact ledger"]


async def test_provider_error_degrades_to_a_summary_without_a_model(tmp_path: Path) -> None:
    def down(request: ModelRequest) -> str:
        raise ConnectionError("unreachable")

    run = window_run(tmp_path, ScriptedModel(down))
    edit = await Auto().compress(run.window, run)
    assert edit is not None and check_edit(run.window, edit) == []
    summary = edit.history[2].text_content
    assert "without a model (ConnectionError)" in summary
    for section in SECTIONS:
        assert f"## {section}\n" in summary
    assert "I'll use a new migration instead of editing the old one." in summary
    assert "src/schema.py" in summary.split("## Files touched\n", 1)[1]
    assert "relation 'invoices' does not exist" in summary


async def test_no_model_call_when_use_model_is_off_and_nothing_to_do_twice(tmp_path: Path) -> None:
    model = ScriptedModel(lambda request: SUMMARY)
    run = window_run(tmp_path, model)
    auto = Auto(AutoSettings(use_model=False))
    edit = await auto.compress(run.window, run)
    assert edit is not None and model.requests == []
    run.window.history = edit.history
    assert await auto.compress(run.window, run) is None
