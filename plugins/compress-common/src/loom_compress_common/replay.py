"""Replaying a history through compression levels, outside the agent loop.

For benchmarks and tests: :class:`Replay` feeds a history into a real
:class:`~loom.run.Run`'s window step by step and, after each step, does
what the kernel's Observe phase does — run the pressure levels whose
threshold ρ has reached, then renewal when ρ ≥ 1.0 — applying every edit
through :meth:`~loom.run.Run.apply_edit`, so the kernel's invariant checks
and events are the real ones. :func:`context_text` and
:func:`recoverable_text` render what the model sees and what the restore
store can bring back.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loom.context import ContextWindow
from loom.invariants import ContextEdit, check_edit
from loom.messages import Message, TextBlock, ToolCallBlock, ToolResultBlock
from loom.run import Run

from loom_compress_common.restore import render_item
from loom_compress_common.store import RestoreError, RestoreStore
from loom_compress_common.stubs import refs_in


def make_run(
    workspace: str | Path,
    *,
    goal: str = "the goal",
    window_tokens: int = 200_000,
    output_reserve: int = 0,
    protected_turns: int = 2,
    provider: Any = None,
    config: dict[str, Any] | None = None,
    plugins: Iterable[Any] = (),
) -> Run:
    """A real, unstarted :class:`~loom.run.Run` whose window levels can be pointed at.

    Its restore store lives under ``workspace``; ``provider`` defaults to a
    scripted model with an empty script; ``config`` is a loom.toml document.
    """
    from loom.api import AgentRuntime
    from loom.config import load_config
    from loom.profile import AgentProfile
    from loom.testing import ScriptedModel

    profile = AgentProfile(
        window_tokens=window_tokens, output_reserve=output_reserve, protected_turns=protected_turns
    )
    runtime = AgentRuntime(
        profile=profile,
        provider=provider or ScriptedModel([]),
        plugins=plugins,
        config=load_config(data=config or {}, environ={}),
        entry_points=False,
        workspace=workspace,
    )
    return Run(runtime.create_session(), goal)


def message_text(message: Message) -> str:
    """One message as plain text (text, calls with their JSON arguments, outputs)."""
    parts = []
    for block in message.content:
        if isinstance(block, TextBlock):
            parts.append(block.text)
        elif isinstance(block, ToolResultBlock):
            parts.append(block.content)
        elif isinstance(block, ToolCallBlock):
            parts.append(f"{block.name} {json.dumps(block.arguments)}")
    return "\n".join(parts)


def context_text(window: ContextWindow) -> str:
    """Everything the model sees: the system prompt (with pinned state) and the history."""
    return "\n".join([window.system_prompt(), *(message_text(m) for m in window.history)])


def recoverable_text(window: ContextWindow, store: RestoreStore, limit: int = 100_000) -> str:
    """The context plus every stored item reachable from its restore references."""
    text = context_text(window)
    parts = [text]
    pending = list(dict.fromkeys(refs_in(text)))
    seen: set[str] = set()
    while pending and len(seen) < limit:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            restored = render_item(store.get(current))
        except RestoreError:
            continue
        parts.append(restored)
        pending.extend(r for r in refs_in(restored) if r not in seen)
    return "\n".join(parts)


@dataclass
class Replay:
    """Feeds steps into ``run``'s window and compresses as the kernel would.

    ``compressors`` are ``(record, compressor)`` pairs as
    :meth:`loom.api.AgentRuntime.build_compressors` returns them.
    """

    run: Any
    compressors: list[tuple[Any, Any]]
    timings: dict[str, list[float]] = field(default_factory=dict)
    rejected: list[str] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)

    async def feed(self, steps: Iterable[list[Message]]) -> None:
        """Append each step's messages, then observe."""
        for messages in steps:
            self.run.window.history.extend(messages)
            await self.observe()

    async def observe(self) -> None:
        """The Observe phase: pressure levels, then renewal when ρ ≥ 1.0."""
        await self.trigger("pressure")
        if self.run.window.pressure() >= 1.0:
            await self.trigger("renewal")

    async def trigger(self, trigger: str) -> None:
        """Run the levels of one trigger in order, applying their edits."""
        window: ContextWindow = self.run.window
        for record, compressor in self.compressors:
            if record.trigger != trigger:
                continue
            settings = self.run.settings(record.name)
            threshold = getattr(settings, "threshold", record.threshold)
            if trigger == "pressure" and window.pressure() < threshold:
                continue
            await self.once(record.name, compressor)

    async def once(self, name: str, compressor: Any) -> ContextEdit | None:
        """Call one compressor, time it, check and apply its edit."""
        window: ContextWindow = self.run.window
        start = time.perf_counter()
        edit: ContextEdit | None = await compressor.compress(window, self.run)
        self.timings.setdefault(name, []).append(time.perf_counter() - start)
        if edit is None:
            return None
        problems = check_edit(window, edit)
        if problems:
            self.rejected.append(f"{name}: {'; '.join(problems)}")
        elif await self.run.apply_edit(edit):
            self.applied.append(name)
        return edit
