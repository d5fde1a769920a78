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
    """A session's earlier conversation, read from the run store: the history of the last
    checkpoint of the session's latest run (None without a store or such a run)."""
    settings = settings_of(run)
    store = run.runtime.store
    if not settings.sessions or store is None:
        return None
    for info in await store.list_runs(settings.session_lookback):
        if info.session_id != session_id or info.parent_id or info.run_id == run.id:
            continue
        stored = await store.load_run(info.run_id)
        if stored is None or stored.checkpoint is None:
            continue  # ended before its first step: look further back
        history = stored.checkpoint.window.get("history", [])
        return [Message.model_validate(m) for m in history if not m.get("meta", {}).get("delta")]
    return None


async def keep_run(run: Run) -> None:
    """At the end of a run: keep the decisions, constraints, values and errors of its
    fact ledger as notes."""
    settings = settings_of(run)
    notes = ledger_notes(run.window.pinned.get(LEDGER_KEY, "")) if settings.capture_ledger else []
    if not notes:
        return
    memory = memory_for(run)
    source = f"fact ledger of the run for: {run.goal[:200]}"
    for text, origin in notes:
        await asyncio.to_thread(
            memory.add, text, kind="note", author="agent", session_id=run.session.id,
            run_id=run.id, source=source + (f" (from {origin})" if origin else ""))


def ledger_notes(ledger: str) -> list[tuple[str, str]]:
    """``(text, source)`` of the fact-ledger lines worth keeping (decisions,
    constraints, values, errors)."""
    notes = []
    for line in ledger.splitlines():
        match = _LEDGER_LINE.match(line.strip())
        if match:
            notes.append((f"{match.group(1)}: {match.group(2)}", match.group(3) or ""))
    return notes
