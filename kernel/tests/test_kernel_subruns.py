"""Runs with a parent (sub-agents): a child's profile is never wider than its parent's."""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from loom.hookspecs import hookimpl
from loom.profile import MODE_ORDER, AgentProfile, narrow, stricter_mode
from loom.requests import ModelRequest
from loom.run import Run
from loom.testing import LoomHarness, MemoryStore, StorePlugin, call
from loom.tools import current_call, tool
from loom.verdicts import ProposedAction, Verdict

TOOL_NAMES = ["read", "write", "shell", "grep", "delegate"]
limits = st.one_of(st.none(), st.integers(min_value=1, max_value=10_000))
profiles = st.builds(
    AgentProfile,
    mode=st.sampled_from(MODE_ORDER),
    tools=st.one_of(st.none(), st.lists(st.sampled_from(TOOL_NAMES), unique=True)),
    max_steps=st.integers(min_value=1, max_value=500),
    max_total_tokens=limits,
    max_wall_seconds=st.one_of(st.none(), st.floats(min_value=0.1, max_value=1e5)),
    max_usd=st.one_of(st.none(), st.floats(min_value=0.01, max_value=100)),
    approval_timeout_decision=st.sampled_from(["deny", "allow"]),
)


def _within(child: Any, parent: Any) -> bool:
    return parent is None or (child is not None and child <= parent)


@settings(max_examples=300, deadline=None)
@given(parent=profiles, asked=st.one_of(st.none(), profiles))
def test_a_narrowed_profile_is_never_wider_than_its_parent(parent: AgentProfile,
                                                           asked: AgentProfile | None) -> None:
    child = narrow(parent, asked)
    assert MODE_ORDER.index(child.mode) <= MODE_ORDER.index(parent.mode)
    if asked is not None:
        assert MODE_ORDER.index(child.mode) <= MODE_ORDER.index(asked.mode)
    if parent.tools is not None:
        assert child.tools is not None and set(child.tools) <= set(parent.tools)
    assert child.max_steps <= parent.max_steps
    assert _within(child.max_total_tokens, parent.max_total_tokens)
    assert _within(child.max_wall_seconds, parent.max_wall_seconds)
    assert _within(child.max_usd, parent.max_usd)
    if parent.approval_timeout_decision == "deny":
        assert child.approval_timeout_decision == "deny"
    # narrowing twice changes nothing more: the result is already within the parent
    assert narrow(parent, child) == child


def test_stricter_mode_orders_plan_default_auto() -> None:
    assert stricter_mode("AUTO", "PLAN") == "PLAN"
    assert stricter_mode("DEFAULT", "AUTO") == "DEFAULT"
    assert stricter_mode("PLAN", "DEFAULT") == "PLAN"


def test_a_run_built_with_a_parent_gets_a_narrowed_profile() -> None:
    harness = LoomHarness(["done"], profile=AgentProfile(mode="DEFAULT", tools=["read"], max_steps=5))
    session = harness.runtime.create_session()
    parent = Run(session, "parent")
    child = Run(harness.runtime.create_session(), "child", parent=parent,
                profile=AgentProfile(mode="AUTO", tools=["read", "shell"], max_steps=50))
    assert (child.profile.mode, child.profile.tools, child.profile.max_steps) == ("DEFAULT", ["read"], 5)
    assert child.parent is parent and parent.children == [child]


class AskEverything:
    """Asks a person about every call."""

    @hookimpl
    def loom_veto(self, action: ProposedAction) -> Verdict:
        return Verdict.ask("a person decides", risk=0.4)


seen_calls: list[str] = []


@tool
async def wait_forever(label: str) -> str:
    """Record the running call, then wait until cancelled."""
    found = current_call()
    seen_calls.append(found.id if found is not None else "none")
    await asyncio.sleep(3600)
    return "never"


class Tools:
    @hookimpl
    def loom_register_tools(self) -> list[Any]:
        return [wait_forever]


def by_goal(request: ModelRequest) -> Any:
    goal = request.messages[0].text_content
    if request.messages[-1].tool_results:
        return f"{goal} finished"
    return call("wait_forever", label=goal)


async def _until(predicate: Any) -> None:
    for _ in range(1000):
        if predicate():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition never met")


async def test_a_childs_approvals_are_answered_through_its_parent() -> None:
    harness = LoomHarness(by_goal, plugins=[AskEverything(), Tools()])
    parent = harness.runtime.create_session().create_task("parent").start()
    await _until(lambda: parent.pending_approvals)
    child = Run(harness.runtime.create_session(), "child", parent=parent).start()
    await _until(lambda: len(parent.pending_approvals) == 2)
    asked = {a.run_id for a in parent.pending_approvals}
    assert asked == {parent.id, child.id}
    mine = next(a for a in parent.pending_approvals if a.run_id == child.id)
    parent.deny(mine.id, "not the child")
    result = await child.wait()
    assert result.ok and result.output == "child finished"
    assert [a.id for a in parent.pending_approvals] == [parent.approvals[0].id]
    parent.cancel()
    assert (await parent.wait()).status == "cancelled"


async def test_cancelling_a_parent_cancels_its_children() -> None:
    seen_calls.clear()
    harness = LoomHarness(by_goal, plugins=[Tools()])
    parent = harness.runtime.create_session().create_task("parent").start()
    child = Run(harness.runtime.create_session(), "child", parent=parent).start()
    await _until(lambda: len(seen_calls) == 2)
    parent.cancel()
    assert (await parent.wait()).status == "cancelled"
    assert (await child.wait()).status == "cancelled"
    # each handler saw its own call through current_call()
    assert len(set(seen_calls)) == 2 and all(c.startswith("call_") for c in seen_calls)
    assert current_call() is None


async def test_a_child_run_is_stored_with_its_parent_id() -> None:
    store = MemoryStore()
    harness = LoomHarness(["done"], plugins=[StorePlugin(store)], config={"stages": {"store": "memory"}})
    parent = harness.runtime.create_session().create_task("parent").start()
    await parent.wait()
    child = Run(harness.runtime.create_session(), "child", parent=parent,
                profile=AgentProfile(mode="AUTO")).start()
    await child.wait()
    assert store.runs[child.id].parent_id == parent.id and store.runs[parent.id].parent_id is None
    assert store.runs[child.id].profile["mode"] == "DEFAULT"


async def test_a_run_started_from_a_tool_handler_is_not_inside_that_call() -> None:
    seen: dict[str, Any] = {}

    @tool(name="start_child")
    async def start_child(run: Any = None) -> str:
        """Start a child run and wait for it."""
        seen["outer"] = current_call()
        child = Run(run.runtime.create_session(), "child", parent=run).start()
        return (await child.wait()).output

    class Probe:
        @hookimpl
        def loom_run_started(self, run: Any) -> None:
            if run.parent is not None:
                seen["in_child"] = current_call()

        @hookimpl
        def loom_register_tools(self) -> list[Any]:
            return [start_child]

    def script(request: ModelRequest) -> Any:
        if request.messages[0].text_content == "child":
            return "child done"
        return call("start_child") if not request.messages[-1].tool_results else "parent done"

    harness = LoomHarness(script, plugins=[Probe()])
    assert (await harness.run("parent")).ok
    assert seen["outer"] is not None and seen["outer"].name == "start_child"
    assert seen["in_child"] is None
