"""The agent's memory tools: ``remember``, ``recall``, ``forget`` and ``working_memory``."""

from __future__ import annotations

import asyncio
from typing import Any

from loom.tools import FunctionTool, tool

from loom_memory_recall.service import memory_for


async def _remember(text: str, run: Any, tags: list[str] | None = None) -> str:
    """Keep a fact for later tasks and sessions (it is recalled when it is relevant to a goal).

    Args:
        text: the fact, self-contained (say what it is about: "the staging database
            listens on port 6842", not "it is 6842").
        tags: optional labels to find it by.
    """
    memory = memory_for(run)
    item = await asyncio.to_thread(
        memory.add, text, tags=tags, kind="fact", author="agent", session_id=run.session.id,
        run_id=run.id, source=f"goal: {run.goal[:500]}")
    return f"Remembered as memory {item.id}."


async def _recall(query: str, run: Any, k: int = 5) -> str:
    """Search kept memories (facts and notes from earlier tasks and sessions) by meaning.

    Args:
        query: what you want to know.
        k: how many memories to return (1 to 50).
    """
    if not 1 <= k <= 50:
        raise ValueError(f"k must be between 1 and 50, got {k}")
    hits = await asyncio.to_thread(memory_for(run).search, query, k, min_score=0.0001)
    if not hits:
        return f"No memory matches {query!r}."
    lines = []
    for hit in hits:
        item = hit.item
        source = f"\n  source: {item.source[:200]}" if item.source else ""
        lines.append(f"[memory {item.id}] score {hit.score:.2f}: {item.text}\n"
                     f"  ({item.provenance()}){source}")
    return "\n".join(lines)


async def _forget(memory_id: int, run: Any) -> str:
    """Delete a kept memory for good (use the id shown as [memory N]).

    Args:
        memory_id: the memory's id.
    """
    item = await asyncio.to_thread(memory_for(run).forget, memory_id)
    return f"Forgot memory {item.id}: {item.text}"


def _working_memory(run: Any) -> str:
    """Show your working memory: the goal, the plan and the pinned state (fact ledger, notes)."""
    text = run.window.working_text()
    return text or "Working memory is empty."


remember: FunctionTool = tool(_remember, name="remember", effects={"read"}, timeout=60.0)
recall: FunctionTool = tool(_recall, name="recall", effects={"read"}, timeout=60.0)
forget: FunctionTool = tool(_forget, name="forget", effects={"mutate"}, timeout=60.0)
working_memory: FunctionTool = tool(_working_memory, name="working_memory", effects={"read"},
                                    blocking=False)

TOOLS: list[FunctionTool] = [remember, recall, forget, working_memory]
