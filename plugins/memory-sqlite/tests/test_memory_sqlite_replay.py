"""Replay: a recorded run runs again offline from the store, with the same events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from loom.errors import LoomError
from loom.hookspecs import hookimpl
from loom.profile import AgentProfile
from loom.run import Run
from loom.store import StoredRun
from loom.testing import LoomHarness, StorePlugin, call
from loom.tools import tool
from loom.verdicts import ProposedAction, Verdict
from loom_memory_sqlite.replay import Recording, ReplayDivergence, ReplayModel, comparable, replay
from loom_memory_sqlite.store import SqliteStore

executed: list[str] = []


@tool
def measure(item: str) -> str:
    """Measure an item."""
    executed.append(item)
    return f"{item} is {len(item) * 7} cm"


class MeasureTools:
    @hookimpl
    def loom_register_tools(self) -> list[Any]:
        return [measure]


class AskForTable:
    __name__ = "ask-for-table"  # a stable plugin name, as an installed plugin has

    @hookimpl
    def loom_veto(self, action: ProposedAction) -> Verdict | None:
        return Verdict.ask("tables are heavy") if action.arguments.get("item") == "table" else None


class Reminder:
    """Adds a Δ message before every model call (changes what the model is asked)."""

    @hookimpl
    def loom_collect_injections(self, run: Run) -> str:
        return "remember to be brief"


SCRIPT = [call("measure", item="chair"),
          [call("measure", item="lamp"), call("measure", item="table")],
          "chair 35 cm, lamp 28 cm, table 35 cm"]


async def record(tmp_path: Path) -> tuple[SqliteStore, StoredRun]:
    """A streamed run with two tool steps and an approval, kept in a SQLite store."""
    executed.clear()
    store = SqliteStore(tmp_path / "loom.db")
    await store.open()
    h = LoomHarness(SCRIPT, plugins=[MeasureTools(), AskForTable(), StorePlugin(store)],
                    profile=AgentProfile(stream=True))
    run = h.runtime.create_session().create_task("measure the furniture").start()
    async for event in run.events():
        if event.kind == "approval.requested":
            run.approve(event.data["approval_id"], by="ann")
    result = await run.wait()
    assert result.ok and executed == ["chair", "lamp", "table"]
    stored = await store.load_run(run.id)
    assert stored is not None
    return store, stored


async def test_a_replay_without_provider_gives_the_same_events(tmp_path: Path) -> None:
    store, stored = await record(tmp_path)
    executed.clear()
    replayed = await replay(stored, plugins=[MeasureTools(), AskForTable()])  # no provider
    assert executed == []  # tool results came from the recording
    assert replayed.result.output == "chair 35 cm, lamp 28 cm, table 35 cm"
    assert comparable(replayed.events) == comparable(stored.events)
    kinds = [e.kind for e in replayed.events]
    assert "reason.delta" in kinds and "approval.resolved" in kinds
    resolved = next(e for e in replayed.events if e.kind == "approval.resolved")
    assert resolved.data["by"] == "ann" and resolved.data["approved"] is True
    assert len(replayed.model.requests) == 3
    assert await store.list_runs() == [stored.info]  # a replay writes nothing
    await store.close()


async def test_a_replay_needs_no_tool_plugin(tmp_path: Path) -> None:
    store, stored = await record(tmp_path)
    await store.close()
    replayed = await replay(stored, plugins=[AskForTable()])  # "measure" gets a stand-in
    assert replayed.result.output == stored.info.output
    assert [k for k, _ in comparable(replayed.events)] == [k for k, _ in comparable(stored.events)]
    results = [d for k, d in comparable(replayed.events) if k == "act.finished"]
    assert results == [d for k, d in comparable(stored.events) if k == "act.finished"]


async def test_a_live_replay_runs_the_real_tools(tmp_path: Path) -> None:
    store, stored = await record(tmp_path)
    await store.close()
    executed.clear()
    replayed = await replay(stored, plugins=[MeasureTools(), AskForTable()], tool_results="live")
    assert executed == ["chair", "lamp", "table"]
    assert comparable(replayed.events) == comparable(stored.events)


async def test_a_diverging_replay_fails_clearly(tmp_path: Path) -> None:
    store, stored = await record(tmp_path)
    await store.close()
    with pytest.raises(ReplayDivergence, match=r"model request #2 has 4 messages, the recorded one "
                                               r"had 3: the run diverged"):
        await replay(stored, plugins=[AskForTable(), Reminder()])
    short = Recording.from_run(stored)
    short.turns = short.turns[:2]
    with pytest.raises(ReplayDivergence, match=r"asked for model response #3, but the recording "
                                               r"has only 2"):
        await replay(short, plugins=[AskForTable()])


async def test_a_recorded_run_becomes_a_test_fixture(tmp_path: Path) -> None:
    store, stored = await record(tmp_path)
    await store.close()
    fixture = Recording.from_run(stored).save(tmp_path / "fixtures" / "furniture.json")
    (tmp_path / "loom.db").unlink()  # the fixture stands alone

    loaded = Recording.load(fixture)
    assert loaded.goal == "measure the furniture" and loaded.tool_names() == ["measure"]
    replayed = await replay(loaded, plugins=[MeasureTools(), AskForTable()])
    assert comparable(replayed.events) == comparable(loaded.events)
    # the replay model alone serves any runtime, e.g. a test harness with live tools
    executed.clear()
    h = LoomHarness(plugins=[MeasureTools(), AskForTable()], profile=AgentProfile(stream=True))
    h.runtime.provider = ReplayModel(loaded)
    run = h.runtime.create_session().create_task("measure the furniture").start()
    async for event in run.events():
        if event.kind == "approval.requested":
            run.approve(event.data["approval_id"])
    assert (await run.wait()).output == "chair 35 cm, lamp 28 cm, table 35 cm"
    assert executed == ["chair", "lamp", "table"]

    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "something-else"}')
    with pytest.raises(LoomError, match=r"bad\.json: not a loom-recording/1 recording"):
        Recording.load(bad)
