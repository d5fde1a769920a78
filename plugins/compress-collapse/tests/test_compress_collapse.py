"""The collapse level on crafted histories: finished spans fold, open work stays."""

from __future__ import annotations

from pathlib import Path

from loom.invariants import check_edit
from loom.messages import Message
from loom.requests import ModelRequest
from loom.run import Run
from loom.testing import ScriptedModel
from loom_compress_collapse.level import Collapse
from loom_compress_collapse.settings import CollapseSettings
from loom_compress_collapse.spans import finished_spans
from loom_compress_common.ledger import LEDGER_KEY
from loom_compress_common.replay import make_run
from loom_compress_common.store import RestoreStore
from loom_compress_common.stubs import refs_in
from loom_compress_common.testing import History

FAILING = "collected 3 items\n..F\nFAILED tests/test_x.py::test_y - KeyError: 'quota_window'\n1 failed"


def history() -> History:
    return (
        History("add quotas")
        .tool("read_file", "QUOTA_DEFAULT = 100\n" + "x = 1\n" * 50, path="src/quota.py")
        .tool("edit_file", "Edited src/quota.py", path="src/quota.py", old="100", new="250")
        .text("Done with the quota defaults; I'll use 250 instead of 100 as agreed.")
        .user("Keep the old endpoint working.")
        .tool("run_shell", FAILING, command="pytest -q tests/test_x.py", is_error=True)
        .tool("edit_file", "Edited src/window.py", path="src/window.py", old="a", new="b")
        .tool("run_shell", "collected 3 items\n...\n3 passed", command="pytest -q tests/test_x.py")
        .tool("read_file", "y = 2\n" * 30, path="src/open.py", text="Now the open part.")
        .tool("run_shell", "ok", command="true")
        .tool("run_shell", "ok", command="true")
    )


def window_run(tmp_path: Path, provider: ScriptedModel | None = None) -> Run:
    run = make_run(tmp_path, provider=provider)
    run.window.history = list(history().messages)
    return run


async def test_finished_spans_fold_into_digests_and_user_messages_stay(tmp_path: Path) -> None:
    run = window_run(tmp_path)
    before = list(run.window.history)
    edit = await Collapse().compress(run.window, run)
    assert edit is not None and check_edit(run.window, edit) == []
    digests = [m.text_content for m in edit.history if m.text_content.startswith("[context collapsed")]
    assert len(digests) == 2
    assert "said: Done with the quota defaults" in digests[0] and "edit_file path=src/quota.py" in digests[0]
    assert "run_shell command=pytest -q tests/test_x.py → error: 1 failed" in digests[1]
    assert [m.text_content for m in edit.history if m.role == "user"] == [
        "add quotas",
        "Keep the old endpoint working.",
    ]
    assert any("src/open.py" in str(m.tool_calls) for m in edit.history)  # the open span stays
    assert "QUOTA_DEFAULT = 100" in edit.pinned[LEDGER_KEY]
    assert "KeyError: 'quota_window' → fixed by edit_file src/window.py" in edit.pinned[LEDGER_KEY]
    restored = RestoreStore.for_run(run).get(refs_in(digests[0])[0])
    originals = [Message.model_validate(m) for m in restored["messages"]]
    assert originals == before[1:6]


def test_no_span_is_finished_without_a_completion_or_a_fix() -> None:
    messages = (
        History()
        .tool("read_file", "a", path="a.py")
        .tool("read_file", "b", path="b.py")
        .tool("read_file", "c", path="c.py")
    ).messages
    assert finished_spans(messages, len(messages), 1) == []


async def test_digest_written_by_the_model_when_asked(tmp_path: Path) -> None:
    model = ScriptedModel(lambda request: "- quota default raised to 250 in src/quota.py")
    run = window_run(tmp_path, model)
    edit = await Collapse(CollapseSettings(use_model=True)).compress(run.window, run)
    assert edit is not None
    assert any(m.text_content.endswith("- quota default raised to 250 in src/quota.py") for m in edit.history)
    request: ModelRequest = model.requests[0]
    assert (
        request.metadata["purpose"] == "context.digest" and "src/quota.py" in request.messages[0].text_content
    )


async def test_a_failing_model_falls_back_to_the_plain_digest(tmp_path: Path) -> None:
    def broken(request: ModelRequest) -> str:
        raise RuntimeError("model down")

    run = window_run(tmp_path, ScriptedModel(broken))
    edit = await Collapse(CollapseSettings(use_model=True)).compress(run.window, run)
    assert edit is not None and any("said: Done with the quota" in m.text_content for m in edit.history)
