"""Budgets and loop detection for Loom runs (loop-stage hooks).

- ``loom_should_stop`` stops a run whose token, wall-clock or cost budget
  is used up (the profile's ``max_total_tokens``, ``max_wall_seconds``,
  ``max_usd``, or the overrides in ``[settings.loop-guard]``);
- ``loom_wrap_step`` stops a run that repeats the same tool call
  ``repeat_limit`` times in a row, or cycles through the same calls
  (A-B-A-B);
- ``loom_collect_injections`` warns the model once per budget when
  ``warn_at`` (80%) of it is used, so it can wrap up.

Every stop ends the run with status ``stopped`` and the reason in
``RunResult.reason``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from loom.hookspecs import hookimpl
from loom.records import Record, SettingsRecord

from loom_loop_guard.budgets import BudgetUse, budget_name, budget_uses
from loom_loop_guard.loops import find_loop, signature
from loom_loop_guard.settings import LoopGuardSettings

#: The ``[settings.<name>]`` table this plugin reads.
SETTINGS_NAME = "loop-guard"

__all__ = ["SETTINGS_NAME", "LoopGuardSettings", "loom_collect_injections",
           "loom_register_settings", "loom_should_stop", "loom_tool_finished",
           "loom_wrap_step"]


@dataclass
class GuardState:
    """What the guard remembers about one run."""

    calls: list[str] = field(default_factory=list)
    unchecked: bool = False
    warned: set[str] = field(default_factory=set)


def _settings(run: Any) -> LoopGuardSettings:
    settings = run.settings(SETTINGS_NAME)
    return settings if isinstance(settings, LoopGuardSettings) else LoopGuardSettings()


def _state(run: Any) -> GuardState:
    state = run.state.get(SETTINGS_NAME)
    if not isinstance(state, GuardState):
        state = GuardState()
        run.state[SETTINGS_NAME] = state
    return state


@hookimpl
def loom_register_settings() -> list[Record]:
    """Declare ``[settings.loop-guard]`` (see :class:`LoopGuardSettings`)."""
    return [SettingsRecord(name=SETTINGS_NAME, settings=LoopGuardSettings,
                           description="budget overrides and loop detection")]


@hookimpl
def loom_should_stop(run: Any) -> str | None:
    """Stop the run when a token, wall-clock or cost budget is used up."""
    for use in budget_uses(run, _settings(run)):
        if use.exhausted:
            return f"{budget_name(use.key)} exhausted: {use.describe()} used ({use.key})"
    return None


@hookimpl
def loom_tool_finished(call: Any, run: Any) -> None:
    """Remember each tool call (denied ones too) for loop detection."""
    state = _state(run)
    state.calls.append(signature(call.name, call.arguments))
    state.unchecked = True


@hookimpl
async def loom_wrap_step(step: int, run: Any, call_next: Callable[[int], Awaitable[Any]]) -> Any:
    """Run the step, then stop the run if its tool calls have started looping."""
    outcome = await call_next(step)
    settings = _settings(run)
    state = _state(run)
    if settings.loop_detection and state.unchecked and outcome.stop is None:
        state.unchecked = False
        reason = find_loop(state.calls, repeat_limit=settings.repeat_limit,
                           max_cycle_length=settings.max_cycle_length,
                           cycle_repeats=settings.cycle_repeats)
        if reason is not None:
            outcome.stop = reason
    return outcome


@hookimpl
def loom_collect_injections(run: Any) -> list[str] | None:
    """Warn the model once per budget when ``warn_at`` of it is used."""
    settings = _settings(run)
    if not settings.warn:
        return None
    state = _state(run)
    uses = [*budget_uses(run, settings),
            BudgetUse("max_steps", run.step, run.profile.max_steps, "steps")]
    notes = []
    for use in uses:
        if use.key in state.warned or use.fraction < settings.warn_at or use.exhausted:
            continue  # an exhausted budget stops the run before the model reads a warning
        state.warned.add(use.key)
        notes.append(f"Budget warning: {use.describe()} used ({use.fraction:.0%} of the "
                     f"{budget_name(use.key)}). Wrap up now: finish the most important part "
                     "and give your final answer before the budget runs out.")
    return notes or None
