"""The harness end to end: pausing for a person, approving and denying through the API."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from loom.plugins import PluginManager
from loom.requests import ModelRequest
from loom.run import Run
from loom.testing import call

from .harness_support import Everybody, Sandbox, Sentinel, build, last_result


async def pending(run: Run) -> None:
    """Wait until the run is paused on an approval."""
    for _ in range(1000):
        if run.pending_approvals:
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the run never asked for approval")


async def test_a_run_pauses_on_ask_is_approved_and_continues(tmp_path: Path) -> None:
    sandbox = Sandbox.create(tmp_path)
    h = build(sandbox, [call("write", path="report.md", content="# done"), last_result],
              mode="DEFAULT")
    run = h.runtime.create_session().create_task("write the report").start()
    await pending(run)
    assert run.status == "paused" and not (sandbox.ws / "report.md").exists()
    approval = run.approvals[0]
    assert approval.tool == "write" and "DEFAULT mode: mutating actions need approval" in approval.reason
    approval.approve()
    result = await run.wait()
    assert result.ok and result.output == "wrote 6 bytes to report.md"
    assert (sandbox.ws / "report.md").read_text() == "# done"
    kinds = [e.kind for e in run.recorded]
    assert kinds.index("approval.requested") < kinds.index("approval.resolved") < kinds.index("act.finished")


def adapt(request: ModelRequest) -> Any:
    """A model that reads the denial and switches to a read-only way of answering."""
    result = request.messages[-1].tool_results[-1]
    if "not in this repository" in result.content:
        return call("read", path="src/app.py")
    return f"adapted after: {result.content.strip()}"


async def test_a_denied_call_tells_the_model_why_and_it_adapts(tmp_path: Path) -> None:
    sandbox = Sandbox.create(tmp_path)
    h = build(sandbox, [call("shell", command="rm -rf x"), adapt, adapt], mode="DEFAULT")
    run = h.runtime.create_session().create_task("clean up").start()
    await pending(run)
    run.deny(run.approvals[0].id, "not in this repository")
    result = await run.wait()
    told = h.model.requests[1].messages[-1].tool_results[0]
    assert told.is_error and "a person denied this call (not in this repository)" in told.content
    assert result.ok and result.output == "adapted after: print('hi')"
    assert (sandbox.ws / "x" / "marker").exists()


async def test_tiers_judge_in_order_and_every_verdict_is_an_event(tmp_path: Path) -> None:
    sandbox = Sandbox.create(tmp_path)
    hook = sandbox.root / "ok.py"
    hook.write_text("import sys\nsys.stdin.read()\n")
    config = {"settings": {"harness-hooks": {"hooks": [{"command": [sys.executable, str(hook)],
                                                        "name": "ok"}]}}}
    h = build(sandbox, [call("shell", command="pip install --dry-run requests"), last_result],
              mode="AUTO", config=config, sentinel=Sentinel(harmless=lambda c: False))
    await h.run("status")
    trail = [(e.kind, e.data.get("tier")) for e in h.last_run.recorded
             if e.kind in ("harness-classifier.classified", "harness-hooks.answer", "act.verdict")]
    assert trail == [("harness-classifier.classified", None), ("harness-hooks.answer", None),
                     ("act.verdict", "2"), ("act.verdict", "3")]
    tier3 = [e.data for e in h.last_run.recorded if e.kind == "act.verdict"][1]
    assert tier3["rule"] == "hook:ok" and tier3["decision"] == "allow"


async def test_changing_the_mode_needs_a_person(tmp_path: Path) -> None:
    sandbox = Sandbox.create(tmp_path)
    h = build(sandbox, [call("set_mode", mode="AUTO"), call("write", path="a.txt", content="a"),
                        last_result], mode="DEFAULT")
    run = h.runtime.create_session().create_task("go faster").start()
    await pending(run)
    assert run.approvals[0].tool == "set_mode"
    assert "always needs a person" in run.approvals[0].reason
    run.approvals[0].approve()
    assert (await run.wait()).ok and (sandbox.ws / "a.txt").exists()
    assert h.runtime.profile.mode == "AUTO" and len(run.approvals) == 1


async def test_plan_mode_cannot_be_left_by_a_tool_even_with_everyone_approving(tmp_path: Path) -> None:
    sandbox = Sandbox.create(tmp_path)
    h = build(sandbox, [call("set_mode", mode="DEFAULT"), call("write", path="a.txt", content="a"),
                        last_result], mode="PLAN", people=Everybody())
    assert (await h.run("plan, then build")).ok
    assert h.runtime.profile.mode == "PLAN" and not (sandbox.ws / "a.txt").exists()
    verdicts = [e.data for e in h.last_run.recorded if e.kind == "act.verdict"]
    assert [v["decision"] for v in verdicts] == ["deny", "deny"]


async def test_always_allow_is_saved_and_later_runs_do_not_ask(tmp_path: Path) -> None:
    sandbox = Sandbox.create(tmp_path)
    h = build(sandbox, [call("shell", command="touch built.txt"), last_result,
                        call("shell", command="touch built.txt"), last_result], mode="DEFAULT")
    run = h.runtime.create_session().create_task("build").start()
    await pending(run)
    run.approve(run.approvals[0].id, always=True)
    assert (await run.wait()).ok
    rules = (sandbox.ws / ".loom" / "permissions.toml").read_text()
    assert '"shell(touch built.txt)"' in rules
    again = await h.run("build again")
    assert again.ok and not h.last_run.approvals


async def test_an_escalation_is_never_saved_as_always_allow(tmp_path: Path) -> None:
    sandbox = Sandbox.create(tmp_path)
    h = build(sandbox, [call("set_mode", mode="AUTO"), last_result], mode="DEFAULT")
    run = h.runtime.create_session().create_task("go auto").start()
    await pending(run)
    run.approvals[0].approve(always=True)
    assert (await run.wait()).ok
    assert not (sandbox.ws / ".loom" / "permissions.toml").exists()
    not_saved = next(e.data for e in run.recorded if e.kind == "harness-permissions.rule_not_saved")
    assert "always needs a person" in not_saved["reason"]


def test_the_installed_harness_judges_tier_1_then_2_then_3() -> None:
    manager = PluginManager().load()
    for name in ("harness-classifier", "harness-hooks", "harness-permissions", "tools-builtin"):
        assert manager.infos[name].status == "loaded", name
    order = [impl.plugin for impl in manager.dispatcher.plan("loom_veto")
             if impl.plugin.startswith("harness-")]
    assert order == ["harness-classifier", "harness-hooks", "harness-permissions"]
