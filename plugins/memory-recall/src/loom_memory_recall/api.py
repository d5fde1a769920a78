"""The Python API over the memory database: :class:`MemoryAPI`.

::

    from loom_memory_recall import MemoryAPI

    with MemoryAPI(".loom/memory.db") as memory:
        item = memory.add("The staging database listens on port 6842", tags=["db"])
        for hit in memory.search("which port does staging use?"):
            print(hit.score, hit.item.line())
        memory.forget(item.id)

Every method is synchronous and safe to call from several threads (one at a
time); inside an event loop call them through ``asyncio.to_thread``. The
vectors of every memory are kept in memory (:class:`~loom_memory_recall.index.VectorIndex`),
loaded on first use and brought up to date when another process changed the file.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from loom_memory_recall.database import MemoryDatabase
from loom_memory_recall.embedders import Embedder, load_embedder
from loom_memory_recall.errors import MemoryNotFound, RecallError
from loom_memory_recall.index import KINDS, VectorIndex
from loom_memory_recall.items import Author, Hit, Kind, MemoryItem, clean_tags, digest, normalise_text
from loom_memory_recall.settings import DEFAULT_PATH, MemorySettings

#: The longest text one memory may hold (characters).
MAX_TEXT = 8_000
_COLUMNS = "id, text, kind, tags, author, session_id, run_id, created_at, source"
_CHUNK = 500


class MemoryAPI:
    """Persistent and semantic memory in one SQLite file; see the module docstring.

    ``embedder`` is an embedder name (``"hashing"`` by default) or an
    :class:`~loom_memory_recall.embedders.Embedder` object.
    """

    def __init__(self, path: str | Path = DEFAULT_PATH, *, embedder: str | Embedder = "hashing",
                 busy_timeout: float = 30.0) -> None:
        self.db = MemoryDatabase(path, busy_timeout=busy_timeout)
        self._embedder = embedder if not isinstance(embedder, str) else None
        self._embedder_name = embedder if isinstance(embedder, str) else embedder.name
        self._index: VectorIndex | None = None
        self._seen_version = -1

    @classmethod
    def from_settings(cls, settings: MemorySettings) -> MemoryAPI:
        """The memory described by ``[settings.memory]``."""
        return cls(settings.path, embedder=settings.embedder, busy_timeout=settings.busy_timeout)

    def __repr__(self) -> str:
        return f"<MemoryAPI {self.db.path} embedder={self._embedder_name}>"

    def __enter__(self) -> MemoryAPI:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the file and drop the in-memory index."""
        with self.db.lock:
            self.db.close()
            self._index = None
            self._seen_version = -1

    @property
    def path(self) -> Path:
        """The database file."""
        return self.db.path

    def exists(self) -> bool:
        """Whether the database file exists (reading a missing one finds nothing, without making it)."""
        return self.db.is_open or self.db.path.exists()

    @property
    def embedder(self) -> Embedder:
        """The embedder (loaded on first use)."""
        if self._embedder is None:
            self._embedder = load_embedder(self._embedder_name)
        return self._embedder

    # ------------------------------------------------------------------ index

    def _ready(self) -> VectorIndex:
        """The index, loaded on first use and brought up to date after another writer's commit."""
        if self._index is None:
            index = VectorIndex(self.embedder.dims)
            self._seen_version = self.db.data_version()
            self._load(index, self.db.rows("SELECT id, kind, embedder, vector FROM memories "
                                           "ORDER BY id"), write=True)
            self._index = index
        elif self.db.data_version() != self._seen_version:
            self._seen_version = self.db.data_version()
            self._catch_up(self._index)
        return self._index

    def _catch_up(self, index: VectorIndex) -> None:
        """Take another writer's changes: new rows, deleted rows, changed kinds."""
        present: dict[int, str] = dict(self.db.rows("SELECT id, kind FROM memories"))
        index.remove([int(i) for i in index.ids if int(i) not in present])
        for memory_id in index.ids.tolist():
            index.set_kind(memory_id, present[memory_id])
        missing = sorted(set(present) - set(index.ids.tolist()))
        for start in range(0, len(missing), _CHUNK):
            chunk = missing[start:start + _CHUNK]
            self._load(index, self.db.rows(
                "SELECT id, kind, embedder, vector FROM memories WHERE id IN "
                f"({','.join('?' * len(chunk))})", chunk), write=False)

    def _load(self, index: VectorIndex, rows: list[tuple[Any, ...]], *, write: bool) -> None:
        """Add rows ``(id, kind, embedder, vector)``; rows another embedder made are embedded
        again (and saved when ``write``: the first load after the embedder changed)."""
        if not rows:
            return
        name, size = self.embedder.name, self.embedder.dims * 4
        stale = [r[0] for r in rows if r[2] != name or len(r[3]) != size]
        vectors = self._reembed(stale, write=write) if stale else {}
        matrix = np.frombuffer(b"".join(r[3] if r[0] not in vectors else vectors[r[0]].tobytes()
                                        for r in rows), dtype=np.float32)
        index.add([r[0] for r in rows], [r[1] for r in rows], matrix.reshape(len(rows), -1))

    def _reembed(self, ids: list[int], *, write: bool) -> dict[int, npt.NDArray[np.float32]]:
        """Vectors for memories embedded by another embedder (saved when ``write``)."""
        embedder = self.embedder
        out: dict[int, npt.NDArray[np.float32]] = {}
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start:start + _CHUNK]
            rows = self.db.rows(
                f"SELECT id, text FROM memories WHERE id IN ({','.join('?' * len(chunk))})", chunk)
            vectors = embedder.embed([text for _, text in rows])
            out.update({memory_id: vectors[i] for i, (memory_id, _) in enumerate(rows)})
            if write:
                updates = [(embedder.name, vectors[i].tobytes(), memory_id)
                           for i, (memory_id, _) in enumerate(rows)]

                def work(conn: sqlite3.Connection, updates: list[tuple[Any, ...]] = updates) -> None:
                    conn.executemany("UPDATE memories SET embedder = ?, vector = ? WHERE id = ?",
                                     updates)
                self.db.write(work)
        return out

    # ------------------------------------------------------------------ write

    def add(self, text: str, *, tags: Iterable[str] | None = None, kind: Kind = "fact",
            author: Author = "user", session_id: str = "", run_id: str = "",
            source: str = "") -> MemoryItem:
        """Keep ``text``; returns the memory (the existing one when the same text is kept
        already: its tags are merged, and a note kept again as a fact becomes a fact)."""
        return self.add_many([text], tags=tags, kind=kind, author=author, session_id=session_id,
                             run_id=run_id, source=source)[0]

    def add_many(self, texts: Sequence[str], *, tags: Iterable[str] | None = None,
                 kind: Kind = "fact", author: Author = "user", session_id: str = "",
                 run_id: str = "", source: str = "") -> list[MemoryItem]:
        """Keep many texts in one transaction (one embedding batch); one memory per text."""
        if kind not in KINDS:
            raise RecallError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
        if author not in ("agent", "user"):
            raise RecallError(f"author must be 'agent' or 'user', got {author!r}")
        cleaned = [_check_text(t) for t in texts]
        tag_tuple = clean_tags(list(tags) if tags is not None else None)
        now = time.time()
        with self.db.lock:
            index = self._ready()
            digests = [digest(t) for t in cleaned]
            known = self._by_digest(sorted(set(digests)))
            todo: dict[str, str] = {}
            for text, key in zip(cleaned, digests, strict=True):
                if key not in known:
                    todo.setdefault(key, text)
            vectors = self.embedder.embed(list(todo.values())) if todo else None
            name = self.embedder.name

            def work(conn: sqlite3.Connection) -> dict[str, MemoryItem]:
                made: dict[str, MemoryItem] = {}
                for row, (key, text) in enumerate(todo.items()):
                    assert vectors is not None
                    cursor = conn.execute(
                        "INSERT INTO memories (kind, text, tags, author, session_id, run_id, "
                        "created_at, source, digest, embedder, vector) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (kind, text, json.dumps(tag_tuple), author, session_id, run_id, now,
                         source, key, name, vectors[row].tobytes()))
                    assert cursor.lastrowid is not None
                    made[key] = MemoryItem(cursor.lastrowid, text, kind, tag_tuple, author,
                                           session_id, run_id, now, source)
                for key in {k for k in digests if k in known}:
                    made[key] = _merge(conn, known[key], tag_tuple, kind, author, session_id,
                                       run_id, now, source)
                return made

            made = self.db.write(work)
            if todo:
                assert vectors is not None
                ids = [made[key].id for key in todo]
                index.add(ids, [kind] * len(ids), vectors)
            for key in known:
                if made[key].kind != known[key].kind:
                    index.set_kind(made[key].id, made[key].kind)
            return [made[key] for key in digests]

    def _by_digest(self, keys: list[str]) -> dict[str, MemoryItem]:
        found: dict[str, MemoryItem] = {}
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start:start + _CHUNK]
            rows = self.db.rows(f"SELECT digest, {_COLUMNS} FROM memories WHERE digest IN "
                                f"({','.join('?' * len(chunk))})", chunk)
            found.update({row[0]: _item(row[1:]) for row in rows})
        return found

    def forget(self, memory_id: int) -> MemoryItem:
        """Delete a memory; returns what it was. Unknown ids raise MemoryNotFound."""
        with self.db.lock:
            index = self._ready()

            def work(conn: sqlite3.Connection) -> MemoryItem | None:
                row = conn.execute(f"SELECT {_COLUMNS} FROM memories WHERE id = ?",
                                   (memory_id,)).fetchone()
                if row is not None:
                    conn.execute("DELETE FROM memories WHERE id = ?", (memory_id,))
                return _item(row) if row is not None else None

            item = self.db.write(work)
            if item is None:
                raise MemoryNotFound(f"no memory with id {memory_id} in {self.db.path}")
            index.remove([memory_id])
            return item

    # ------------------------------------------------------------------- read

    def search(self, query: str, k: int = 5, *, min_score: float | None = None,
               kinds: Iterable[Kind] | None = None,
               tags: Iterable[str] | None = None) -> list[Hit]:
        """The ``k`` memories most similar to ``query``, best first.

        ``min_score`` drops weaker matches (cosine, -1 … 1); ``kinds`` keeps
        only facts or notes; ``tags`` keeps memories with any of these tags.
        """
        if k < 1:
            raise RecallError(f"k must be at least 1, got {k}")
        if not self.exists():
            return []
        vector = self.embedder.embed([query])[0]
        if not vector.any():
            return []
        with self.db.lock:
            index = self._ready()
            allowed = self._tagged(clean_tags(list(tags))) if tags is not None else None
            found = index.search(vector, k, kinds=list(kinds) if kinds is not None else None,
                                 allowed=allowed)
            if min_score is not None:
                found = [(i, s) for i, s in found if s >= min_score]
            items = self._items([i for i, _ in found])
        return [Hit(items[i], s) for i, s in found if i in items]

    def _tagged(self, tags: tuple[str, ...]) -> npt.NDArray[np.int64]:
        if not tags:
            return np.zeros(0, dtype=np.int64)
        rows = self.db.rows("SELECT DISTINCT m.id FROM memories m, json_each(m.tags) t WHERE "
                            f"t.value IN ({','.join('?' * len(tags))})", tags)
        return np.asarray([r[0] for r in rows], dtype=np.int64)

    def _items(self, ids: list[int]) -> dict[int, MemoryItem]:
        if not ids:
            return {}
        rows = self.db.rows(
            f"SELECT {_COLUMNS} FROM memories WHERE id IN ({','.join('?' * len(ids))})", ids)
        return {row[0]: _item(row) for row in rows}

    def get(self, memory_id: int) -> MemoryItem:
        """One memory by id (MemoryNotFound when there is none)."""
        found = self._items([memory_id]) if self.exists() else {}
        if memory_id not in found:
            raise MemoryNotFound(f"no memory with id {memory_id} in {self.db.path}")
        return found[memory_id]

    def recent(self, limit: int = 50, *, kind: Kind | None = None,
               tag: str | None = None) -> list[MemoryItem]:
        """The most recent memories first (optionally of one kind, or with one tag)."""
        if not self.exists():
            return []
        where: list[str] = []
        params: list[Any] = []
        if kind is not None:
            where.append("kind = ?")
            params.append(kind)
        if tag is not None:
            where.append("EXISTS (SELECT 1 FROM json_each(memories.tags) WHERE value = ?)")
            params.append(tag)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        rows = self.db.rows(f"SELECT {_COLUMNS} FROM memories {clause} "
                            "ORDER BY created_at DESC, id DESC LIMIT ?", [*params, limit])
        return [_item(row) for row in rows]

    def count(self) -> int:
        """How many memories there are."""
        if not self.exists():
            return 0
        row = self.db.row("SELECT COUNT(*) FROM memories")
        return int(row[0]) if row else 0


