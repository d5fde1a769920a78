"""The PostgreSQL schema, as ordered migrations (the same tables as the SQLite store).

Each migration is ``(version, what, statements)``; ``schema_version`` records
the applied versions. New tables come as new migrations at the end: never
edit a released one. Statements run with ``search_path`` set to the store's
schema, so they name no schema.
"""

from __future__ import annotations

Migration = tuple[int, str, tuple[str, ...]]

MIGRATIONS: tuple[Migration, ...] = (
    (1, "sessions, runs, events, checkpoints, responses, tool calls, approvals, artifacts", (
        """CREATE TABLE sessions (
            session_id TEXT PRIMARY KEY,
            created_at DOUBLE PRECISION NOT NULL,
            updated_at DOUBLE PRECISION NOT NULL
        )""",
        """CREATE TABLE runs (
            run_id TEXT PRIMARY KEY,
            n BIGINT GENERATED ALWAYS AS IDENTITY,
            session_id TEXT NOT NULL,
            parent_id TEXT,
            goal TEXT NOT NULL,
            profile TEXT NOT NULL,
            status TEXT NOT NULL,
            output TEXT NOT NULL,
            reason TEXT NOT NULL,
            error TEXT NOT NULL,
            created_at DOUBLE PRECISION NOT NULL,
            updated_at DOUBLE PRECISION NOT NULL
        )""",
        "CREATE INDEX runs_by_update ON runs (updated_at)",
        "CREATE INDEX runs_by_session ON runs (session_id)",
        """CREATE TABLE events (
            run_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            kind TEXT NOT NULL,
            time DOUBLE PRECISION NOT NULL,
            data TEXT NOT NULL,
            PRIMARY KEY (run_id, seq)
        )""",
        """CREATE TABLE checkpoints (
            run_id TEXT PRIMARY KEY,
            step INTEGER NOT NULL,
            phase TEXT NOT NULL,
            "window" TEXT NOT NULL,
            usage TEXT NOT NULL,
            output TEXT NOT NULL,
            event_seq INTEGER NOT NULL,
            response TEXT,
            updated_at DOUBLE PRECISION NOT NULL
        )""",
        """CREATE TABLE responses (
            run_id TEXT NOT NULL,
            idx INTEGER NOT NULL,
            step INTEGER NOT NULL,
            event_seq INTEGER NOT NULL,
            response TEXT NOT NULL,
            PRIMARY KEY (run_id, idx)
        )""",
        """CREATE TABLE tool_calls (
            key TEXT PRIMARY KEY,
            run_id TEXT NOT NULL,
            status TEXT NOT NULL,
            call TEXT,
            result TEXT,
            started_at DOUBLE PRECISION,
            finished_at DOUBLE PRECISION
        )""",
        "CREATE INDEX tool_calls_by_run ON tool_calls (run_id)",
        """CREATE TABLE approvals (
            run_id TEXT NOT NULL,
            approval_id TEXT NOT NULL,
            n BIGINT GENERATED ALWAYS AS IDENTITY,
            call_id TEXT NOT NULL,
            status TEXT NOT NULL,
            record TEXT NOT NULL,
            updated_at DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (run_id, approval_id)
        )""",
        """CREATE TABLE blobs (
            digest TEXT PRIMARY KEY,
            size BIGINT NOT NULL,
            data BYTEA NOT NULL
        )""",
        """CREATE TABLE artifacts (
            run_id TEXT NOT NULL,
            n BIGINT GENERATED ALWAYS AS IDENTITY,
            name TEXT NOT NULL,
            media_type TEXT NOT NULL,
            digest TEXT NOT NULL REFERENCES blobs (digest),
            created_at DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (run_id, name, digest)
        )""",
    )),
)

#: The schema version this code writes and understands.
LATEST = MIGRATIONS[-1][0]

VERSION_TABLE = """CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY,
    description TEXT NOT NULL,
    applied_at DOUBLE PRECISION NOT NULL
)"""
