"""The memory database's schema, as ordered migrations.

Each migration is ``(version, what, statements)``; the database records the
versions it has in ``memory_schema``. New tables or columns come as new
migrations at the end: never edit a released one.
"""

from __future__ import annotations

Migration = tuple[int, str, tuple[str, ...]]

MIGRATIONS: tuple[Migration, ...] = (
    (1, "memories with provenance and vectors", (
        """CREATE TABLE memories (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL,
            text TEXT NOT NULL,
            tags TEXT NOT NULL,
            author TEXT NOT NULL,
            session_id TEXT NOT NULL,
            run_id TEXT NOT NULL,
            created_at REAL NOT NULL,
            source TEXT NOT NULL,
            digest TEXT NOT NULL UNIQUE,
            embedder TEXT NOT NULL,
            vector BLOB NOT NULL
        )""",
        "CREATE INDEX memories_by_kind ON memories (kind, created_at)",
    )),
)

#: The schema version this code writes and understands.
LATEST = MIGRATIONS[-1][0]

VERSION_TABLE = """CREATE TABLE IF NOT EXISTS memory_schema (
    version INTEGER PRIMARY KEY,
    description TEXT NOT NULL,
    applied_at REAL NOT NULL
)"""