def _check_text(text: object) -> str:
    if not isinstance(text, str):
        raise RecallError(f"a memory's text must be a string, got {type(text).__name__}")
    cleaned = normalise_text(text)
    if not cleaned:
        raise RecallError("a memory's text is empty")
    if len(cleaned) > MAX_TEXT:
        raise RecallError(f"a memory's text has {len(cleaned)} characters; at most {MAX_TEXT} "
                          "fit: keep the fact itself, not the document it came from")
    return cleaned


def _item(row: Sequence[Any]) -> MemoryItem:
    memory_id, text, kind, tags, author, session_id, run_id, created_at, source = row
    return MemoryItem(memory_id, text, kind, tuple(json.loads(tags)), author, session_id, run_id,
                      created_at, source)


def _merge(conn: sqlite3.Connection, old: MemoryItem, tags: tuple[str, ...], kind: Kind,
           author: Author, session_id: str, run_id: str, now: float, source: str) -> MemoryItem:
    """Keep the same text again: merge tags; a note kept as a fact becomes that fact."""
    merged = clean_tags([*old.tags, *tags])
    if old.kind == "note" and kind == "fact":
        item = MemoryItem(old.id, old.text, "fact", merged, author, session_id, run_id, now, source)
    else:
        item = MemoryItem(old.id, old.text, old.kind, merged, old.author, old.session_id,
                          old.run_id, old.created_at, old.source)
    conn.execute("UPDATE memories SET kind = ?, tags = ?, author = ?, session_id = ?, run_id = ?, "
                 "created_at = ?, source = ? WHERE id = ?",
                 (item.kind, json.dumps(item.tags), item.author, item.session_id, item.run_id,
                  item.created_at, item.source, item.id))
    return item
