"""Replay a recorded run offline, with the model's answers served from the store.

A :class:`Recording` is what a run left in a store (or in a fixture file):
the goal and profile, each model response with the size of the request it
answered and the text it streamed, the tool results and the approvals.
:func:`replay` runs the goal again with a :class:`ReplayModel` instead of a
provider, recorded tool results instead of the tools (or the real tools,
``tool_results="live"``) and the recorded decisions for approvals; no
network, no API key. :func:`comparable` strips what legitimately differs
(timestamps, ids) so the events can be compared::

    stored = await store.load_run(run_id)
    replayed = await replay(stored, plugins=[MyTools()])
    assert comparable(replayed.events) == comparable(stored.events)

:meth:`Recording.save` turns a run into a JSON fixture for tests, and
:meth:`Recording.load` reads it back.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from loom.api import AgentRuntime
from loom.approvals import Approval
from loom.config import load_config
from loom.errors import LoomError
from loom.events import Event
from loom.hookspecs import hookimpl
from loom.messages import ToolCallBlock, ToolResultBlock
from loom.profile import AgentProfile
from loom.records import ToolRecord
from loom.requests import ModelRequest, ModelResponse, StreamDelta, ToolSpec
from loom.run import Run, RunResult
from loom.store import StoredRun

FORMAT = "loom-recording/1"

#: Event fields that differ between a run and its replay without meaning anything.
VOLATILE = frozenset({"approval_id"})


class ReplayDivergence(LoomError):
    """The replayed run asked for something the recording does not hold."""


@dataclass
class Turn:
    """One recorded model call: the response, the request's size, the streamed text."""

    response: dict[str, Any]
    messages: int | None = None
    deltas: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Recording:
    """What replaying a run needs; built from a stored run or a fixture file."""

    goal: str
    profile: dict[str, Any]
    turns: list[Turn]
    tool_results: dict[str, dict[str, Any]] = field(default_factory=dict)
    approvals: list[dict[str, Any]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    tool_specs: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_run(cls, stored: StoredRun) -> Recording:
        """The recording of a stored run (``RunStore.load_run``)."""
        starts = [i for i, e in enumerate(stored.events) if e.kind == "reason.started"]
        turns = []
        for n, response in enumerate(stored.responses):
            turn = Turn(response=response)
            if n < len(starts):
                at = starts[n]
                turn.messages = int(stored.events[at].data.get("messages", 0))
                for event in stored.events[at + 1:]:
                    if event.kind == "reason.finished":
                        break
                    if event.kind == "reason.delta":
                        turn.deltas.append((str(event.data.get("kind", "text")),
                                            str(event.data.get("text", ""))))
            turns.append(turn)
        results: dict[str, dict[str, Any]] = {}
        window = stored.checkpoint.window if stored.checkpoint else {}
        for message in window.get("history", []):
            for block in message.get("content", []):
                if block.get("type") == "tool_result":
                    results[block["call_id"]] = block
        specs = {spec["name"]: spec for spec in window.get("tools", [])}
        return cls(goal=stored.info.goal, profile=dict(stored.info.profile), turns=turns,
                   tool_results=results, approvals=list(stored.approvals),
                   events=list(stored.events), tool_specs=specs)

    def save(self, path: str | Path) -> Path:
        """Write the recording as a JSON fixture file."""
        doc = {"format": FORMAT, "goal": self.goal, "profile": self.profile,
               "turns": [{"response": t.response, "messages": t.messages,
                          "deltas": [list(d) for d in t.deltas]} for t in self.turns],
               "tool_results": self.tool_results, "approvals": self.approvals,
               "events": [e.model_dump(mode="json") for e in self.events],
               "tool_specs": self.tool_specs}
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
        return target

    @classmethod
    def load(cls, path: str | Path) -> Recording:
        """Read a fixture written by :meth:`save`."""
        source = Path(path)
        try:
            doc = json.loads(source.read_text())
        except (OSError, ValueError) as exc:
            raise LoomError(f"{source}: not a readable recording ({exc})") from exc
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            found = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
            raise LoomError(f"{source}: not a {FORMAT} recording (format: {found!r})")
        turns = [Turn(response=t["response"], messages=t.get("messages"),
                      deltas=[(k, v) for k, v in t.get("deltas", [])]) for t in doc["turns"]]
        return cls(goal=doc["goal"], profile=doc["profile"], turns=turns,
                   tool_results=doc.get("tool_results", {}), approvals=doc.get("approvals", []),
                   events=[Event.model_validate(e) for e in doc.get("events", [])],
                   tool_specs=doc.get("tool_specs", {}))

    def tool_names(self) -> list[str]:
        """The tools the recorded model called, in first-call order."""
        names: list[str] = []
        for turn in self.turns:
            for block in turn.response.get("message", {}).get("content", []):
                if block.get("type") == "tool_call" and block["name"] not in names:
                    names.append(block["name"])
        return names


class ReplayModel:
    """A provider serving recorded responses in order; fails clearly when the run diverges."""

    name = "replay"

    def __init__(self, recording: Recording | StoredRun, *, context_window: int = 200_000) -> None:
        self.recording = recording if isinstance(recording, Recording) else Recording.from_run(recording)
        self.context_window = context_window
        self.requests: list[ModelRequest] = []
        self.divergence: ReplayDivergence | None = None

    async def complete(self, request: ModelRequest, *,
                       on_delta: Callable[[StreamDelta], Awaitable[None]] | None = None) -> ModelResponse:
        """The next recorded response (its recorded deltas streamed first when asked)."""
        self.requests.append(request)
        n = len(self.requests)
        turns = self.recording.turns
        if n > len(turns):
            self._diverge(f"the replayed run asked for model response #{n}, but the recording "
                          f"has only {len(turns)}")
        turn = turns[n - 1]
        if turn.messages is not None and len(request.messages) != turn.messages:
            self._diverge(f"model request #{n} has {len(request.messages)} messages, the recorded "
                          f"one had {turn.messages}: the run diverged (different plugins, tools, "
                          "settings or session history?)")
        if on_delta is not None:
            for kind, text in turn.deltas:
                await on_delta(StreamDelta(kind=kind, text=text))  # type: ignore[arg-type]
        return ModelResponse.model_validate(turn.response)

    def _diverge(self, message: str) -> None:
        self.divergence = ReplayDivergence(message)
        raise self.divergence


class RecordedTools:
    """Serves recorded tool results (tools that no plugin provides get a stand-in)."""

    def __init__(self, recording: Recording, missing: Iterable[str], live: bool) -> None:
        self.recording = recording
        self.missing = list(missing)
        self.live = live
        self.divergence: ReplayDivergence | None = None

    @hookimpl
    def loom_register_tools(self) -> list[ToolRecord]:
        """Stand-ins for recorded tools that no plugin registers (with their recorded specs)."""
        specs = self.recording.tool_specs
        return [ToolRecord(name=name, factory=self._unavailable,
                           spec=ToolSpec.model_validate(specs[name]) if name in specs else
                           ToolSpec(name=name, description=f"{name} (recorded)",
                                    parameters={"type": "object"}))
                for name in self.missing]

    def _unavailable(self, arguments: dict[str, Any], run: Any) -> str:
        raise ReplayDivergence("a recorded tool has no result and no plugin to run it")

    @hookimpl(tryfirst=True)
    async def loom_wrap_tool_call(self, call: ToolCallBlock, spec: ToolSpec, run: Run,
                                  call_next: Callable[[ToolCallBlock], Awaitable[ToolResultBlock]],
                                  ) -> ToolResultBlock:
        """The recorded result of the call (or the live tool's, when asked)."""
        recorded = self.recording.tool_results.get(call.id)
        if self.live or (recorded is None and call.name not in self.missing):
            return await call_next(call)
        if recorded is None:
            self.divergence = ReplayDivergence(
                f"the recording has no result for call {call.id} ({call.name}) and no plugin "
                "provides that tool: pass its plugin, or replay with tool_results='live'")
            raise self.divergence
        return ToolResultBlock.model_validate(recorded)


class RecordedApprovals:
    """Answers approvals as the recorded person did (denies one with no recorded decision)."""

    def __init__(self, recording: Recording) -> None:
        self.decisions = {a.get("call_id"): a for a in recording.approvals}

    @hookimpl
    def loom_approval_requested(self, approval: Approval, run: Run) -> None:
        """Decide the approval from the recording."""
        decision = self.decisions.get(approval.call_id)
        if decision is None or decision.get("status") not in ("approved", "denied"):
            approval.deny("no recorded decision for this call", by="replay")
        elif decision["status"] == "approved":
            approval.approve(always=bool(decision.get("always")), by=decision.get("decided_by", ""),
                             reason=decision.get("decision_reason", ""))
        else:
            approval.deny(decision.get("decision_reason", ""), by=decision.get("decided_by", ""))


@dataclass
class Replay:
    """A finished replay: its result, its events, and the model that served it."""

    result: RunResult
    events: list[Event]
    model: ReplayModel


async def replay(recording: Recording | StoredRun, *, plugins: Iterable[Any] = (),
                 config: dict[str, Any] | None = None,
                 tool_results: Literal["recorded", "live"] = "recorded",
                 entry_points: bool = False) -> Replay:
    """Run a recorded run again offline; raises :class:`ReplayDivergence` if it diverges.

    ``plugins`` should be the plugin set of the recorded run (its tools,
    vetoes, compression...), or ``entry_points=True`` to load the installed
    plugins as a normal run does; ``config`` a configuration document.
    Nothing is written to any store.
    """
    rec = recording if isinstance(recording, Recording) else Recording.from_run(recording)
    model = ReplayModel(rec)
    data = dict(config or {})
    data["stages"] = {**data.get("stages", {}), "store": "none"}
    runtime = AgentRuntime(profile=AgentProfile.model_validate(rec.profile), provider=model,
                           config=load_config(data=data, environ={}), plugins=plugins,
                           entry_points=entry_points)
    have = runtime.plugins.records("tools")
    tools = RecordedTools(rec, [n for n in rec.tool_names() if n not in have],
                          live=tool_results == "live")
    runtime.plugins.add_plugin(tools, "replay-tools")
    runtime.plugins.add_plugin(RecordedApprovals(rec), "replay-approvals")
    run = runtime.create_session().create_task(rec.goal).start()
    result = await run.wait()
    divergence = model.divergence or tools.divergence
    if divergence is not None:
        raise divergence
    return Replay(result=result, events=list(run.recorded), model=model)


def comparable(events: Iterable[Event]) -> list[tuple[str, dict[str, Any]]]:
    """Events as ``(kind, data)`` without timestamps, run ids and approval ids."""
    return [(e.kind, {k: v for k, v in e.data.items() if k not in VOLATILE}) for e in events]


__all__ = ["Recording", "Replay", "ReplayDivergence", "ReplayModel", "Turn", "comparable", "replay"]
