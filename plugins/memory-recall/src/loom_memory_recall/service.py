"""One :class:`~loom_memory_recall.api.MemoryAPI` per runtime, and what the hooks do with it.

A runtime's memory is built from its ``[settings.memory]`` on first use and
dropped with the runtime. Every database call runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import re
import threading
import weakref
from typing import TYPE_CHECKING, Any

from loom.messages import Message

from loom_memory_recall.settings import MemorySettings

if TYPE_CHECKING:
    from loom.run import Run

    from loom_memory_recall.api import MemoryAPI

#: The settings table (``[settings.memory]``) and settings record name.
SETTINGS_NAME = "memory"
#: The pinned key the compression plugins keep their fact ledger under.
LEDGER_KEY = "Fact ledger"
#: Ledger lines worth keeping beyond the run: ``- kind: text — from source, ref …``.
_LEDGER_LINE = re.compile(r"^- (decision|constraint|value|error): (.+?)(?: — from (.*?))?"
                          r"(?:, ref [0-9a-f]{12}/[\w.\-]+)?$")

_memories: weakref.WeakKeyDictionary[Any, MemoryAPI] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def settings_of(run: Run) -> MemorySettings:
    """The run's ``[settings.memory]`` (defaults when the runtime has none)."""
    settings = run.runtime.plugins.settings_for(SETTINGS_NAME)
    return settings if isinstance(settings, MemorySettings) else MemorySettings()


def memory_for(run: Run) -> MemoryAPI:
    """The memory of the run's runtime (made on first use; the file opens lazily)."""
    runtime = run.runtime
    with _lock:
        memory = _memories.get(runtime)
        if memory is None:
            from loom_memory_recall.api import MemoryAPI  # numpy loads with the first use

            memory = MemoryAPI.from_settings(settings_of(run))
            _memories[runtime] = memory
        return memory


async def recall_lines(goal: str, run: Run) -> list[str]:
    """The memories most relevant to ``goal``, one line each with provenance."""
    settings = settings_of(run)
    if settings.k == 0 or not goal.strip():
        return []
    memory = memory_for(run)
    hits = await asyncio.to_thread(memory.search, goal, settings.k, min_score=settings.min_score)
    return [hit.item.line() for hit in hits]


async def load_session(session_id: str, run: Run) -> list[Message] | None:
    """A session's kept conversation, or None."""
    if not settings_of(run).sessions:
        return None
    found = await asyncio.to_thread(memory_for(run).load_session, session_id)
    return [Message.model_validate(m) for m in found] if found else None


async def keep_run(run: Run) -> None:
    """At the end of a run: keep the session's conversation and the ledger's notes."""
    settings = settings_of(run)
    memory = memory_for(run)
    if settings.sessions:
        history = [m.model_dump(mode="json") for m in run.window.history if not m.meta.get("delta")]
        await asyncio.to_thread(memory.save_session, run.session.id, run.id, history)
    if settings.capture_ledger:
        notes = ledger_notes(run.window.pinned.get(LEDGER_KEY, ""))
        for text, source in notes:
            await asyncio.to_thread(
                memory.add, text, kind="note", author="agent", session_id=run.session.id,
                run_id=run.id, source=f"fact ledger of the run for: {run.goal[:200]}"
                + (f" (from {source})" if source else ""))


def ledger_notes(ledger: str) -> list[tuple[str, str]]:
    """``(text, source)`` of the fact-ledger lines worth keeping (decisions,
    constraints, values, errors)."""
    notes = []
    for line in ledger.splitlines():
        match = _LEDGER_LINE.match(line.strip())
        if match:
            notes.append((f"{match.group(1)}: {match.group(2)}", match.group(3) or ""))
    return notes
