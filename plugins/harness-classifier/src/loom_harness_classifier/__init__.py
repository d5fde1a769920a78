"""Tier 1 of the safety harness: a speculative classifier of proposed actions.

Every proposed tool call is classified — read-only, mutating, network, code
execution, destructive or escalation — with a risk in 0..1 and the reasons,
from the tool's declared effects and its arguments (paths, shell commands,
URLs, mode switches). The classification is put on
``run.state["harness.classification"][call_id]`` as plain data for the
other tiers; tier 1 itself denies only what scores ``deny_at`` (0.9) or
more: clearly destructive commands and escalation attempts.

Hooks, in the order they act on one call:

- while a response streams (``profile.stream``), the :class:`StreamWatcher`
  (registered on the runtime by the model-call layer the first time a run
  asks for a streamed response) sees the ``reason.delta`` fragments of each
  tool call and classifies the call as soon as its arguments parse;
- ``loom_wrap_model_call`` (tryfirst, the outermost layer): as soon as a
  model response arrives, its tool calls are classified and cached by call
  id and arguments — before the Act phase starts (a call classified from
  its stream with the same arguments is a cache hit);
- ``loom_veto`` (tryfirst: tier 1 judges first): uses the cached
  classification (or classifies now) and denies clear dangers;
- ``loom_wrap_tool_call`` (trylast: among the innermost layers): if the
  arguments that are about to run differ from the classified ones (a hook
  rewrote them), they are classified again and refused when they are
  clearly dangerous;
- ``loom_tool_finished``: tool output that tries to switch the mode or
  get actions approved marks the run; later escalations are denied and
  every non-read action gets at least risk 0.7.

The veto, the tool-call layer and the output check answer synchronously in
the common case and return an awaitable only when they have to wait (an
event to emit, a second opinion): the kernel awaits what is awaitable.
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, cast

from loom.events import Event
from loom.hookspecs import hookimpl
from loom.messages import ToolCallBlock, ToolResultBlock
from loom.records import Record, SettingsRecord
from loom.requests import ModelRequest, ModelResponse, ToolSpec
from loom.verdicts import ProposedAction, Verdict

from loom_harness_classifier.classify import classify
from loom_harness_classifier.findings import SEVERITY, Findings, Kind
from loom_harness_classifier.injection import find_injection
from loom_harness_classifier.settings import SETTINGS_NAME, ClassifierSettings, settings_of

#: ``run.state`` key of the classifications shared with the other tiers (call id → dict).
CLASSIFICATION_KEY = "harness.classification"
#: ``run.state`` key of the suspicious tool outputs seen in the run (a list of dicts).
INJECTION_KEY = "harness.injection"
TIER = "1"

__all__ = ["CLASSIFICATION_KEY", "INJECTION_KEY", "SETTINGS_NAME", "STREAM_WATCHER", "ClassifierSettings",
           "StreamWatcher", "classify", "classify_action", "loom_register_settings", "loom_tool_finished",
           "loom_veto", "loom_wrap_model_call", "loom_wrap_tool_call", "watch_streams"]


#: The name under which :class:`StreamWatcher` is registered.
STREAM_WATCHER = "harness-classifier-stream"
#: Failed parses of one streamed call's arguments after which tier 1 waits for the whole response.
MAX_STREAM_ATTEMPTS = 16


@dataclass(slots=True)
class _Streamed:
    """The argument fragments of one tool call received so far."""

    name: str
    parts: list[str] = field(default_factory=list)
    attempts: int = 0


@dataclass(slots=True)
class _State:
    """What tier 1 keeps for one run: the resolved workspace, its settings, the shared classifications
    and, while a response streams, the argument fragments of its tool calls (by call id)."""

    workspace: str
    settings: ClassifierSettings
    shared: dict[str, dict[str, Any]]
    streaming: dict[str, _Streamed] | None = None


def _state(run: Any) -> _State:
    state = run.state.get(SETTINGS_NAME)
    if state is None:
        root = getattr(run.runtime, "workspace", None) or os.getcwd()
        state = _State(os.path.realpath(root), settings_of(run),
                       run.state.setdefault(CLASSIFICATION_KEY, {}))
        run.state[SETTINGS_NAME] = state
    return state  # type: ignore[no-any-return]


def classify_action(run: Any, call_id: str, tool: str, arguments: dict[str, Any],
                    spec: ToolSpec | None, *, when: str = "veto") -> dict[str, Any]:
    """Classify one call (or return the cached classification of the same call id and arguments).

    ``when`` is recorded with a new classification: ``"stream"`` (from the
    streamed argument fragments), ``"response"`` (when the model response
    arrived), ``"veto"`` or ``"rewrite"`` (arguments changed after the veto).
    """
    state = _state(run)
    cached = state.shared.get(call_id)
    if cached is not None and cached["arguments"] == arguments:
        return cached
    return _classify_into(run, state, call_id, tool, arguments, spec, when)


def _classify_into(run: Any, state: _State, call_id: str, tool: str, arguments: dict[str, Any],
                   spec: ToolSpec | None, when: str) -> dict[str, Any]:
    findings = classify(tool, arguments, spec.effects if spec is not None else (), state.workspace)
    if INJECTION_KEY in run.state:
        _apply_injection(run, findings)
    result = findings.classification(state.settings.deny_at)
    result["tool"] = tool
    result["arguments"] = arguments
    result["when"] = when
    state.shared[call_id] = result
    return result


def _apply_injection(run: Any, findings: Findings) -> None:
    seen = run.state.get(INJECTION_KEY)
    if not seen:
        return
    where = f"{seen[-1]['tool']} output: {seen[-1]['excerpt'][:80]!r}"
    if findings.has("escalate"):
        findings.add("escalate", 0.99, "context.injection-escalation",
                     f"follows a tool output that asked for a mode change or approval ({where})")
    elif findings.kinds() - {"read"}:
        kind = cast(Kind, max(findings.kinds() - {"read"}, key=SEVERITY.__getitem__))
        findings.add(kind, 0.7, "context.injection",
                     f"follows a tool output that tried to steer the harness ({where})")


@hookimpl
def loom_register_settings() -> list[Record]:
    """Declare ``[settings.harness-classifier]`` (see :class:`ClassifierSettings`)."""
    return [SettingsRecord(name=SETTINGS_NAME, settings=ClassifierSettings,
                           description="tier 1 of the safety harness: thresholds and switches")]


class StreamWatcher:
    """Classifies each streamed tool call as soon as its arguments are complete.

    Its ``loom_event`` looks only at ``reason.delta`` events of kind
    ``tool_call``: their fragments are gathered per call id, and when a
    fragment ends with ``}`` the text so far is parsed; once it is a JSON
    object, the call is classified into the same cache the veto reads
    (``when: "stream"``). Tier 1 registers it on a runtime (as the plugin
    :data:`STREAM_WATCHER`) the first time one of its runs asks for a
    streamed response, so runs that never stream pay nothing per event.
    """

    @hookimpl
    def loom_event(self, event: Event, run: Any) -> None:
        """Gather a tool call's argument fragments; classify the call once they parse."""
        if event.kind == "reason.delta" and event.data.get("kind") == "tool_call":
            _on_fragment(run, event.data)


