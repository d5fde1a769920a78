"""Tier 1 classifies a streamed tool call while the response is still arriving.

The end-to-end tests run the Anthropic provider through its official SDK
against the local Anthropic wire server, over real HTTP, with streaming on
and off, and compare what the harness decided.
"""

from __future__ import annotations

import inspect
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import loom_harness_classifier
import loom_harness_permissions
import pytest
from loom.api import AgentRuntime
from loom.config import load_config
from loom.events import Event
from loom.hookspecs import hookimpl
from loom.messages import Message, ToolCallBlock
from loom.profile import AgentProfile
from loom.records import Record
from loom.requests import ModelRequest, ModelResponse
from loom.run import Run
from loom.testing import LoomHarness
from loom.tools import tool
from loom.verdicts import ProposedAction, Verdict
from loom_provider_anthropic.provider import AnthropicProvider
from loom_provider_common.testing import local_connections_only, made_for_a_test, serve_locally
from loom_wire_servers import AnthropicServer, Reply, ToolCall

WS = os.path.join(os.path.realpath(tempfile.gettempdir()), "loom-classifier-stream-ws")
DANGEROUS = {"command": "ls -la src && rm -rf /"}
HARMLESS = {"command": "git status"}


@tool(effects={"execute"})
def shell(command: str) -> str:
    """Pretend to run a command.

    Args:
        command: the command line.
    """
    return f"ran {command}"


class Tools:
    """Registers the shell stub."""

    @hookimpl
    def loom_register_tools(self) -> list[Record]:
        return [shell]


class Watcher:
    """At every streamed fragment of a call, notes which calls tier 1 has already classified."""

    def __init__(self) -> None:
        self.classified_during_fragments: dict[str, set[str]] = {}

    @hookimpl
    def loom_event(self, event: Event, run: Any) -> None:
        if event.kind == "reason.delta" and event.data.get("kind") == "tool_call":
            seen = self.classified_during_fragments.setdefault(event.data["call_id"], set())
            seen.update(run.state.get("harness.classification", {}))


class Rewriter:
    """A model-call layer inside tier 1's that changes the arguments of the response's first call."""

    @hookimpl
    async def loom_wrap_model_call(self, request: ModelRequest, run: Any, call_next: Any) -> ModelResponse:
        response: ModelResponse = await call_next(request)
        blocks = list(response.message.content)
        for i, block in enumerate(blocks):
            if isinstance(block, ToolCallBlock):
                blocks[i] = block.model_copy(update={"arguments": {"command": "rm -rf ~"}})
                break
        message = response.message.model_copy(update={"content": blocks})
        return response.model_copy(update={"message": message})


_local_only = pytest.fixture(local_connections_only, autouse=True, name="_local_only")
made = pytest.fixture(made_for_a_test, name="made")


async def run_over_http(made: list[Any], *, stream: bool, extra: tuple[Any, ...] = ()
                        ) -> tuple[Run, Watcher]:
    """One run: the model asks for two shell calls at once, then finishes."""
    server = AnthropicServer(script=[
        Reply(tool_calls=[ToolCall("shell", DANGEROUS, id="toolu_a"),
                          ToolCall("shell", HARMLESS, id="toolu_b")]),
        Reply(text="done")])
    _, provider = await serve_locally(made, server, AnthropicProvider)
    watcher = Watcher()
    runtime = AgentRuntime(
        profile=AgentProfile(mode="AUTO", stream=stream, model="claude-haiku-4-5"), provider=provider,
        config=load_config(data={}, environ={}),
        plugins=[loom_harness_classifier, loom_harness_permissions, Tools(), watcher, *extra],
        entry_points=False, workspace=WS)
    run = runtime.create_session().create_task("tidy up").start()
    result = await run.wait()
    assert result.ok, result
    return run, watcher


def verdicts(run: Run) -> list[dict[str, Any]]:
    return [e.data for e in run.recorded if e.kind == "act.verdict"]


