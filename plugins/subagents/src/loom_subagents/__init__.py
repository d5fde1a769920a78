"""Sub-agents for Loom: the ``delegate`` tool and an in-process sub-agent manager.

The model calls ``delegate(goal, tools=None, read_only=False, max_steps=None)``;
the manager starts a child run for the goal with a fresh context and waits
for its answer, which comes back as the tool result. Several ``delegate``
calls in one turn run in parallel (up to ``max_concurrent``).

A child never exceeds its parent: the kernel narrows its profile (mode at
least as strict, tools a subset, budgets at most what the parent has left),
the permission tier gives it every parent rule, and each of its actions goes
through the same three harness tiers. Its approvals appear on the parent
(``run.pending_approvals``, ``approval.requested`` events with
``subagent``), so the person watching the parent answers them; cancelling
the parent cancels it; its token use and cost count towards the parent's.

``delegate`` declares the ``read`` effect: starting a sub-agent changes
nothing by itself, and everything the sub-agent does is judged on its own.
Its id is derived from the parent and the delegating call, so resuming an
interrupted parent continues the stored child instead of starting a new one.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from loom.errors import ToolError, did_you_mean
from loom.hookspecs import hookimpl
from loom.messages import ToolResultBlock
from loom.profile import AgentProfile
from loom.records import Record, SettingsRecord
from loom.run import Run
from loom.tools import current_call, tool

from loom_subagents.manager import (
    FORWARDED_KINDS,
    child_id,
    child_profile,
    depth_of,
    describe,
    spawn,
    start_child,
)
from loom_subagents.settings import SubagentSettings

#: The ``[settings.<name>]`` table this plugin reads.
SETTINGS_NAME = "subagents"
_SEMAPHORE = "subagents.semaphore"

__all__ = ["FORWARDED_KINDS", "SETTINGS_NAME", "SubagentSettings", "child_profile", "delegate",
           "depth_of", "loom_register_settings", "loom_register_tools", "loom_spawn_subagent",
           "spawn"]


def _settings(run: Any) -> SubagentSettings:
    settings = run.settings(SETTINGS_NAME)
    return settings if isinstance(settings, SubagentSettings) else SubagentSettings()


def _check_tools(run: Any, tools: list[str] | None) -> None:
    if tools is None:
        return
    available = sorted(run.tools)
    for name in tools:
        if name not in run.tools:
            raise ToolError(f"you have no tool {name!r}{did_you_mean(name, available)} to give a "
                            f"sub-agent; yours: {', '.join(available)}")


@tool(name="delegate", effects={"read"}, timeout=None, idempotent=True, blocking=False,
      output_cap=None)
async def delegate(goal: str, tools: list[str] | None = None, read_only: bool = False,
                   max_steps: int | None = None, run: Any = None) -> ToolResultBlock:
    """Hand a self-contained piece of work to a sub-agent and get its final answer back.

    The sub-agent starts with a fresh context holding only the goal you write,
    works with your tools and permissions (never more) and answers once.
    Several delegate calls in one turn run in parallel.

    Args:
        goal: everything the sub-agent needs: the task, relevant paths and facts, and what to report.
        tools: names of your tools it may use (default: all of yours).
        read_only: true to let it only read and propose (PLAN mode); it never has more rights than you.
        max_steps: its step budget (default from settings; never more than yours).
    """
    settings = _settings(run)
    depth = depth_of(run)
    if depth >= settings.max_depth:
        raise ToolError(f"a sub-agent at depth {depth} cannot delegate further "
                        f"(settings.subagents.max_depth = {settings.max_depth}); do the work yourself")
    _check_tools(run, tools)
    call = current_call()
    semaphore: asyncio.Semaphore = run.state.setdefault(
        _SEMAPHORE, asyncio.Semaphore(settings.max_concurrent))
    async with semaphore:
        child = await spawn(run, goal, mode="PLAN" if read_only else None, tools=tools, max_steps=max_steps,
                            run_id=child_id(run.id, call.id) if call is not None else None,
                            settings=settings)
        await run.emit("subagent.started", child=child.id, goal=goal, mode=child.profile.mode,
                       tools=child.profile.tools, max_steps=child.profile.max_steps, depth=depth + 1)
        try:
            async with asyncio.timeout(settings.timeout):
                result = await child.wait()
        except TimeoutError:
            child.cancel()
            result = replace(await child.wait(),
                             reason=f"timed out after {settings.timeout:g}s (settings.subagents.timeout)")
        except asyncio.CancelledError:
            child.cancel()
            raise
    run.usage = run.usage + child.usage
    await run.emit("subagent.finished", child=child.id, status=result.status, steps=result.steps,
                   reason=result.reason, error=result.error, usage=child.usage.model_dump())
    text, is_error = describe(result, child)
    return ToolResultBlock(call_id=call.id if call is not None else "", name="delegate",
                           content=text, is_error=is_error)


@hookimpl
def loom_register_tools() -> list[Record]:
    """Register the ``delegate`` tool."""
    return [delegate]


@hookimpl
def loom_register_settings() -> list[Record]:
    """Declare ``[settings.subagents]`` (see :class:`SubagentSettings`)."""
    return [SettingsRecord(name=SETTINGS_NAME, settings=SubagentSettings,
                           description="sub-agent depth, concurrency, step budget and timeout")]


@hookimpl
async def loom_spawn_subagent(goal: str, run: Run, profile: AgentProfile | None,
                              run_id: str | None) -> Run:
    """Start the child in this process (see :func:`loom_subagents.manager.start_child`)."""
    return await start_child(goal, run, profile, run_id)
