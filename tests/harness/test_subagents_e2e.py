"""Sub-agents end to end: a child started through ``delegate`` never exceeds its parent.

Each test is a real run with the three harness tiers, the built-in tools and
loom-subagents; one scripted model answers both the parent and the child
(told apart by the goal of the conversation). The file system is checked,
and the innermost sentinel records every call that got past the harness.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import loom_subagents
from loom.requests import ModelRequest
from loom.run import Run
from loom.testing import call

from .harness_support import Sandbox, Sentinel, build

CHILD_GOAL = "child: write the notes"


def goal_of(request: ModelRequest) -> str:
    """The goal of the conversation a request belongs to (its first user message)."""
    return request.messages[0].text_content


def tool_results(request: ModelRequest) -> list[Any]:
    """Every tool result so far in a conversation."""
    return [r for m in request.messages for r in m.tool_results]


def parent_then_child(child_calls: list[Any], *, delegate_args: dict[str, Any] | None = None) -> Any:
    """The parent delegates once and quotes the child; the child makes ``child_calls`` in turn,
    then answers with every tool result it got."""
    def script(request: ModelRequest) -> Any:
        results = tool_results(request)
        if goal_of(request) == CHILD_GOAL:
            if len(results) < len(child_calls):
                return child_calls[len(results)]
            return " | ".join(("ERROR " if r.is_error else "") + r.content for r in results)
        if not results:
            return call("delegate", goal=CHILD_GOAL, **(delegate_args or {}))
        return results[-1].content
    return script


def children_of(run: Run) -> list[Run]:
    """The parent's sub-agent runs."""
    return list(run.children)


async def test_a_plan_mode_parent_cannot_get_a_child_that_writes(tmp_path: Path) -> None:
    sandbox = Sandbox.create(tmp_path)
    sentinel = Sentinel()
    script = parent_then_child([call("write", path="notes.md", content="x"),
                                call("shell", command="touch made.txt")])
    h = build(sandbox, script, mode="PLAN", sentinel=sentinel, extra=[loom_subagents])
    result = await h.run("parent: plan the notes")
    assert result.ok
    [child] = children_of(h.last_run)
    assert child.profile.mode == "PLAN"
    assert "denied by kernel rule plan-mode" in result.output
    assert not (sandbox.ws / "notes.md").exists() and not (sandbox.ws / "made.txt").exists()
    assert [c.name for c in sentinel.reached] == ["delegate"]
    started = next(e.data for e in h.last_run.recorded if e.kind == "subagent.started")
    assert started["child"] == child.id and started["mode"] == "PLAN"


async def test_asking_delegate_for_a_mode_is_an_escalation_and_starts_nothing(tmp_path: Path) -> None:
    sandbox = Sandbox.create(tmp_path)
    script = parent_then_child([call("write", path="notes.md", content="x")],
                               delegate_args={"mode": "AUTO"})
    h = build(sandbox, script, mode="DEFAULT", extra=[loom_subagents])
    result = await h.run("parent: get more rights")
    assert "escalation" in result.output and "switch the mode to AUTO" in result.output
    assert children_of(h.last_run) == [] and not (sandbox.ws / "notes.md").exists()


async def test_a_child_keeps_the_parents_deny_rules_and_mode(tmp_path: Path) -> None:
    sandbox = Sandbox.create(tmp_path)
    sentinel = Sentinel()
    config = {"settings": {"harness-permissions": {"deny": ["write(x/**)"], "allow": ["write(docs/**)"]}}}
    script = parent_then_child([call("write", path="x/marker", content="overwritten"),
                                call("write", path="docs/a.md", content="ok"),
                                call("write", path="notes.md", content="needs a person")])
    h = build(sandbox, script, mode="DEFAULT", sentinel=sentinel, config=config,
              extra=[loom_subagents])
    run = h.runtime.create_session().create_task("parent: delegate").start()
    h.last_run = run
    for _ in range(1000):  # the child's "ask" shows on the parent, then its event too
        if run.pending_approvals and any(e.kind == "approval.requested" for e in run.recorded):
            break
        await asyncio.sleep(0.005)
    [approval] = run.pending_approvals
    [child] = children_of(run)
    assert child.profile.mode == "DEFAULT"
    assert approval.run_id == child.id and approval.tool == "write"
    assert approval.arguments["path"] == "notes.md" and not (sandbox.ws / "notes.md").exists()
    forwarded = [e.data for e in run.recorded if e.kind == "approval.requested"]
    assert forwarded and forwarded[0]["subagent"] == child.id
    run.approve(approval.id)  # approved through the parent
    result = await run.wait()
    assert result.ok
    assert (sandbox.ws / "x" / "marker").read_text() == "keep me"  # the parent's deny rule held
    assert (sandbox.ws / "docs" / "a.md").read_text() == "ok"  # the parent's allow rule applies
    assert (sandbox.ws / "notes.md").read_text() == "needs a person"
    denied = [e.data for e in child.recorded if e.kind == "act.verdict" and e.data["decision"] == "deny"]
    assert [d["rule"] for d in denied] == ["write(x/**)"]
    assert [c.arguments.get("path") for c in sentinel.reached if c.name == "write"] == [
        "docs/a.md", "notes.md"]
    assert any(e.kind == "approval.resolved" and e.data.get("subagent") == child.id
               for e in run.recorded)


async def test_a_child_gets_no_tool_its_parent_lacks(tmp_path: Path) -> None:
    sandbox = Sandbox.create(tmp_path)
    h = build(sandbox, [], mode="AUTO", extra=[loom_subagents])
    h.runtime.profile = h.runtime.profile.model_copy(update={"tools": ["read", "delegate"]})

    def script(request: ModelRequest) -> Any:
        results = tool_results(request)
        if goal_of(request) == CHILD_GOAL:
            if not results:
                return call("write", path="notes.md", content="x")
            return "child saw: " + results[-1].content
        if not results:
            return call("delegate", goal="child: write", tools=["write"])
        if len(results) == 1:
            return call("delegate", goal=CHILD_GOAL)
        return " || ".join(r.content for r in results)

    h.model.script = script
    result = await h.run("parent: try to hand out a tool")
    first, second = result.output.split(" || ")
    assert "you have no tool 'write'" in first and "yours: delegate, read" in first
    [child] = children_of(h.last_run)
    assert sorted(child.tools) == ["delegate", "read"]
    assert "unknown tool 'write'" in second
    assert not (sandbox.ws / "notes.md").exists()


async def test_a_child_approval_denied_through_the_parent_reaches_the_child_model(tmp_path: Path) -> None:
    sandbox = Sandbox.create(tmp_path)
    script = parent_then_child([call("shell", command="rm -rf src")])
    h = build(sandbox, script, mode="DEFAULT", extra=[loom_subagents])
    run = h.runtime.create_session().create_task("parent: delegate").start()
    for _ in range(1000):
        if run.pending_approvals:
            break
        await asyncio.sleep(0.005)
    run.deny(run.pending_approvals[0].id, "keep the sources")
    result = await run.wait()
    assert result.ok and "a person denied this call (keep the sources)" in result.output
    assert (sandbox.ws / "src" / "app.py").exists()
