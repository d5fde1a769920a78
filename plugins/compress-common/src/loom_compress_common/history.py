"""Reading a history the way the kernel's invariants see it.

- :func:`protected_start` — where the verbatim tail begins (the same cut
  :func:`loom.invariants.check_edit` makes);
- :func:`units` — the history as indivisible units: a user message, or an
  assistant message together with the tool message answering its calls;
- :func:`calls_by_id` — each tool call, for describing its result;
- :func:`scratch` / :func:`apply` — a throw-away copy of a window to chain
  several edits into one;
- :func:`is_kept_user` — user messages no level may drop (not Δ notes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from loom.context import ContextWindow
from loom.invariants import ContextEdit
from loom.messages import Message, ToolCallBlock
from loom.requests import Effect

#: Argument names that hold a file path, in order of preference.
PATH_KEYS = ("path", "file_path", "file", "filename", "filepath", "target")
_MUTATING_WORDS = (
    "write",
    "edit",
    "create",
    "patch",
    "apply",
    "replace",
    "delete",
    "remove",
    "move",
    "rename",
    "mkdir",
    "append",
    "insert",
    "save",
)


@dataclass(frozen=True)
class Unit:
    """Messages ``start`` (inclusive) to ``end`` (exclusive) that move together."""

    start: int
    end: int
    role: str


def turn_starts(history: list[Message]) -> list[int]:
    """Indices of user and assistant messages (the kernel's turn starts)."""
    return [i for i, m in enumerate(history) if m.role in ("user", "assistant")]


def protected_start(window: ContextWindow) -> int:
    """Index where the tail that must stay verbatim begins."""
    history = window.history
    keep = window.protected_turns
    starts = turn_starts(history)
    if not keep or not starts:
        return len(history)
    return starts[-keep] if len(starts) >= keep else 0


def is_kept_user(message: Message) -> bool:
    """A user message the invariants keep verbatim (everything but Δ notes)."""
    return message.role == "user" and not message.meta.get("delta")


def units(history: list[Message], end: int | None = None) -> list[Unit]:
    """Split ``history[:end]`` into units; a unit never straddles ``end``."""
    stop = len(history) if end is None else end
    out: list[Unit] = []
    i = 0
    while i < stop:
        message = history[i]
        j = i + 1
        if (
            message.role == "assistant"
            and message.tool_calls
            and j < len(history)
            and history[j].role == "tool"
        ):
            j += 1
        if j > stop:
            break
        out.append(Unit(i, j, message.role))
        i = j
    return out


def calls_by_id(history: list[Message]) -> dict[str, ToolCallBlock]:
    """Every tool call in ``history`` by id."""
    return {c.id: c for m in history if m.role == "assistant" for c in m.tool_calls}


def path_argument(arguments: dict[str, Any]) -> str | None:
    """The file path a tool call names, if any."""
    for key in PATH_KEYS:
        value = arguments.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def is_mutating(window: ContextWindow, name: str) -> bool:
    """Whether a tool changes things (from its spec's effects, else its name)."""
    for spec in window.tools:
        if spec.name == name:
            return bool(spec.effects & {Effect.MUTATE, Effect.DESTROY})
    lowered = name.lower()
    return any(word in lowered for word in _MUTATING_WORDS)


def scratch(window: ContextWindow) -> ContextWindow:
    """A copy of ``window`` sharing its estimator, for chaining edits."""
    copy = ContextWindow(
        system=window.system,
        goal=window.goal,
        window_tokens=window.window_tokens,
        output_reserve=window.output_reserve,
        cap=window.cap,
        shares=window.shares,
        estimator=window.estimator,
    )
    copy.skills = list(window.skills)
    copy.memory = list(window.memory)
    copy.pinned = dict(window.pinned)
    copy.plan = window.plan
    copy.tools = window.tools
    copy.history = list(window.history)
    copy.protected_turns = window.protected_turns
    return copy


def apply(window: ContextWindow, edit: ContextEdit | None) -> bool:
    """Apply ``edit`` to a scratch window (no checks, no events); True if it changed."""
    if edit is None:
        return False
    window.history = list(edit.history)
    window.pinned.update(edit.pinned)
    return True


def combine(
    level: str, reason: str, window: ContextWindow, before: ContextWindow, edits: list[ContextEdit]
) -> ContextEdit | None:
    """One edit that takes ``before`` to the chained result in ``window``."""
    if not edits:
        return None
    pinned = {k: v for k, v in window.pinned.items() if before.pinned.get(k) != v}
    refs: list[str] = []
    for edit in edits:
        refs.extend(r for r in edit.restore_refs if r not in refs)
    return ContextEdit(
        level=level,
        reason=reason,
        history=window.history,
        pinned=pinned,
        lossy=any(e.lossy for e in edits),
        restore_refs=refs,
    )
