"""Reactive compression: every remedy at once on a context overflow, then one retry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import loom_compress_common
import loom_compress_reactive
from loom.errors import ContextOverflowError
from loom.hookspecs import hookimpl
from loom.invariants import check_edit
from loom.records import Record
from loom.requests import ModelRequest, ModelResponse
from loom.testing import LoomHarness, ScriptedModel, call
from loom.tools import tool
from loom_compress_common.replay import make_run
from loom_compress_common.stubs import is_stub
from loom_compress_common.testing import History
from loom_compress_reactive.level import Reactive

BIG = "\n".join(f"row {i}: value {i * 3}" for i in range(400))


async def test_one_edit_masks_every_output_and_summarises_without_a_model(tmp_path: Path) -> None:
    history = History("report")
    for i in range(5):
        history.tool("read_file", BIG, path=f"data/{i}.csv")
    history.tool("run_shell", "ok", command="true").tool("run_shell", "ok", command="true")
    model = ScriptedModel(lambda request: "should not be called")
    run = make_run(tmp_path, provider=model)
    run.window.history = list(history.messages)
    before = run.window.tokens()
    edit = await Reactive().compress(run.window, run)
    assert edit is not None and edit.level == "reactive" and check_edit(run.window, edit) == []
    assert edit.reason == "context overflow: micro, auto"
    run.window.history = edit.history
    run.window.pinned.update(edit.pinned)
    assert run.window.tokens() < before / 5
    assert model.requests == []
    assert edit.history[1].text_content.startswith("[context summary of")
    assert len(edit.restore_refs) >= 2


async def test_nothing_left_to_compress_gives_no_edit(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    run.window.history = list(History("q").tool("run_shell", "ok", command="true").messages)
    assert await Reactive().compress(run.window, run) is None


@tool(blocking=False)
def read_file(path: str) -> str:
    """Read a file.

    Args:
        path: the file.
    """
    return BIG


class Tools:
    @hookimpl
    def loom_register_tools(self) -> list[Record]:
        return [read_file]


class OverflowAtFourthCall(ScriptedModel):
    """Rejects the fourth request as too long, once."""

    async def complete(self, request: ModelRequest, **kwargs: Any) -> ModelResponse:
        if len(self.requests) == 3 and not getattr(self, "raised", False):
            self.raised = True
            self.requests.append(request)
            raise ContextOverflowError("prompt is too long", provider="scripted")
        return await super().complete(request, **kwargs)


async def test_the_kernel_retries_once_after_reactive_compression(tmp_path: Path) -> None:
    model = OverflowAtFourthCall([call("read_file", path=f"f{i}.csv") for i in range(4)] + ["done"])
    harness = LoomHarness(model, plugins=[loom_compress_common, loom_compress_reactive, Tools()])
    harness.runtime.workspace = tmp_path
    result = await harness.run("summarise the files")
    assert result.ok and result.output == "done"
    kinds = harness.event_kinds()
    assert kinds.count("provider.error") == 1
    edited = [e for e in harness.last_run.recorded if e.kind == "context.edited"]
    assert [e.data["level"] for e in edited] == ["reactive"]
    retried = model.requests[4]
    outputs = [r.content for m in retried.messages for r in m.tool_results]
    assert len(retried.messages) < len(model.requests[3].messages)
    assert all(is_stub(o) or o == BIG for o in outputs)
