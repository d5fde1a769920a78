"""What a memory is: its text, kind, tags and provenance."""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["fact", "note"]
Author = Literal["agent", "user"]


@dataclass(frozen=True)
class MemoryItem:
    """One memory and where it came from.

    ``kind`` is ``"fact"`` for what the agent or a person chose to keep
    (persistent memory) and ``"note"`` for what was captured from a run (a
    fact-ledger line). ``author`` says who kept it, ``session_id`` and
    ``run_id`` where, ``created_at`` when (seconds since the epoch), and
    ``source`` the text it came from.
    """

    id: int
    text: str
    kind: Kind = "fact"
    tags: tuple[str, ...] = ()
    author: Author = "user"
    session_id: str = ""
    run_id: str = ""
    created_at: float = field(default_factory=time.time)
    source: str = ""

    def when(self) -> str:
        """``created_at`` as a UTC date and time."""
        return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(self.created_at))

    def provenance(self) -> str:
        """Who kept it, where and when, in one phrase."""
        who = "the agent" if self.author == "agent" else "a user"
        verb = "kept" if self.kind == "fact" else "noted"
        where = []
        if self.session_id:
            where.append(f"session {self.session_id}")
        if self.run_id:
            where.append(f"run {self.run_id}")
        place = f" in {', '.join(where)}" if where else ""
        tags = f"; tags: {', '.join(self.tags)}" if self.tags else ""
        return f"{self.kind}, {verb} by {who}{place} on {self.when()}{tags}"

    def line(self) -> str:
        """The memory as one line of the memory partition."""
        return f"[memory {self.id}] {self.text} ({self.provenance()})"


@dataclass(frozen=True)
class Hit:
    """A memory found by a search, with its cosine similarity to the query."""

    item: MemoryItem
    score: float


def digest(text: str) -> str:
    """The identity of a memory's text: case and spacing do not make a new memory."""
    return hashlib.sha256(normalise_text(text).lower().encode()).hexdigest()


def normalise_text(text: str) -> str:
    """``text`` with runs of whitespace made single spaces, trimmed."""
    return re.sub(r"\s+", " ", text).strip()


def clean_tags(tags: object) -> tuple[str, ...]:
    """Tags as a tuple of unique, trimmed, non-empty strings (order kept)."""
    if tags is None:
        return ()
    if isinstance(tags, str):
        tags = [tags]
    if not isinstance(tags, list | tuple | set | frozenset):
        raise TypeError(f"tags must be a list of strings, got {type(tags).__name__}")
    seen: dict[str, None] = {}
    for tag in tags:
        if not isinstance(tag, str):
            raise TypeError(f"tags must be strings, got {tag!r}")
        if tag.strip():
            seen.setdefault(tag.strip(), None)
    return tuple(seen)