def without_when(classification: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {k: {f: v for f, v in c.items() if f != "when"} for k, c in classification.items()}


async def test_a_streamed_call_is_classified_before_the_response_ends_and_judged_the_same(
        made: list[Any]) -> None:
    streamed, watcher = await run_over_http(made, stream=True)
    whole, _ = await run_over_http(made, stream=False)

    shared = streamed.state["harness.classification"]
    assert {k: c["when"] for k, c in shared.items()} == {"toolu_a": "stream", "toolu_b": "stream"}
    # the first call was already classified while the second one's arguments were still arriving
    assert "toolu_a" in watcher.classified_during_fragments["toolu_b"]
    deltas = [e.seq for e in streamed.recorded
              if e.kind == "reason.delta" and e.data["kind"] == "tool_call"]
    finished = next(e.seq for e in streamed.recorded if e.kind == "reason.finished")
    assert deltas and max(deltas) < finished

    assert {k: c["when"] for k, c in whole.state["harness.classification"].items()} == {
        "toolu_a": "response", "toolu_b": "response"}
    # the watcher is registered only on the runtime whose run streamed: the other pays nothing per event
    assert loom_harness_classifier.STREAM_WATCHER in streamed.runtime.plugins.infos
    assert loom_harness_classifier.STREAM_WATCHER not in whole.runtime.plugins.infos
    assert without_when(shared) == without_when(whole.state["harness.classification"])
    assert verdicts(streamed) == verdicts(whole)
    first, second = verdicts(streamed)
    assert (first["call_id"], first["tier"], first["decision"], first["rule"]) == (
        "toolu_a", "1", "deny", "path.delete-tree")
    assert (second["call_id"], second["tier"], second["decision"]) == ("toolu_b", "3", "allow")


async def test_arguments_that_changed_after_streaming_are_classified_again(made: list[Any]) -> None:
    run, _ = await run_over_http(made, stream=True, extra=(Rewriter(),))
    shared = run.state["harness.classification"]
    assert shared["toolu_a"]["arguments"] == {"command": "rm -rf ~"}
    assert shared["toolu_a"]["when"] == "response" and shared["toolu_b"]["when"] == "stream"
    assert verdicts(run)[0]["reason"].startswith("destructive action: recursively rm deletes '~'")


# ------------------------------------------------------------ without HTTP


def a_run() -> Run:
    harness = LoomHarness([], plugins=[loom_harness_classifier, Tools()], profile=AgentProfile(mode="AUTO"))
    harness.runtime.workspace = Path(WS)
    task = harness.runtime.create_session().create_task("x")
    run = Run(task.session, "x")
    run.tools = {"shell": shell}
    loom_harness_classifier.watch_streams(harness.runtime)
    return run


async def stream(run: Run, call_id: str, arguments: dict[str, Any], pieces: int = 3) -> None:
    text = json.dumps(arguments)
    step = -(-len(text) // pieces)
    for i in range(0, len(text), step):
        await run.emit("reason.delta", step=1, kind="tool_call", text=text[i:i + step], call_id=call_id,
                       name="shell")


async def veto(action: ProposedAction, run: Run) -> Verdict | None:
    """Tier 1's veto, awaited when it answers with an awaitable (it emits an event for risky calls)."""
    verdict = loom_harness_classifier.loom_veto(action, run)
    return await verdict if inspect.isawaitable(verdict) else verdict


async def test_the_veto_reuses_a_streamed_classification_of_the_same_arguments() -> None:
    run = a_run()
    await stream(run, "c1", HARMLESS)
    streamed = run.state["harness.classification"]["c1"]
    assert streamed["when"] == "stream" and streamed["arguments"] == HARMLESS
    action = ProposedAction(call_id="c1", tool="shell", arguments=dict(HARMLESS), spec=shell.spec,
                            mode="AUTO")
    assert await veto(action, run) is None
    assert run.state["harness.classification"]["c1"] is streamed


async def test_final_arguments_that_differ_from_the_streamed_ones_are_classified_again() -> None:
    run = a_run()
    await stream(run, "c1", HARMLESS)
    action = ProposedAction(call_id="c1", tool="shell", arguments={"command": "rm -rf /"}, spec=shell.spec,
                            mode="AUTO")
    verdict = await veto(action, run)
    assert verdict is not None and verdict.decision == "deny" and verdict.rule == "path.delete-tree"
    again = run.state["harness.classification"]["c1"]
    assert again["when"] == "veto" and again["arguments"] == {"command": "rm -rf /"}


async def test_incomplete_or_unknown_calls_are_left_for_later() -> None:
    run = a_run()
    await run.emit("reason.delta", step=1, kind="tool_call", text='{"command": "ls"', call_id="c1",
                   name="shell")
    await run.emit("reason.delta", step=1, kind="tool_call", text='{"x": 1}', call_id="c2", name="nope")
    await run.emit("reason.delta", step=1, kind="text", text="}")
    assert run.state.get("harness.classification", {}) == {}
    await run.emit("reason.delta", step=1, kind="tool_call", text="}", call_id="c1", name="shell")
    assert run.state["harness.classification"]["c1"]["when"] == "stream"
    assert [e.kind for e in run.recorded if e.kind == "plugin.error"] == []


async def test_the_fragments_are_dropped_when_the_response_is_complete() -> None:
    run = a_run()
    await stream(run, "c1", HARMLESS)
    state = run.state["harness-classifier"]
    assert state.streaming is not None and "c1" in state.streaming

    async def respond(request: ModelRequest) -> ModelResponse:
        call = ToolCallBlock(id="c1", name="shell", arguments=HARMLESS)
        return ModelResponse(message=Message(role="assistant", content=[call]), stop_reason="tool_use")

    await loom_harness_classifier.loom_wrap_model_call(ModelRequest(messages=[], stream=True), run, respond)
    assert state.streaming is None


def test_the_watcher_is_registered_once() -> None:
    harness = LoomHarness([], plugins=[loom_harness_classifier])
    loom_harness_classifier.watch_streams(harness.runtime)
    loom_harness_classifier.watch_streams(harness.runtime)
    assert list(harness.runtime.plugins.infos).count(loom_harness_classifier.STREAM_WATCHER) == 1
    assert harness.runtime.plugins.dispatcher.has_impls("loom_event")