def watch_streams(runtime: Any) -> None:
    """Register :class:`StreamWatcher` on ``runtime`` (once; tier 1 does it when a run first streams)."""
    plugins = runtime.plugins
    if STREAM_WATCHER not in plugins.infos:
        plugins.add_plugin(StreamWatcher(), name=STREAM_WATCHER)


def _on_fragment(run: Any, data: dict[str, Any]) -> None:
    call_id = data.get("call_id")
    if not call_id:
        return
    state = _state(run)
    if not state.settings.speculative:
        return
    if state.streaming is None:
        state.streaming = {}
    streamed = state.streaming.get(call_id)
    if streamed is None:
        streamed = state.streaming[call_id] = _Streamed(data.get("name") or "")
    elif not streamed.name and data.get("name"):
        streamed.name = data["name"]
    text = data.get("text") or ""
    streamed.parts.append(text)
    if not text.rstrip().endswith("}") or streamed.attempts >= MAX_STREAM_ATTEMPTS:
        return
    try:
        arguments = json.loads("".join(streamed.parts))
    except (ValueError, RecursionError):
        streamed.attempts += 1
        return
    record = getattr(run, "tools", {}).get(streamed.name)
    if not isinstance(arguments, dict) or record is None or record.spec is None:
        return
    cached = state.shared.get(call_id)
    if cached is None or cached["arguments"] != arguments:
        _classify_into(run, state, call_id, streamed.name, arguments, record.spec, "stream")


@hookimpl(tryfirst=True)
async def loom_wrap_model_call(request: ModelRequest, run: Any,
                               call_next: Callable[[ModelRequest], Awaitable[ModelResponse]]
                               ) -> ModelResponse:
    """Classify the tool calls of a model response as soon as it arrives (speculatively).

    Calls already classified from their streamed fragments with the same
    arguments are cache hits; the fragments are dropped once the response is
    complete (or failed).
    """
    if request.stream:
        if _state(run).settings.speculative:
            watch_streams(run.runtime)
        try:
            response = await call_next(request)
        finally:
            state = run.state.get(SETTINGS_NAME)
            if state is not None:
                state.streaming = None
    else:
        response = await call_next(request)
    calls = response.message.tool_calls
    if calls:
        state = _state(run)
        if state.settings.speculative:
            tools = getattr(run, "tools", {})
            shared = state.shared
            for call in calls:
                record = tools.get(call.name)
                if record is not None and record.spec is not None:
                    cached = shared.get(call.id)
                    if cached is None or cached["arguments"] != call.arguments:
                        _classify_into(run, state, call.id, call.name, call.arguments, record.spec,
                                       "response")
    return response


