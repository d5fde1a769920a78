"""Tier 2 of the safety harness: user-configured hooks.

Hooks are declared in ``[settings.harness-hooks]`` (see
:class:`HooksSettings`); each is an external command (the event as JSON on
standard input, the answer as exit code and JSON on standard output, see
:mod:`loom_harness_hooks.protocol`) or a Python callable.

- ``before_tool`` hooks answer in ``loom_veto`` (a plain hookimpl: after
  tier 1, which is ``tryfirst``, and before tier 3, which is ``trylast``).
  The first deny wins; an ask makes the verdict ask; new ``arguments``
  replace the call's arguments: later veto plugins judge the new ones (the
  action's ``arguments`` are replaced), they are kept on
  ``run.state["harness.arguments"]`` and the ``loom_wrap_tool_call`` layer
  (``tryfirst``: the outermost) runs the call with them. When every
  matching hook allows, tier 3 counts it as an allow rule
  (``run.state["harness.hook_allow"]``).
- ``after_tool`` hooks see the result in the same wrap layer; a deny (or
  ask, or error) withholds the output from the model, a ``result`` string
  replaces it (to redact secrets, say).
- ``run_start`` hooks run when a run starts; anything but an allow stops
  the run before its first step. ``run_stop`` hooks are told how it ended.

Every hook answer is a ``harness-hooks.answer`` event. Without configured
hooks every implementation answers at once, without awaiting anything.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

from loom.hookspecs import hookimpl
from loom.messages import ToolCallBlock, ToolResultBlock
from loom.records import Record, SettingsRecord
from loom.requests import ToolSpec
from loom.verdicts import ProposedAction, Verdict

from loom_harness_hooks.protocol import Answer
from loom_harness_hooks.runner import run_hook
from loom_harness_hooks.settings import SETTINGS_NAME, HookSpec, HooksSettings, settings_of

#: ``run.state`` keys shared with the other tiers.
ARGUMENTS_KEY = "harness.arguments"
HOOK_ALLOW_KEY = "harness.hook_allow"
CLASSIFICATION_KEY = "harness.classification"
STOP_KEY = "harness-hooks.stop"
TIER = "2"

__all__ = ["ARGUMENTS_KEY", "HOOK_ALLOW_KEY", "SETTINGS_NAME", "HookSpec", "HooksSettings",
           "loom_register_settings", "loom_run_finished", "loom_run_started", "loom_should_stop",
           "loom_veto", "loom_wrap_tool_call"]


def _workspace(run: Any) -> str:
    return os.path.realpath(getattr(run.runtime, "workspace", None) or os.getcwd())


def _base(run: Any, when: str) -> dict[str, Any]:
    return {"event": when, "run_id": run.id, "mode": run.profile.mode, "profile": run.profile.name,
            "workspace": _workspace(run)}


async def _ask(hook: HookSpec, payload: dict[str, Any], run: Any, settings: HooksSettings,
               **where: Any) -> Answer | None:
    started = time.perf_counter()
    answer = await run_hook(hook, payload, settings, _workspace(run))
    await run.emit("harness-hooks.answer", hook=hook.label, when=hook.when,
                   decision=answer.decision if answer else None,
                   reason=answer.reason if answer else "no opinion",
                   error=bool(answer and answer.error),
                   elapsed_ms=round((time.perf_counter() - started) * 1000, 1), **where)
    return answer


@hookimpl
def loom_register_settings() -> list[Record]:
    """Declare ``[settings.harness-hooks]`` (see :class:`HooksSettings`)."""
    return [SettingsRecord(name=SETTINGS_NAME, settings=HooksSettings,
                           description="tier 2 of the safety harness: user hooks")]


@hookimpl
def loom_veto(action: ProposedAction, run: Any) -> Awaitable[Verdict | None] | None:
    """Ask the ``before_tool`` hooks matching the tool; deny on the first deny.

    Without matching hooks it answers at once (no opinion).
    """
    settings = settings_of(run)
    if not settings.hooks:
        return None
    hooks = settings.for_event("before_tool", action.tool)
    if not hooks:
        return None
    return _ask_before(action, run, settings, hooks)


async def _ask_before(action: ProposedAction, run: Any, settings: HooksSettings,
                      hooks: list[HookSpec]) -> Verdict | None:
    arguments = dict(action.arguments)
    rewritten = False
    asks: list[str] = []
    allowed: list[str] = []
    classification = run.state.get(CLASSIFICATION_KEY, {}).get(action.call_id)
    for hook in hooks:
        payload = {**_base(run, "before_tool"), "call_id": action.call_id, "tool": action.tool,
                   "arguments": arguments,
                   "effects": sorted(str(getattr(e, "value", e)) for e in
                                     (action.spec.effects if action.spec else ())),
                   "classification": {k: classification[k] for k in ("category", "risk", "reasons",
                                                                     "rule")}
                   if classification else None}
        answer = await _ask(hook, payload, run, settings, call_id=action.call_id, tool=action.tool)
        if answer is None:
            continue
        if answer.decision == "deny":
            return Verdict.deny(f"hook {hook.label!r}: {answer.reason or 'denied'}", tier=TIER,
                                plugin=SETTINGS_NAME, rule=hook.label)
        if answer.arguments is not None and answer.arguments != arguments:
            arguments, rewritten = dict(answer.arguments), True
        if answer.decision == "ask":
            asks.append(f"hook {hook.label!r}: {answer.reason or 'asks for approval'}")
        else:
            allowed.append(hook.label)
    if rewritten:
        run.state.setdefault(ARGUMENTS_KEY, {})[action.call_id] = arguments
        action.arguments = arguments
    new = arguments if rewritten else None
    if asks:
        return Verdict.ask("; ".join(asks), tier=TIER, plugin=SETTINGS_NAME, rule=hooks[0].label,
                           arguments=new)
    if not allowed:
        return None
    run.state.setdefault(HOOK_ALLOW_KEY, {})[action.call_id] = ", ".join(allowed)
    return Verdict.allow(f"allowed by hook{'s' if len(allowed) > 1 else ''} {', '.join(allowed)}"
                         + (" with rewritten arguments" if rewritten else ""),
                         tier=TIER, plugin=SETTINGS_NAME, rule=allowed[0], arguments=new)


@hookimpl(tryfirst=True)
def loom_wrap_tool_call(call: ToolCallBlock, spec: ToolSpec, run: Any,
                        call_next: Callable[[ToolCallBlock], Awaitable[ToolResultBlock]]
                        ) -> Awaitable[ToolResultBlock]:
    """Run the call with hook-rewritten arguments, then let ``after_tool`` hooks see the result."""
    rewritten = run.state.get(ARGUMENTS_KEY)
    settings = settings_of(run)
    if not rewritten and not settings.hooks:
        return call_next(call)
    return _around_tool(call, run, call_next, settings, rewritten)


async def _around_tool(call: ToolCallBlock, run: Any,
                       call_next: Callable[[ToolCallBlock], Awaitable[ToolResultBlock]],
                       settings: HooksSettings, rewritten: dict[str, Any] | None) -> ToolResultBlock:
    new = rewritten.get(call.id) if rewritten else None
    if new is not None and new != call.arguments:
        await run.emit("harness-hooks.arguments_rewritten", call_id=call.id, tool=call.name,
                       before=call.arguments, after=new)
        call = call.model_copy(update={"arguments": new})
    result = await call_next(call)
    if not settings.hooks:
        return result
    for hook in settings.for_event("after_tool", call.name):
        payload = {**_base(run, "after_tool"), "call_id": call.id, "tool": call.name,
                   "arguments": call.arguments,
                   "result": {"content": result.content, "is_error": result.is_error}}
        answer = await _ask(hook, payload, run, settings, call_id=call.id, tool=call.name)
        if answer is None:
            continue
        if answer.decision != "allow":
            return ToolResultBlock(call_id=call.id, name=call.name, is_error=True,
                                   content=f"Output withheld by hook {hook.label!r}: "
                                           f"{answer.reason or answer.decision}")
        if answer.result is not None:
            result = result.model_copy(update={"content": answer.result})
    return result


@hookimpl
def loom_run_started(run: Any) -> Awaitable[None] | None:
    """Run the ``run_start`` hooks; anything but an allow stops the run before its first step."""
    settings = settings_of(run)
    hooks = settings.for_event("run_start")
    return _start(run, settings, hooks) if hooks else None


async def _start(run: Any, settings: HooksSettings, hooks: list[HookSpec]) -> None:
    for hook in hooks:
        payload = {**_base(run, "run_start"), "goal": run.goal}
        answer = await _ask(hook, payload, run, settings)
        if answer is not None and answer.decision != "allow":
            run.state[STOP_KEY] = f"run_start hook {hook.label!r}: {answer.reason or answer.decision}"
            return


@hookimpl
def loom_should_stop(run: Any) -> str | None:
    """Stop a run that a ``run_start`` hook refused."""
    reason = run.state.get(STOP_KEY)
    return str(reason) if reason else None


@hookimpl
def loom_run_finished(run: Any, result: Any) -> Awaitable[None] | None:
    """Tell the ``run_stop`` hooks how the run ended (their answers are only recorded)."""
    settings = settings_of(run)
    hooks = settings.for_event("run_stop")
    return _stop(run, result, settings, hooks) if hooks else None


async def _stop(run: Any, result: Any, settings: HooksSettings, hooks: list[HookSpec]) -> None:
    for hook in hooks:
        payload = {**_base(run, "run_stop"), "goal": run.goal, "status": result.status,
                   "output": result.output, "reason": result.reason, "steps": result.steps}
        await _ask(hook, payload, run, settings)
