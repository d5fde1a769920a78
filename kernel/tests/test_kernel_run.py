"""The Run API and the loop skeleton, driven by a scripted model."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from loom.api import AgentRuntime, run_sync
from loom.config import load_config
from loom.errors import ContextOverflowError, ProviderError
from loom.hookspecs import hookimpl
from loom.invariants import ContextEdit
from loom.messages import Message
from loom.profile import AgentProfile
from loom.records import CompressorRecord
from loom.requests import ModelRequest, ModelResponse
from loom.testing import LoomHarness, ScriptedModel, call
from loom.tools import tool
from loom.verdicts import ProposedAction, Verdict


@tool
def lookup(key: str) -> str:
    """Look a key up."""
    return {"capital": "Paris"}.get(key, "unknown")


gate = {"barrier": None}


@tool
async def rendezvous(name: str) -> str:
    """Wait until the other parallel call arrives too."""
    barrier = gate["barrier"]
    assert isinstance(barrier, asyncio.Barrier)
    await asyncio.wait_for(barrier.wait(), 2)
    return f"{name} met"


class Tools:
    @hookimpl
    def loom_register_tools(self) -> list[Any]:
        return [lookup, rendezvous]


class AskForLookup:
    @hookimpl
    def loom_veto(self, action: ProposedAction) -> Verdict | None:
        return Verdict.ask("lookups need a person", risk=0.3) if action.tool == "lookup" else None


async def test_events_stream_and_result() -> None:
    harness = LoomHarness([call("lookup", key="capital"), "Paris it is"], plugins=[Tools()])
    run = harness.runtime.create_session().create_task("capital?").start()
    seen = [event.kind async for event in run.events()]
    result = await run.wait()
    assert result.output == "Paris it is" and result.status == "succeeded"
    assert seen == [e.kind for e in run.recorded]
    assert seen[0] == "run.started" and seen[-1] == "run.finished"
    for kind in ("reason.started", "act.proposed", "act.verdict", "act.finished",
                 "observe.pressure", "step.finished"):
        assert kind in seen
    # the tool result reached the model on the next call
    assert harness.model.requests[1].messages[-1].tool_results[0].content == "Paris"


async def test_ask_pauses_until_approved_through_the_api() -> None:
    harness = LoomHarness([call("lookup", key="capital"), "done"],
                          plugins=[Tools(), AskForLookup()])
    run = harness.runtime.create_session().create_task("t").start()
    async for event in run.events():
        if event.kind == "approval.requested":
            break
    assert run.status == "paused"
    [pending] = run.pending_approvals
    assert pending.tool == "lookup" and pending.arguments == {"key": "capital"}
    assert pending.reason == "lookups need a person"
    run.approve(pending.id)
    result = await run.wait()
    assert result.status == "succeeded"
    assert harness.model.requests[1].messages[-1].tool_results[0].content == "Paris"


async def test_denied_approval_tells_the_model_why() -> None:
    harness = LoomHarness([call("lookup", key="capital"), "ok, I will not"],
                          plugins=[Tools(), AskForLookup()])
    run = harness.runtime.create_session().create_task("t").start()
    async for event in run.events():
        if event.kind == "approval.requested":
            run.deny(event.data["approval_id"], "not today")
    result = await run.wait()
    assert result.output == "ok, I will not"
    seen = harness.model.requests[1].messages[-1].tool_results[0]
    assert seen.is_error and "not today" in seen.content


async def test_approval_timeout_denies_by_default() -> None:
    profile = AgentProfile(approval_timeout=0.05)
    harness = LoomHarness([call("lookup", key="capital"), "gave up"],
                          plugins=[Tools(), AskForLookup()], profile=profile)
    result = await harness.run("t")
    assert result.output == "gave up"
    assert harness.last_run.approvals[0].status == "expired"


async def test_parallel_tool_calls_run_concurrently() -> None:
    gate["barrier"] = asyncio.Barrier(2)
    harness = LoomHarness([[call("rendezvous", name="a"), call("rendezvous", name="b")], "both met"],
                          plugins=[Tools()])
    result = await harness.run("meet")
    results = harness.model.requests[1].messages[-1].tool_results
    assert [r.content for r in results] == ["a met", "b met"], results
    assert result.ok


async def test_cancel_ends_the_run_cancelled() -> None:
    harness = LoomHarness([call("lookup", key="capital"), "never"], plugins=[Tools(), AskForLookup()])
    run = harness.runtime.create_session().create_task("t").start()
    async for event in run.events():
        if event.kind == "approval.requested":
            run.cancel()
    result = await run.wait()
    assert result.status == "cancelled"
    assert run.recorded[-1].kind == "run.finished"


async def test_step_limit_stops_the_run() -> None:
    harness = LoomHarness(lambda request: call("lookup", key="x"), plugins=[Tools()],
                          profile=AgentProfile(max_steps=3))
    result = await harness.run("loop forever")
    assert result.status == "stopped" and "3 steps" in result.reason
    assert len(harness.model.requests) == 3


class FailingModel(ScriptedModel):
    async def complete(self, request: ModelRequest, **kw: Any) -> ModelResponse:
        raise ProviderError("service unavailable", provider="x", retryable=True, status=503)


async def test_provider_failure_is_a_failed_run_not_a_success() -> None:
    harness = LoomHarness(FailingModel([]))
    result = await harness.run("t")
    assert result.status == "failed" and not result.ok
    assert "service unavailable" in result.error
    with pytest.raises(Exception, match="failed"):
        result.raise_for_status()


async def test_artifacts_are_content_addressed_and_recorded() -> None:
    @tool
    def report(run: Any) -> str:
        """Write a report."""
        run.attach_artifact("report.txt", "hello", "text/plain")
        return "written"

    class P:
        @hookimpl
        def loom_register_tools(self) -> list[Any]:
            return [report]

    harness = LoomHarness([call("report"), "done"], plugins=[P()])
    result = await harness.run("t")
    [artifact] = result.artifacts
    assert artifact.data == b"hello" and len(artifact.digest) == 64
    assert "artifact.attached" in harness.event_kinds()
    assert "run" not in report.spec.parameters["properties"]


async def test_injections_reach_the_model_next_step() -> None:
    class Heartbeat:
        @hookimpl
        def loom_collect_injections(self) -> str:
            return "file changed: notes.md"

    harness = LoomHarness([call("lookup", key="capital"), "ok"], plugins=[Tools(), Heartbeat()])
    await harness.run("t")
    assert harness.model.requests[1].messages[-1].text_content == "file changed: notes.md"
    assert "delta.injected" in harness.event_kinds()


async def test_session_carries_history_across_tasks() -> None:
    harness = LoomHarness(["first answer", "second answer"])
    session = harness.runtime.create_session()
    await session.create_task("first question").start().wait()
    await session.create_task("second question").start().wait()
    texts = [m.text_content for m in harness.model.requests[1].messages]
    assert texts == ["first question", "first answer", "second question"]


class DropEverything:
    """A compressor that breaks an invariant (drops the user's goal)."""

    async def compress(self, window: Any, run: Any) -> ContextEdit:
        return ContextEdit(level="bad", reason="drop all", history=window.history[-2:],
                           restore_refs=["nowhere"])


class StubOldResults:
    """A valid compressor: replaces old tool output text with a stub."""

    async def compress(self, window: Any, run: Any) -> ContextEdit | None:
        history = list(window.history)
        for i, m in enumerate(history[:-4]):
            if m.role == "tool":
                history[i] = Message(role="tool", content=[
                    r.model_copy(update={"content": "[stub: restore ref-1]"}) for r in m.tool_results])
        return ContextEdit(level="stub", reason="old outputs", history=history,
                           restore_refs=["ref-1"])


def compressors(*items: tuple[str, Any, str]) -> Any:
    class P:
        @hookimpl
        def loom_register_compressors(self) -> list[CompressorRecord]:
            return [CompressorRecord(name=n, factory=lambda o=o: o, threshold=0.0, trigger=t)  # type: ignore[misc]
                    for n, o, t in items]

    return P()


async def test_invariant_breaking_edit_is_rejected_and_reported() -> None:
    harness = LoomHarness([call("lookup", key="a"), call("lookup", key="b"), "done"],
                          plugins=[Tools(), compressors(("bad", DropEverything(), "pressure"))])
    result = await harness.run("the goal")
    assert result.ok
    rejected = [e for e in harness.last_run.recorded if e.kind == "context.edit_rejected"]
    assert rejected and "user message dropped" in rejected[0].data["violation"]
    assert harness.model.requests[-1].messages[0].text_content == "the goal"


async def test_valid_edit_is_applied_with_an_event() -> None:
    harness = LoomHarness(
        [call("lookup", key="capital"), call("lookup", key="b"), call("lookup", key="c"), "done"],
        plugins=[Tools(), compressors(("stub", StubOldResults(), "pressure"))])
    await harness.run("t")
    edited = [e for e in harness.last_run.recorded if e.kind == "context.edited"]
    assert edited and edited[0].data["level"] == "stub"
    first_result = harness.model.requests[-1].messages[2].tool_results[0]
    assert first_result.content == "[stub: restore ref-1]"


class OverflowOnce(ScriptedModel):
    async def complete(self, request: ModelRequest, **kw: Any) -> ModelResponse:
        if len(self.requests) == 3 and not getattr(self, "raised", False):
            self.raised = True
            raise ContextOverflowError("prompt is too long", provider="x")
        return await super().complete(request, **kw)


async def test_context_overflow_runs_reactive_compression_and_retries_once() -> None:
    model = OverflowOnce([call("lookup", key="a"), call("lookup", key="b"),
                          call("lookup", key="c"), "answer"])
    harness = LoomHarness(model, plugins=[Tools(), compressors(("reactive", StubOldResults(), "overflow"))])
    result = await harness.run("t")
    assert result.ok and result.output == "answer"
    assert "provider.error" in harness.event_kinds()


def test_run_sync_works_inside_a_running_loop() -> None:
    harness = LoomHarness(["hi"])

    async def notebook_cell() -> str:
        return harness.runtime.run_sync("hello").output

    assert asyncio.run(notebook_cell()) == "hi"
    assert run_sync(harness.run("again")).status in ("succeeded", "failed")


async def test_streaming_emits_deltas() -> None:
    harness = LoomHarness(["streamed words here"], profile=AgentProfile(stream=True))
    await harness.run("t")
    deltas = [e.data["text"] for e in harness.last_run.recorded if e.kind == "reason.delta"]
    assert "".join(deltas).strip() == "streamed words here"


def test_runtime_without_provider_explains_what_to_do() -> None:
    with pytest.raises(Exception, match="no provider selected"):
        AgentRuntime(config=load_config(data={}, environ={}), entry_points=False)


def test_unknown_tool_and_close_match_are_fed_back() -> None:
    harness = LoomHarness([call("lookpu", key="x"), "sorry"], plugins=[Tools()])
    harness.run_sync("t")
    result = harness.model.requests[1].messages[-1].tool_results[0]
    assert result.is_error and "did you mean 'lookup'" in result.content


async def test_cancel_before_start_is_not_lost() -> None:
    harness = LoomHarness(["never"])
    run = harness.runtime.create_session().create_task("t")
    started = run.start()
    started.cancel()
    result = await started.wait()
    assert result.status == "cancelled" and harness.model.requests == []
    from loom.errors import RunCancelled

    with pytest.raises(RunCancelled):
        result.raise_for_status()


def test_plan_mode_never_runs_a_mutating_tool_even_without_veto_plugins() -> None:
    writes: list[str] = []

    @tool(effects={"mutate"})
    def save(text: str) -> str:
        """Save text."""
        writes.append(text)
        return "saved"

    class P:
        @hookimpl
        def loom_register_tools(self) -> list[Any]:
            return [save, lookup]

    harness = LoomHarness([[call("save", text="x"), call("lookup", key="capital")], "planned"],
                          plugins=[P()], profile=AgentProfile(mode="PLAN"))
    result = harness.run_sync("t")
    assert result.ok and writes == []
    saved, looked = harness.model.requests[1].messages[-1].tool_results
    assert saved.is_error and "PLAN mode" in saved.content
    assert looked.content == "Paris"


def test_unknown_profile_key_has_close_match(tmp_path: Any) -> None:
    (tmp_path / "loom.toml").write_text('[profile]\nmax_step = 3\n')
    with pytest.raises(Exception, match=r"loom.toml:2: profile.max_step.*did you mean 'max_steps'"):
        AgentRuntime(provider=ScriptedModel([]), config=load_config(start=tmp_path, environ={}),
                     entry_points=False)


def test_misspelt_stage_name_fails_at_start_up() -> None:
    with pytest.raises(Exception, match="no compression record named 'snpi'"):
        AgentRuntime(provider=ScriptedModel([]), entry_points=False,
                     config=load_config(data={"stages": {"compression": ["snpi"]}}, environ={}))


async def test_tools_built_per_run_from_one_closure_keep_their_own_binding() -> None:
    def make(prefix: str) -> Any:
        @tool(name="greet")
        def greet(who: str) -> str:
            """Greet someone."""
            return f"{prefix} {who}"

        return greet

    hello, hi = make("hello"), make("hi")
    assert hello.spec == hi.spec  # one schema, built once
    assert await hello.handler({"who": "ada"}, None) == "hello ada"
    assert await hi.handler({"who": "ada"}, None) == "hi ada"