@hookimpl(tryfirst=True)
def loom_veto(action: ProposedAction, run: Any) -> Verdict | Awaitable[Verdict | None] | None:
    """Deny clearly destructive actions and escalation attempts; otherwise leave the classification.

    Answers at once in the common case; returns an awaitable only when it
    has an event to emit or a second opinion to ask for.
    """
    state = _state(run)
    settings = state.settings
    result = state.shared.get(action.call_id)
    if result is None or result["arguments"] != action.arguments:
        result = _classify_into(run, state, action.call_id, action.tool, action.arguments, action.spec,
                                "veto")
    if (settings.second_opinion and not result["deny"]
            and result["risk"] >= settings.second_opinion_from) \
            or settings.emit_events == "all" \
            or (settings.emit_events == "risky" and result["risk"] >= settings.risky_at):
        return _veto_slowly(action, run, settings, result)
    return _verdict(result)


def _verdict(result: dict[str, Any]) -> Verdict | None:
    if result["deny"]:
        return Verdict.deny(f"{result['category_name']} action: {'; '.join(result['reasons'][:2])}",
                            tier=TIER, plugin=SETTINGS_NAME, rule=result["rule"], risk=result["risk"])
    return None


async def _veto_slowly(action: ProposedAction, run: Any, settings: ClassifierSettings,
                       result: dict[str, Any]) -> Verdict | None:
    if settings.second_opinion and not result["deny"] and result["risk"] >= settings.second_opinion_from:
        await _second_opinion(run, settings, action, result)
    if settings.emit_events == "all" or (settings.emit_events == "risky"
                                         and result["risk"] >= settings.risky_at):
        await run.emit("harness-classifier.classified", call_id=action.call_id, tool=action.tool,
                       category=result["category"], risk=result["risk"], rule=result["rule"],
                       reasons=result["reasons"], deny=result["deny"], when=result["when"])
    return _verdict(result)


async def _second_opinion(run: Any, settings: ClassifierSettings, action: ProposedAction,
                          result: dict[str, Any]) -> None:
    from loom_harness_classifier.second_opinion import ask_model

    try:
        risk, reason = await ask_model(run, settings, action.tool, action.arguments, result)
    except Exception as exc:
        risk, reason = max(result["risk"], 0.7), f"no second opinion ({type(exc).__name__}: {exc})"
    await run.emit("harness-classifier.second_opinion", call_id=action.call_id, risk=risk,
                   reason=reason)
    if risk > result["risk"]:
        result["risk"] = round(risk, 3)
        result["rule"] = "model.second-opinion"
        result["reasons"].insert(0, f"second opinion: {reason}")
        result["deny"] = risk >= settings.deny_at


@hookimpl(trylast=True)
def loom_wrap_tool_call(call: ToolCallBlock, spec: ToolSpec, run: Any,
                        call_next: Callable[[ToolCallBlock], Awaitable[ToolResultBlock]]
                        ) -> Awaitable[ToolResultBlock]:
    """Re-check arguments that changed after the veto (e.g. rewritten by a hook) before running."""
    cached = _state(run).shared.get(call.id)
    if cached is not None and cached["arguments"] == call.arguments:
        return call_next(call)
    return _recheck(call, spec, run, call_next)


async def _recheck(call: ToolCallBlock, spec: ToolSpec, run: Any,
                   call_next: Callable[[ToolCallBlock], Awaitable[ToolResultBlock]]) -> ToolResultBlock:
    result = classify_action(run, call.id, call.name, call.arguments, spec, when="rewrite")
    if _state(run).settings.emit_events != "none":
        await run.emit("harness-classifier.reclassified", call_id=call.id, tool=call.name,
                       category=result["category"], risk=result["risk"], rule=result["rule"],
                       deny=result["deny"])
    if result["deny"]:
        return ToolResultBlock(
            call_id=call.id, name=call.name, is_error=True,
            content=f"Not run: denied by harness-classifier rule {result['rule']}: the arguments "
                    f"changed after the veto into a {result['category_name']} action "
                    f"({'; '.join(result['reasons'][:3])})")
    return await call_next(call)


@hookimpl
def loom_tool_finished(call: ToolCallBlock, result: ToolResultBlock, run: Any) -> Awaitable[None] | None:
    """Remember tool output that tries to switch the mode or get actions approved."""
    if result.is_error or not _state(run).settings.scan_tool_output:
        return None
    excerpt = find_injection(result.content)
    if excerpt is None:
        return None
    run.state.setdefault(INJECTION_KEY, []).append(
        {"call_id": call.id, "tool": call.name, "excerpt": excerpt})
    return run.emit("harness-classifier.injection_suspected", call_id=call.id,  # type: ignore[no-any-return]
                    tool=call.name, excerpt=excerpt)
