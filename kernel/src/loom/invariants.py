"""Context edits and the invariants the kernel enforces on every one.

A compression plugin proposes a :class:`ContextEdit`; :func:`check_edit`
returns the list of violated invariants (empty means the edit may be
applied). The kernel rejects and reports an edit with any violation.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from loom.context import ContextWindow
from loom.messages import Message


class ContextEdit(BaseModel):
    """A proposed replacement of the history partition.

    ``pinned`` adds or updates pinned working state (never removes it).
    ``lossy`` edits must carry at least one ``restore_refs`` entry saying
    where the dropped content can be restored from.
    """

    level: str
    reason: str
    history: list[Message]
    pinned: dict[str, str] = Field(default_factory=dict)
    lossy: bool = True
    restore_refs: list[str] = Field(default_factory=list)


def tool_pairing_violations(history: list[Message]) -> list[str]:
    """Every tool result follows the assistant message holding its call, and
    every call in a non-final assistant message is answered by the next message."""
    problems: list[str] = []
    for i, message in enumerate(history):
        if message.role == "tool":
            prev = history[i - 1] if i else None
            calls = {c.id for c in prev.tool_calls} if prev and prev.role == "assistant" else set()
            for result in message.tool_results:
                if result.call_id not in calls:
                    problems.append(f"tool result {result.call_id!r} at {i} has no call before it")
        elif message.role == "assistant" and message.tool_calls and i + 1 < len(history):
            nxt = history[i + 1]
            answered = {r.call_id for r in nxt.tool_results} if nxt.role == "tool" else set()
            for call in message.tool_calls:
                if call.id not in answered:
                    problems.append(f"tool call {call.id!r} at {i} is not answered next")
    return problems


def _turn_starts(history: list[Message]) -> list[int]:
    return [i for i, m in enumerate(history) if m.role in ("user", "assistant")]


def check_edit(window: ContextWindow, edit: ContextEdit) -> list[str]:
    """Return every invariant ``edit`` would break if applied to ``window``."""
    problems = tool_pairing_violations(edit.history)
    new_texts = {m.text_content for m in edit.history if m.role == "user"}
    for message in window.history:
        if message.role == "user" and not message.meta.get("delta") \
                and message.text_content not in new_texts:
            problems.append(f"user message dropped: {message.text_content[:60]!r}")
    for key in window.pinned:
        if key in edit.pinned and not edit.pinned[key].strip():
            problems.append(f"pinned state {key!r} emptied")
    starts = _turn_starts(window.history)
    keep = window.protected_turns
    if keep and starts:
        cut = starts[-keep] if len(starts) >= keep else 0
        tail = window.history[cut:]
        if edit.history[len(edit.history) - len(tail):] != tail or len(edit.history) < len(tail):
            problems.append(f"the last {keep} turns are not kept verbatim")
    if edit.lossy and not edit.restore_refs:
        problems.append("a lossy edit must leave a restore reference")
    return problems
