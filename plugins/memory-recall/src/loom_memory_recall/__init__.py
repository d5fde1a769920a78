"""Loom memory: the four kinds of memory an agent has.

- **session** — a session's conversation outlives its process: when
  ``create_session(id)`` is called for an earlier session's id in a new
  runtime, ``loom_load_session`` reads it back from the run store;
- **working** — the goal, plan and pinned state of the run (checkpointed with
  the context window); the agent reads it with the ``working_memory`` tool;
- **semantic** — facts and notes with embeddings, searched by meaning
  (an offline hashing embedder by default);
- **persistent** — what the agent (``remember``/``forget`` tools) or a person
  (:class:`MemoryAPI`, ``loom memory``) chose to keep, with provenance; the
  memories most relevant to a goal fill the memory partition when a run
  starts (``loom_recall``).

Memories live in one SQLite file, ``.loom/memory.db`` by default
(``[settings.memory]``); conversations stay in the run store. This module is the entry point and stays
import-light: numpy and the database load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loom.hookspecs import hookimpl
from loom.messages import Message
from loom.records import MemoryRecord, Record, SettingsRecord

from loom_memory_recall.errors import MemoryNotFound, MemoryVersionError, RecallError
from loom_memory_recall.settings import DEFAULT_PATH, MemorySettings

if TYPE_CHECKING:
    from loom.run import Run, RunResult

    from loom_memory_recall.api import MemoryAPI
    from loom_memory_recall.embedders import HashingEmbedder
    from loom_memory_recall.items import Hit, MemoryItem

__all__ = [
    "DEFAULT_PATH",
    "HashingEmbedder",
    "Hit",
    "MemoryAPI",
    "MemoryItem",
    "MemoryNotFound",
    "MemorySettings",
    "MemoryVersionError",
    "RecallError",
]

_LAZY = {
    "MemoryAPI": "loom_memory_recall.api",
    "HashingEmbedder": "loom_memory_recall.embedders",
    "Hit": "loom_memory_recall.items",
    "MemoryItem": "loom_memory_recall.items",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'loom_memory_recall' has no attribute {name!r}")


@hookimpl
def loom_register_settings() -> list[Record]:
    """Declare ``[settings.memory]``."""
    return [SettingsRecord(name="memory", settings=MemorySettings,
                           description="memory database, embedder and recall")]


@hookimpl
def loom_register_memories() -> list[Record]:
    """Register the four memory kinds this plugin provides."""
    return [
        MemoryRecord(name="session", description="a session's conversation, kept across processes"),
        MemoryRecord(name="working", description="goal, plan and pinned state; working_memory tool"),
        MemoryRecord(name="semantic", description="facts and notes searched by meaning"),
        MemoryRecord(name="persistent",
                     description="facts kept on purpose, with provenance; remember/recall/forget"),
    ]


@hookimpl
def loom_register_tools() -> list[Record]:
    """Register ``remember``, ``recall``, ``forget`` and ``working_memory``."""
    from loom_memory_recall.tools import TOOLS

    return list(TOOLS)


@hookimpl
async def loom_recall(goal: str, run: Run) -> list[str]:
    """The memories most relevant to the goal, with provenance, for the memory partition."""
    from loom_memory_recall.service import recall_lines

    return await recall_lines(goal, run)


@hookimpl
async def loom_load_session(session_id: str, run: Run) -> list[Message] | None:
    """Give back the conversation of a session from an earlier process (from the run store)."""
    from loom_memory_recall.service import load_session

    return await load_session(session_id, run)


@hookimpl
async def loom_run_finished(run: Run, result: RunResult) -> None:
    """Keep the decisions, constraints, values and errors of the run's fact ledger as notes."""
    from loom_memory_recall.service import keep_run

    await keep_run(run)
