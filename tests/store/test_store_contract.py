"""The store contract suite: every durable store (SQLite, PostgreSQL) passes the same tests.

``target`` and ``store`` (see conftest.py) run each test once per store.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from loom.errors import LoomError
from loom.events import Event
from loom.hookspecs import hookimpl
from loom.store import Checkpoint, RunInfo, RunStore
from loom.testing import LoomHarness, StorePlugin, call
from loom.tools import tool
from loom.verdicts import ProposedAction, Verdict

HERE = Path(__file__).resolve().parent


def info(run_id: str, **fields: Any) -> RunInfo:
    values: dict[str, Any] = {"session_id": "s1", "goal": "g", "created_at": 10.0,
                              "updated_at": 10.0, **fields}
    return RunInfo(run_id=run_id, **values)


def events(run_id: str, start: int, *kinds: str) -> list[Event]:
    return [Event(kind=k, run_id=run_id, seq=start + i, time=100.0 + start + i, data={"i": start + i})
            for i, k in enumerate(kinds)]


def checkpoint(run_id: str, step: int, seq: int, response: dict[str, Any] | None = None,
               phase: str = "ready") -> Checkpoint:
    return Checkpoint(run_id=run_id, step=step, phase=phase,  # type: ignore[arg-type]
                      window={"history": [{"role": "user", "content": [{"type": "text",
                                                                          "text": f"s{step}"}]}]},
                      usage={"input_tokens": step}, output=f"o{step}", event_seq=seq,
                      response=response)


async def test_a_new_store_is_empty_and_implements_the_contract(store: Any) -> None:
    assert isinstance(store, RunStore)
    assert await store.list_runs() == []
    assert await store.load_run("missing") is None
    assert await store.tool_call_state("missing:call") is None
    assert await store.schema_version() == 1


async def test_a_run_round_trips_with_checkpoint_events_and_responses(store: Any) -> None:
    profile = {"name": "default", "max_steps": 3}
    await store.create_run(info("r1", profile=profile, parent_id="p0"))
    await store.commit_step(checkpoint("r1", 1, 3, {"message": {"role": "assistant"}}, "acting"),
                            events("r1", 0, "run.started", "step.started", "reason.finished"))
    await store.commit_step(checkpoint("r1", 1, 5), events("r1", 3, "act.finished", "step.finished"))
    await store.commit_step(checkpoint("r1", 2, 6, {"message": {"n": 2}}), events("r1", 5, "x.y"))
    await store.finish_run(info("r1", profile=profile, parent_id="p0", status="succeeded",
                                output="done", created_at=99.0, updated_at=20.0),
                           events("r1", 6, "run.finished"))

    stored = await store.load_run("r1")
    assert stored is not None
    assert stored.info.status == "succeeded" and stored.info.output == "done"
    assert stored.info.created_at == 10.0  # the first creation time is kept
    assert stored.info.profile == {"name": "default", "max_steps": 3}
    assert stored.info.parent_id == "p0"
    assert [e.seq for e in stored.events] == list(range(7))
    assert [e.kind for e in stored.events] == ["run.started", "step.started", "reason.finished",
                                               "act.finished", "step.finished", "x.y", "run.finished"]
    assert stored.events[4] == events("r1", 3, "act.finished", "step.finished")[1]
    assert stored.checkpoint == checkpoint("r1", 2, 6, {"message": {"n": 2}})
    assert stored.responses == [{"message": {"role": "assistant"}}, {"message": {"n": 2}}]


async def test_commit_step_is_all_or_nothing(store: Any) -> None:
    await store.create_run(info("r1"))
    await store.commit_step(checkpoint("r1", 1, 2, {"n": 1}), events("r1", 0, "a", "b"))
    # seq 1 is already stored: the whole commit is refused, checkpoint and response included
    with pytest.raises(LoomError, match="already stored"):
        await store.commit_step(checkpoint("r1", 2, 4, {"n": 2}), events("r1", 1, "c", "d", "e"))
    stored = await store.load_run("r1")
    assert stored is not None
    assert stored.checkpoint is not None and stored.checkpoint.step == 1
    assert [e.kind for e in stored.events] == ["a", "b"]
    assert stored.responses == [{"n": 1}]


async def test_any_text_and_json_survive(store: Any) -> None:
    odd = {"nul": "a\x00b", "accents": "déjà vu", "emoji": "🧵", "surrogate": "\ud800",
           "nested": {"list": [1, 2.5, None, True, 2**60]}, "quote": "it's \"quoted\"; -- DROP"}
    await store.create_run(info("r'1", goal="goal with \x00 and 🧵"))
    await store.commit_step(checkpoint("r'1", 1, 1, {"text": odd}),
                            [Event(kind="odd", run_id="r'1", seq=0, time=1.5, data=odd)])
    stored = await store.load_run("r'1")
    assert stored is not None
    assert stored.info.goal == "goal with \x00 and 🧵"
    assert stored.events[0].data == odd
    assert stored.responses == [{"text": odd}]


async def test_tool_call_states_follow_started_then_completed(store: Any) -> None:
    key = "r1:call_1"
    await store.tool_call_started(key, "r1", {"id": "call_1", "name": "bump"})
    state = await store.tool_call_state(key)
    assert state is not None and state.status == "started" and state.result is None
    await store.tool_call_finished(key, {"call_id": "call_1", "content": "ok"})
    state = await store.tool_call_state(key)
    assert state is not None and state.status == "completed"
    assert state.result == {"call_id": "call_1", "content": "ok"}
    # a result recorded without a start (an interrupted call marked on resume) is kept too
    await store.tool_call_finished("r1:call_2", {"content": "interrupted"})
    other = await store.tool_call_state("r1:call_2")
    assert other is not None and other.status == "completed"


async def test_approvals_are_saved_updated_and_kept_in_order(store: Any) -> None:
    await store.create_run(info("r1"))
    first = {"id": "a1", "call_id": "c1", "tool": "rm", "status": "pending"}
    await store.save_approval("r1", first)
    await store.save_approval("r1", {"id": "a2", "call_id": "c2", "tool": "ls", "status": "pending"})
    await store.save_approval("r1", {**first, "status": "approved", "decided_by": "ann"})
    stored = await store.load_run("r1")
    assert stored is not None
    assert [(a["id"], a["status"]) for a in stored.approvals] == [("a1", "approved"), ("a2", "pending")]
    assert stored.approvals[0]["decided_by"] == "ann"


async def test_artifacts_are_stored_once_per_digest(target: Any, store: Any) -> None:
    data = bytes(range(256)) * 10
    await store.save_artifact("r1", "report.bin", "application/octet-stream", "d1", data)
    await store.save_artifact("r2", "copy.bin", "application/octet-stream", "d1", data)
    await store.save_artifact("r2", "copy.bin", "application/octet-stream", "d1", data)
    assert await store.load_artifact("d1") == data
    assert await store.load_artifact("nope") is None
    assert await store.list_artifacts("r2") == [
        {"name": "copy.bin", "media_type": "application/octet-stream", "digest": "d1", "size": 2560}]
    assert target.sql("SELECT COUNT(*) FROM blobs") == [(1,)]


async def test_list_runs_is_newest_first_and_limited(store: Any) -> None:
    for i in range(5):
        await store.create_run(info(f"r{i}", updated_at=float(i)))
    await store.finish_run(info("r1", status="failed", updated_at=50.0), [])
    runs = await store.list_runs(limit=3)
    assert [r.run_id for r in runs] == ["r1", "r4", "r3"]
    assert runs[0].status == "failed"


async def test_a_reopened_store_sees_everything(target: Any, store: Any) -> None:
    await store.create_run(info("r1"))
    await store.commit_step(checkpoint("r1", 1, 1, {"n": 1}), events("r1", 0, "a"))
    await store.tool_call_finished("r1:c", {"content": "x"})
    again = target.build()
    await again.open()
    try:
        stored = await again.load_run("r1")
        assert stored is not None and [e.kind for e in stored.events] == ["a"]
        state = await again.tool_call_state("r1:c")
        assert state is not None and state.status == "completed"
    finally:
        await again.close()


async def test_a_newer_schema_is_refused_and_left_alone(target: Any, store: Any) -> None:
    await store.create_run(info("r1"))
    await store.close()
    target.sql("INSERT INTO schema_version (version, description, applied_at) "
               "VALUES (999, 'from the future', 0)")
    before = target.snapshot()
    newer = target.build()
    with pytest.raises(LoomError) as raised:
        await newer.open()
    message = str(raised.value)
    assert "schema version 999" in message and "(version 1)" in message
    assert (target.kwargs.get("path") or target.kwargs["schema"]) in message
    assert type(raised.value).__name__ == "StoreVersionError"
    # every later call repeats the reason, and nothing was written
    with pytest.raises(LoomError, match="schema version 999"):
        await newer.list_runs()
    assert target.snapshot() == before


async def test_tables_that_are_not_ours_are_refused(target: Any) -> None:
    if target.kind == "postgres":
        target.sql(f"CREATE SCHEMA {target.kwargs['schema']}")
    target.sql("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    target.sql("INSERT INTO customers VALUES (1, 'ann')")
    before = target.snapshot()
    with pytest.raises(LoomError, match="is not a Loom") as raised:
        await target.build().open()
    assert "customers" in str(raised.value)
    assert target.snapshot() == before


async def test_using_a_store_before_open_says_so(target: Any) -> None:
    with pytest.raises(LoomError, match=r"not open \(call open\(\) first\)"):
        await target.build().list_runs()


# ------------------------------------------------------------- through runs


@tool
def check(label: str) -> str:
    """Record a check."""
    return f"checked {label}"


class CheckTools:
    @hookimpl
    def loom_register_tools(self) -> list[Any]:
        return [check]


class AskOnB:
    @hookimpl
    def loom_veto(self, action: ProposedAction) -> Verdict | None:
        return Verdict.ask("b needs a person") if action.arguments.get("label") == "b" else None


async def test_a_pending_approval_survives_a_new_store_instance(target: Any, store: Any) -> None:
    script = [call("check", label="a"), call("check", label="b"), "all checked"]
    first = LoomHarness(script, plugins=[CheckTools(), StorePlugin(store), AskOnB()])
    run = first.runtime.create_session().create_task("check a then b").start()
    async for event in run.events():
        if event.kind == "approval.requested":
            break
    approval_id = run.pending_approvals[0].id
    run.cancel()  # the process stops while a person has not answered
    await run.wait()

    reopened = target.build()  # as a new process would
    await reopened.open()
    try:
        second = LoomHarness(script[2:], plugins=[CheckTools(), StorePlugin(reopened), AskOnB()])
        resumed = await second.runtime.resume(run.id)
        async for event in resumed.events():
            if event.kind == "approval.requested" and resumed.pending_approvals:
                break
        [pending] = resumed.pending_approvals
        assert pending.id == approval_id
        pending.approve(by="ann")
        result = await resumed.wait()
        assert result.status == "succeeded" and result.output == "all checked"
        stored = await reopened.load_run(run.id)
        assert stored is not None
        assert [e.seq for e in stored.events] == list(range(len(stored.events)))
        assert stored.approvals[0]["status"] == "approved"
        results = [e.data["content"] for e in stored.events if e.kind == "act.finished"]
        assert results.count("checked a") == 1 and results.count("checked b") == 1
    finally:
        await reopened.close()


async def test_fifty_runs_at_once_in_one_process(store: Any, worker: ModuleType) -> None:
    results = await worker.run_agents(store, 50, "many")
    assert all(r.status == "succeeded" and r.output == "done after 4" for r in results)
    runs = await store.list_runs(limit=100)
    assert len(runs) == 50 and {r.status for r in runs} == {"succeeded"}
    for result in results:
        stored = await store.load_run(result.run_id)
        assert stored is not None
        assert [e.seq for e in stored.events] == list(range(len(stored.events)))
        assert [e.kind for e in stored.events].count("act.finished") == 4
        assert len(stored.responses) == 5
        assert stored.events[-1].kind == "run.finished"


def _workers(target: Any, mode: str, count: int, processes: int) -> list[list[str]]:
    procs = [subprocess.Popen([sys.executable, str(HERE / "store_worker.py"), json.dumps(target.spec),
                               mode, str(count), f"p{i}"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(processes)]
    written = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        written.append(json.loads(out.strip().splitlines()[-1]))
    return written


async def test_four_processes_write_one_store(target: Any, store: Any, worker: ModuleType) -> None:
    commits = await asyncio.to_thread(_workers, target, "commits", 25, 4)
    agents = await asyncio.to_thread(_workers, target, "agents", 10, 4)
    ids = [i for batch in commits + agents for i in batch]
    assert len(ids) == len(set(ids)) == 4 * 25 + 4 * 10
    runs = await store.list_runs(limit=1000)
    assert len(runs) == 140 and {r.status for r in runs} == {"succeeded"}
    for run_id in (i for batch in commits for i in batch):
        stored = await store.load_run(run_id)
        assert stored is not None
        assert [e.seq for e in stored.events] == list(range(2 * worker.COMMITS_PER_RUN))
        assert [r["n"] for r in stored.responses] == list(range(1, worker.COMMITS_PER_RUN + 1))
    for run_id in (i for batch in agents for i in batch):
        stored = await store.load_run(run_id)
        assert stored is not None and stored.info.output == "done after 4"
        assert [e.seq for e in stored.events] == list(range(len(stored.events)))
    rows = target.sql("SELECT COUNT(*), COUNT(DISTINCT key) FROM tool_calls WHERE status = 'completed'")
    assert rows == [(4 * 25 * worker.COMMITS_PER_RUN + 4 * 10 * 4,) * 2]
