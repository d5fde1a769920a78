"""Starting sub-agents in this process, and what a delegating agent gets back.

:func:`spawn` asks ``loom_spawn_subagent`` for a child (so an installed
override, say a distributed executor, is used); :func:`start_child` is this
plugin's own implementation: the child is a kernel :class:`~loom.run.Run`
with ``parent`` set, in a session of its own, so the kernel narrows its
profile and the permission tier gives it the parent's rules.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from typing import Any

from loom.errors import LoomError
from loom.profile import AgentProfile
from loom.run import Run, RunResult

from loom_subagents.settings import SubagentSettings

#: Child events shown on the parent too, so whoever watches the parent can answer them.
FORWARDED_KINDS = frozenset({"approval.requested", "approval.resolved"})
_FORWARDERS = "subagents.forwarders"


def depth_of(run: Any) -> int:
    """How many parents ``run`` has (0 for a top-level run)."""
    depth = 0
    parent = getattr(run, "parent", None)
    while parent is not None:
        depth += 1
        parent = getattr(parent, "parent", None)
    return depth


def child_id(parent_id: str, call_id: str) -> str:
    """A child's id derived from its parent and the delegating call: stable across a resume."""
    return hashlib.sha256(f"{parent_id}:{call_id}".encode()).hexdigest()[:16]


def _tokens(run: Any) -> int:
    usage = run.usage
    return int(usage.input_tokens + usage.output_tokens + usage.cached_tokens + usage.cache_write_tokens)


def child_profile(run: Any, settings: SubagentSettings, *, mode: str | None = None,
                  tools: list[str] | None = None, max_steps: int | None = None,
                  system_prompt: str | None = None) -> AgentProfile:
    """The profile asked for a child of ``run``: the parent's, with the sub-agent
    instructions, the asked mode/tools/steps and what is left of the parent's budgets.

    The kernel narrows it again by the parent's profile when the child is
    built, so nothing asked here can widen it.
    """
    parent: AgentProfile = run.profile
    updates: dict[str, Any] = {
        "name": f"{parent.name}/sub",
        "system_prompt": system_prompt or f"{parent.system_prompt}\n\n{settings.instructions}",
        "max_steps": max_steps or settings.max_steps,
    }
    if mode is not None:
        updates["mode"] = mode
    if tools is not None:
        updates["tools"] = list(tools)
    if parent.max_total_tokens is not None:
        updates["max_total_tokens"] = max(1, parent.max_total_tokens - _tokens(run))
    if parent.max_usd is not None:
        updates["max_usd"] = max(1e-9, parent.max_usd - run.usage.cost_usd)
    if parent.max_wall_seconds is not None and run.started_at:
        elapsed = time.monotonic() - run.started_at
        updates["max_wall_seconds"] = max(0.001, parent.max_wall_seconds - elapsed)
    return AgentProfile.model_validate({**parent.model_dump(), **updates})


async def spawn(run: Run, goal: str, *, mode: str | None = None, tools: list[str] | None = None,
                max_steps: int | None = None, system_prompt: str | None = None,
                run_id: str | None = None, settings: SubagentSettings | None = None) -> Run:
    """Start a sub-agent of ``run`` for ``goal`` and return the started child run.

    Goes through ``loom_spawn_subagent`` so an installed override decides
    where the child runs. ``mode``, ``tools``, ``max_steps`` can only narrow
    the parent's; ``await child.wait()`` gives its :class:`~loom.run.RunResult`.
    """
    settings = settings or SubagentSettings()
    profile = child_profile(run, settings, mode=mode, tools=tools, max_steps=max_steps,
                            system_prompt=system_prompt)
    child = await run.runtime.plugins.dispatcher.first(
        "loom_spawn_subagent", goal=goal, run=run, profile=profile, run_id=run_id)
    if child is None:
        raise LoomError("no plugin started a sub-agent: every loom_spawn_subagent returned None")
    return child  # type: ignore[no-any-return]


async def start_child(goal: str, run: Run, profile: AgentProfile | None, run_id: str | None) -> Run:
    """Build and start the child in this process (continuing a stored one with ``run_id``)."""
    runtime = run.runtime
    stored = None
    if run_id is not None:
        store = await runtime.open_store()
        if store is not None:
            stored = await store.load_run(run_id)
    if stored is not None:
        session = runtime.sessions.get(stored.info.session_id) or runtime.create_session(
            stored.info.session_id)
        child = Run(session, stored.info.goal, run_id=run_id, parent=run, profile=profile).restore(stored)
    else:
        session = runtime.create_session()
        child = Run(session, goal, run_id=run_id, parent=run, profile=profile)
    session.runs.append(child)
    forwarder = asyncio.get_running_loop().create_task(
        _forward(child, run), name=f"loom-subagent-events-{child.id}")
    tasks: set[asyncio.Task[None]] = run.state.setdefault(_FORWARDERS, set())
    tasks.add(forwarder)
    forwarder.add_done_callback(tasks.discard)
    return child.start()


async def _forward(child: Run, parent: Run) -> None:
    """Show the child's approval events on the parent (with ``subagent`` = the asking run)."""
    # A resumed child replays its stored events first; only approvals asked in this process matter.
    resumed = child.persistence.resumed_from
    first_live = len(resumed.events) if resumed is not None else 0
    async for event in child.events():
        if event.kind in FORWARDED_KINDS and event.seq >= first_live:
            await parent.emit(event.kind, **{"subagent": child.id, **event.data})


def describe(result: RunResult, child: Run) -> tuple[str, bool]:
    """The tool result text for a finished child, and whether it is an error."""
    steps = f"{result.steps} step{'s' if result.steps != 1 else ''}"
    header = f"sub-agent {child.id} {result.status} after {steps}"
    if result.status == "succeeded":
        return f"{header}. Its answer:\n{result.output}", False
    if result.status == "stopped":
        return f"{header} ({result.reason}). Its last answer:\n{result.output or '(none)'}", False
    detail = result.error or result.reason or "no reason given"
    return f"{header}: {detail}", True
