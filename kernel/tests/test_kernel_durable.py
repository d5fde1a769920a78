"""Durable runs through the store contract: commits per step, resume, idempotency."""

from __future__ import annotations

from typing import Any

from loom.hookspecs import hookimpl
from loom.store import Checkpoint
from loom.testing import LoomHarness, MemoryStore, StorePlugin, call
from loom.tools import tool
from loom.verdicts import ProposedAction, Verdict

executed: list[str] = []


@tool
def step_tool(label: str) -> str:
    """Record that it ran."""
    executed.append(label)
    return f"did {label}"


class Tools:
    @hookimpl
    def loom_register_tools(self) -> list[Any]:
        return [step_tool]


class AskOnSecond:
    @hookimpl
    def loom_veto(self, action: ProposedAction) -> Verdict | None:
        return Verdict.ask("needs a person") if action.arguments.get("label") == "two" else None


def harness(store: MemoryStore, script: list[Any], *plugins: Any) -> LoomHarness:
    return LoomHarness(script, plugins=[Tools(), StorePlugin(store), *plugins])


async def test_every_step_is_committed_with_its_events() -> None:
    store = MemoryStore()
    h = harness(store, [call("step_tool", label="a"), "done"])
    result = await h.run("go")
    run_id = result.run_id
    assert store.runs[run_id].status == "succeeded"
    assert [e.seq for e in store.events[run_id]] == list(range(len(h.last_run.recorded)))
    assert store.checkpoints[run_id].phase == "ready"
    assert len(store.responses[run_id]) == 2  # every model answer kept for replay
    assert store.commits >= 3  # acting + ready for the tool step, ready for the final step


async def test_pending_approval_survives_a_restart_and_nothing_runs_twice() -> None:
    executed.clear()
    store = MemoryStore()
    script = [call("step_tool", label="one"), call("step_tool", label="two"), "finished"]
    first = harness(store, script, AskOnSecond())
    run = first.runtime.create_session().create_task("two steps").start()
    async for event in run.events():
        if event.kind == "approval.requested":
            break
    approval_id = run.pending_approvals[0].id
    run.cancel()  # the process "dies" while waiting for a person
    await run.wait()
    assert executed == ["one"]
    # the stored state is the one before the interrupted step finished
    assert store.checkpoints[run.id].phase == "acting"

    # A new runtime (new process) resumes from the store.
    second = harness(store, script[2:], AskOnSecond())
    resumed = await second.runtime.resume(run.id)
    async for event in resumed.events():  # the stored events come first, then live ones
        if event.kind == "approval.requested" and resumed.pending_approvals:
            break
    [pending] = resumed.pending_approvals
    assert pending.id == approval_id  # the same approval, by id
    pending.approve()
    result = await resumed.wait()
    assert result.status == "succeeded" and result.output == "finished"
    assert executed == ["one", "two"]  # "one" was not run again
    kinds = [e.kind for e in store.events[run.id]]
    assert "run.resumed" in kinds
    seqs = [e.seq for e in store.events[run.id]]
    assert seqs == sorted(seqs)


async def test_interrupted_call_is_reported_not_rerun() -> None:
    executed.clear()
    store = MemoryStore()
    h = harness(store, [call("step_tool", label="x"), "noted"])
    result = await h.run("go")
    # Simulate a crash in the middle of the tool call: started, never finished.
    run_id = result.run_id
    ckpt = store.checkpoints[run_id]
    acting = Checkpoint(run_id=run_id, step=1, phase="acting",
                        window={**ckpt.window, "history": ckpt.window["history"][:2]})
    store.checkpoints[run_id] = acting
    store.runs[run_id] = store.runs[run_id].model_copy(update={"status": "running"})
    call_id = acting.window["history"][1]["content"][0]["id"]
    await store.tool_call_started(f"{run_id}:{call_id}", run_id, {})
    executed.clear()
    again = harness(store, ["understood"])
    resumed = await again.runtime.resume(run_id)
    final = await resumed.wait()
    assert final.output == "understood"
    assert executed == []
    seen = again.model.requests[0].messages[-1].tool_results[0]
    assert seen.is_error and "interrupted" in seen.content


def test_several_stores_without_a_choice_is_a_clear_error() -> None:
    import pytest
    from loom.errors import ConfigError

    class Other(StorePlugin):
        @hookimpl
        def loom_register_stores(self) -> list[Any]:
            from loom.records import StoreRecord

            return [StoreRecord(name="other", factory=lambda: self.store)]

    with pytest.raises(ConfigError, match="several stores are installed"):
        harness(MemoryStore(), [], ("other", Other(MemoryStore())))
    chosen = LoomHarness(["ok"], plugins=[StorePlugin(MemoryStore()), ("other", Other(MemoryStore()))],
                         config={"stages": {"store": "other"}})
    assert chosen.run_sync("t").ok


async def test_runtime_closes_its_store() -> None:
    closed: list[bool] = []

    class Closing(MemoryStore):
        async def close(self) -> None:
            closed.append(True)

    h = harness(Closing(), ["done"])
    async with h.runtime as runtime:
        await runtime.create_session().create_task("t").start().wait()
    assert closed == [True]


async def test_resuming_a_finished_run_returns_its_result_without_calling_the_model() -> None:
    store = MemoryStore()
    first = await harness(store, ["the answer"]).run("q")
    again = harness(store, [])
    resumed = await again.runtime.resume(first.run_id)
    result = await resumed.wait()
    assert (result.status, result.output) == ("succeeded", "the answer")
    assert again.model.requests == []
