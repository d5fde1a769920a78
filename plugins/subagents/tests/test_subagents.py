"""loom-subagents: delegate round trips, parallel children, limits, timeouts and resume."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import loom_memory_sqlite
import loom_subagents
from loom.api import AgentRuntime
from loom.config import load_config
from loom.hookspecs import hookimpl
from loom.profile import AgentProfile
from loom.requests import ModelRequest
from loom.run import Run
from loom.testing import LoomHarness, MemoryStore, ScriptedModel, StorePlugin, call
from loom.tools import tool
from loom_memory_sqlite.store import SqliteStore

executed: Counter[str] = Counter()
gate: dict[str, Any] = {"barrier": None, "block": False}


@tool(blocking=False)
def note(text: str) -> str:
    """Record a note (counts executions).

    Args:
        text: the note.
    """
    executed[text] += 1
    return f"noted {text}"


@tool
async def meet(name: str) -> str:
    """Wait until every parallel sub-agent has arrived here too."""
    barrier = gate["barrier"]
    assert isinstance(barrier, asyncio.Barrier)
    await asyncio.wait_for(barrier.wait(), 5)
    return f"{name} met the others"


@tool
async def stall(label: str) -> str:
    """Wait while the test keeps the gate closed."""
    while gate["block"]:
        await asyncio.sleep(0.01)
    return f"{label} passed"


class Tools:
    @hookimpl
    def loom_register_tools(self) -> list[Any]:
        return [note, meet, stall]


def goal_of(request: ModelRequest) -> str:
    return request.messages[0].text_content


def results_of(request: ModelRequest) -> list[Any]:
    return [r for m in request.messages for r in m.tool_results]


def harness(script: Any, *, config: dict[str, Any] | None = None,
            profile: AgentProfile | None = None, extra: list[Any] | None = None) -> LoomHarness:
    return LoomHarness(script, plugins=[loom_subagents, Tools(), *(extra or [])], config=config,
                       profile=profile or AgentProfile(mode="AUTO"))


async def test_delegate_returns_the_childs_answer_and_its_cost() -> None:
    def script(request: ModelRequest) -> Any:
        results = results_of(request)
        if goal_of(request) == "count the notes":
            return call("note", text="one") if not results else "there is one note"
        return call("delegate", goal="count the notes") if not results else results[-1].content

    h = harness(script)
    result = await h.run("ask a helper")
    [child] = h.last_run.children
    assert result.output == f"sub-agent {child.id} succeeded after 2 steps. Its answer:\nthere is one note"
    assert child.parent is h.last_run and child.goal == "count the notes"
    assert "You are a sub-agent" in child.profile.system_prompt
    started = next(e.data for e in h.last_run.recorded if e.kind == "subagent.started")
    finished = next(e.data for e in h.last_run.recorded if e.kind == "subagent.finished")
    assert started["child"] == finished["child"] == child.id and finished["status"] == "succeeded"
    own = sum(e.data["usage"]["input_tokens"] for e in h.last_run.recorded if e.kind == "reason.finished")
    assert child.usage.input_tokens > 0
    assert h.last_run.usage.input_tokens == own + child.usage.input_tokens  # the child's use counts
    assert h.model.requests[1].messages[0].text_content == "count the notes"  # a fresh context


async def test_delegate_calls_in_one_turn_run_in_parallel() -> None:
    gate["barrier"] = asyncio.Barrier(3)

    def script(request: ModelRequest) -> Any:
        results = results_of(request)
        goal = goal_of(request)
        if goal.startswith("part"):
            return call("meet", name=goal) if not results else results[-1].content
        if not results:
            return [call("delegate", goal=f"part {i}") for i in (1, 2, 3)]
        return " / ".join(r.content.rsplit("\n", 1)[-1] for r in results)

    h = harness(script)
    result = await h.run("split the work")
    assert result.output == "part 1 met the others / part 2 met the others / part 3 met the others"
    assert len(h.last_run.children) == 3


async def test_max_concurrent_makes_extra_children_wait() -> None:
    running: list[int] = []
    peak = [0]

    def script(request: ModelRequest) -> Any:
        results = results_of(request)
        goal = goal_of(request)
        if goal.startswith("part"):
            if not results:
                running.append(1)
                peak[0] = max(peak[0], len(running))
                return call("note", text=goal)
            running.pop()
            return "done"
        if not results:
            return [call("delegate", goal=f"part {i}") for i in range(4)]
        return "all done"

    h = harness(script, config={"settings": {"subagents": {"max_concurrent": 1}}})
    assert (await h.run("four parts")).ok
    assert peak[0] == 1 and len(h.last_run.children) == 4


async def test_a_child_cannot_delegate_beyond_max_depth() -> None:
    def script(request: ModelRequest) -> Any:
        results = results_of(request)
        if goal_of(request) == "level 1":
            return call("delegate", goal="level 2") if not results else results[-1].content
        return call("delegate", goal="level 1") if not results else results[-1].content

    h = harness(script, config={"settings": {"subagents": {"max_depth": 1}}})
    result = await h.run("top")
    assert "a sub-agent at depth 1 cannot delegate further" in result.output
    assert "settings.subagents.max_depth = 1" in result.output
    [child] = h.last_run.children
    assert child.children == []


async def test_spawn_from_code_cannot_widen_the_mode() -> None:
    seen: dict[str, Any] = {}

    @tool(name="orchestrate")
    async def orchestrate(run: Any = None) -> str:
        """Start a child asking for AUTO mode."""
        child = await loom_subagents.spawn(run, "write something", mode="AUTO", max_steps=500)
        seen["child"] = child
        return (await child.wait()).output

    class Orchestrate:
        @hookimpl
        def loom_register_tools(self) -> list[Any]:
            return [orchestrate]

    def script(request: ModelRequest) -> Any:
        results = results_of(request)
        if goal_of(request) == "write something":
            return "child done"
        return call("orchestrate") if not results else results[-1].content

    h = harness(script, profile=AgentProfile(mode="PLAN", max_steps=7), extra=[Orchestrate()])
    assert (await h.run("plan")).output == "child done"
    child = seen["child"]
    assert child.profile.mode == "PLAN" and child.profile.max_steps == 7


async def test_a_child_that_runs_too_long_is_cancelled() -> None:
    gate["block"] = True
    try:
        def script(request: ModelRequest) -> Any:
            results = results_of(request)
            if goal_of(request) == "slow":
                return call("stall", label="slow") if not results else "late"
            return call("delegate", goal="slow") if not results else results[-1].content

        h = harness(script, config={"settings": {"subagents": {"timeout": 0.2}}})
        result = await h.run("impatient")
    finally:
        gate["block"] = False
    [child] = h.last_run.children
    assert child.status == "cancelled"
    assert result.output.startswith(f"sub-agent {child.id} cancelled after")
    assert "timed out after 0.2s (settings.subagents.timeout)" in result.output


async def test_a_child_gets_what_is_left_of_the_parents_budgets() -> None:
    def script(request: ModelRequest) -> Any:
        results = results_of(request)
        if goal_of(request) == "cheap":
            return "ok"
        return call("delegate", goal="cheap") if not results else "done"

    h = harness(script, profile=AgentProfile(mode="AUTO", max_total_tokens=100_000, max_steps=9))
    assert (await h.run("budgeted")).ok
    [child] = h.last_run.children
    assert 0 < child.profile.max_total_tokens < 100_000  # type: ignore[operator]
    assert child.profile.max_steps == 9  # settings default 20, capped by the parent's 9


def resumable_script(request: ModelRequest) -> Any:
    results = results_of(request)
    if goal_of(request) == "two notes":
        if not results:
            return call("note", text="first")
        if len(results) == 1:
            return call("stall", label="second")
        return "child finished after " + results[-1].content
    return call("delegate", goal="two notes") if not results else results[-1].content


def runtime_on(store: MemoryStore) -> AgentRuntime:
    config = load_config(data={"stages": {"store": "memory"}}, environ={})
    return AgentRuntime(profile=AgentProfile(mode="AUTO"), provider=ScriptedModel(resumable_script),
                        config=config, plugins=[loom_subagents, Tools(), StorePlugin(store)],
                        entry_points=False)


async def test_resuming_an_interrupted_parent_continues_the_stored_child() -> None:
    executed.clear()
    store = MemoryStore()
    gate["block"] = True
    try:
        first = runtime_on(store)
        parent = first.create_session().create_task("parent").start()
        for _ in range(1000):
            if parent.children and parent.children[0].step == 2:
                break
            await asyncio.sleep(0.005)
        child_id = parent.children[0].id
        parent.cancel()  # the process stops while the child is in its second step
        assert (await parent.wait()).status == "cancelled"
    finally:
        gate["block"] = False
    assert store.runs[child_id].parent_id == parent.id
    second = runtime_on(store)
    resumed: Run = await second.resume(parent.id)
    result = await resumed.wait()
    assert result.ok
    [child] = resumed.children
    assert child.id == child_id  # the same child, continued
    # it continued in its second step: the interrupted call is reported, not silently re-run
    assert "child finished after interrupted: 'stall' started but the process stopped" in result.output
    assert executed == Counter({"first": 1})  # its first step was not done again


async def test_parallel_children_are_all_stored_in_sqlite(tmp_path: Any) -> None:
    def script(request: ModelRequest) -> Any:
        results = results_of(request)
        goal = goal_of(request)
        if goal.startswith("part"):
            return call("note", text=goal) if not results else f"{goal} done"
        if not results:
            return [call("delegate", goal=f"part {i}") for i in range(3)]
        return "all stored"

    db = tmp_path / "loom.db"
    config = load_config(data={"stages": {"store": "sqlite"}, "settings": {"sqlite": {"path": str(db)}}},
                         environ={})
    runtime = AgentRuntime(profile=AgentProfile(mode="AUTO"), provider=ScriptedModel(script),
                           config=config, plugins=[loom_subagents, Tools(), loom_memory_sqlite],
                           entry_points=False)
    async with runtime:
        run = runtime.create_session().create_task("parallel and durable").start()
        assert (await run.wait()).ok
    store = SqliteStore(db)
    await store.open()
    try:
        for child in run.children:
            stored = await store.load_run(child.id)
            assert stored is not None and stored.info.parent_id == run.id
            assert stored.info.status == "succeeded" and stored.info.output == f"{child.goal} done"
    finally:
        await store.close()
    assert len(run.children) == 3
