"""The SQLite implementation of :class:`loom.store.RunStore`.

Every method is one transaction run in the store's worker thread (see
:class:`~loom_memory_sqlite.database.Database`); :meth:`SqliteStore.commit_step`
writes the checkpoint, the step's events and its model response together, or
nothing. JSON columns hold the pydantic models' JSON form.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from loom.events import Event
from loom.store import Checkpoint, RunInfo, StoredRun, ToolCallState

from loom_memory_sqlite.database import Database
from loom_memory_sqlite.errors import StoreError
from loom_memory_sqlite.settings import DEFAULT_PATH, SqliteSettings

RUN_COLUMNS = ("run_id, session_id, parent_id, goal, profile, status, output, reason, error, "
               "created_at, updated_at")
CHECKPOINT_COLUMNS = "run_id, step, phase, window, usage, output, event_seq, response"


def dump(value: Any) -> str:
    """JSON text for a column (ASCII, so any string survives)."""
    return json.dumps(value, separators=(",", ":"))


def run_of(key: str) -> str:
    """The run id in a tool call's idempotency key ``"<run_id>:<call_id>"``."""
    return key.split(":", 1)[0]


class SqliteStore:
    """Runs, events, approvals, artifacts, tool calls and checkpoints in one SQLite file.

    ``path`` is the database file (relative paths are taken from the working
    directory at :meth:`open`). Safe for many runs at once in one process and
    for several processes on one file.
    """

    def __init__(self, path: str | Path = DEFAULT_PATH, *, busy_timeout: float = 30.0,
                 synchronous: str = "normal") -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self.synchronous = synchronous
        self.db: Database | None = None
        self._open_error: BaseException | None = None

    @classmethod
    def from_settings(cls, settings: SqliteSettings) -> SqliteStore:
        """The store described by ``[settings.sqlite]``."""
        return cls(settings.path, busy_timeout=settings.busy_timeout,
                   synchronous=settings.synchronous)

    def __repr__(self) -> str:
        return f"<SqliteStore {self.path}>"

    # -------------------------------------------------------------- lifecycle

    async def open(self) -> None:
        """Open the file (made on first use), check it, migrate it; idempotent.

        A file that is not a Loom database, is damaged, or has a newer schema
        raises :class:`~loom_memory_sqlite.errors.StoreError` naming it, and
        is left untouched.
        """
        if self.db is not None:
            return
        db = Database(self.path.absolute(), busy_timeout=self.busy_timeout,
                      synchronous=self.synchronous)
        try:
            await db.open()
        except BaseException as exc:
            self._open_error = exc
            raise
        self.path, self.db, self._open_error = db.path, db, None

    async def close(self) -> None:
        """Close the connection; :meth:`open` may be called again."""
        db, self.db = self.db, None
        if db is not None:
            await db.close()

    def _db(self) -> Database:
        if self.db is None:
            if self._open_error is not None:
                raise self._open_error
            raise StoreError(f"SQLite store {self.path}: not open (call open() first)")
        return self.db

    async def _write(self, work: Any) -> Any:
        db = self._db()
        return await db.call(lambda: db.write(work))

    async def _read(self, work: Any) -> Any:
        db = self._db()
        return await db.call(lambda: db.read(work))

    async def schema_version(self) -> int:
        """The schema version of the open database."""
        db = self._db()
        return await db.call(db.schema_version)

    # ------------------------------------------------------------------- runs

    async def create_run(self, info: RunInfo) -> None:
        """Record a new run, or update a resumed one (its first ``created_at`` is kept)."""
        def work(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO sessions (session_id, created_at, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (session_id) DO UPDATE SET updated_at = excluded.updated_at",
                (info.session_id, info.created_at or info.updated_at, info.updated_at))
            _upsert_run(conn, info)
        await self._write(work)

    async def finish_run(self, info: RunInfo, events: list[Event]) -> None:
        """Record how the run ended, with its last events."""
        def work(conn: sqlite3.Connection) -> None:
            _upsert_run(conn, info)
            _insert_events(conn, info.run_id, events)
        await self._write(work)

    async def commit_step(self, checkpoint: Checkpoint, events: list[Event]) -> None:
        """Save the checkpoint, the events and the step's model response in one transaction."""
        now = time.time()
        response = dump(checkpoint.response) if checkpoint.response is not None else None

        def work(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO checkpoints (run_id, step, phase, window, usage, output, event_seq, "
                "response, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id) DO "
                "UPDATE SET step = excluded.step, phase = excluded.phase, window = excluded.window, "
                "usage = excluded.usage, output = excluded.output, event_seq = excluded.event_seq, "
                "response = excluded.response, updated_at = excluded.updated_at",
                (checkpoint.run_id, checkpoint.step, checkpoint.phase, dump(checkpoint.window),
                 dump(checkpoint.usage), checkpoint.output, checkpoint.event_seq, response, now))
            _insert_events(conn, checkpoint.run_id, events)
            if response is not None:
                conn.execute(
                    "INSERT INTO responses (run_id, idx, step, event_seq, response) VALUES "
                    "(?, (SELECT COALESCE(MAX(idx) + 1, 0) FROM responses WHERE run_id = ?), ?, ?, ?)",
                    (checkpoint.run_id, checkpoint.run_id, checkpoint.step, checkpoint.event_seq,
                     response))
        await self._write(work)

    async def load_run(self, run_id: str) -> StoredRun | None:
        """Everything stored about a run (events in ``seq`` order), or None."""
        def work(conn: sqlite3.Connection) -> StoredRun | None:
            row = conn.execute(f"SELECT {RUN_COLUMNS} FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            if row is None:
                return None
            ckpt = conn.execute(f"SELECT {CHECKPOINT_COLUMNS} FROM checkpoints WHERE run_id = ?",
                                (run_id,)).fetchone()
            events = [Event(kind=kind, run_id=run_id, seq=seq, time=at, data=json.loads(data))
                      for kind, seq, at, data in conn.execute(
                          "SELECT kind, seq, time, data FROM events WHERE run_id = ? ORDER BY seq",
                          (run_id,))]
            responses = [json.loads(r) for (r,) in conn.execute(
                "SELECT response FROM responses WHERE run_id = ? ORDER BY idx", (run_id,))]
            approvals = [json.loads(r) for (r,) in conn.execute(
                "SELECT record FROM approvals WHERE run_id = ? ORDER BY rowid", (run_id,))]
            return StoredRun(info=_info(row), checkpoint=_checkpoint(ckpt) if ckpt else None,
                             events=events, responses=responses, approvals=approvals)
        result: StoredRun | None = await self._read(work)
        return result

    async def list_runs(self, limit: int = 50) -> list[RunInfo]:
        """The most recently updated runs first."""
        rows = await self._read(lambda conn: conn.execute(
            f"SELECT {RUN_COLUMNS} FROM runs ORDER BY updated_at DESC, rowid DESC LIMIT ?",
            (limit,)).fetchall())
        return [_info(row) for row in rows]

    # ------------------------------------------------------------- tool calls

    async def tool_call_started(self, key: str, run_id: str, call: dict[str, Any]) -> None:
        """Mark a tool call as started, before it runs."""
        await self._write(lambda conn: conn.execute(
            "INSERT INTO tool_calls (key, run_id, status, call, started_at) VALUES "
            "(?, ?, 'started', ?, ?) ON CONFLICT (key) DO UPDATE SET status = 'started', "
            "call = excluded.call, started_at = excluded.started_at, result = NULL, "
            "finished_at = NULL", (key, run_id, dump(call), time.time())))

    async def tool_call_finished(self, key: str, result: dict[str, Any]) -> None:
        """Mark a tool call as completed with its result."""
        await self._write(lambda conn: conn.execute(
            "INSERT INTO tool_calls (key, run_id, status, result, finished_at) VALUES "
            "(?, ?, 'completed', ?, ?) ON CONFLICT (key) DO UPDATE SET status = 'completed', "
            "result = excluded.result, finished_at = excluded.finished_at",
            (key, run_of(key), dump(result), time.time())))

    async def tool_call_state(self, key: str) -> ToolCallState | None:
        """What is known of a tool call, or None."""
        row = await self._read(lambda conn: conn.execute(
            "SELECT status, result FROM tool_calls WHERE key = ?", (key,)).fetchone())
        if row is None:
            return None
        return ToolCallState(key=key, status=row[0], result=json.loads(row[1]) if row[1] else None)

    # ----------------------------------------------------- approvals, artifacts

    async def save_approval(self, run_id: str, approval: dict[str, Any]) -> None:
        """Save or update an approval (by its ``id``)."""
        await self._write(lambda conn: conn.execute(
            "INSERT INTO approvals (run_id, approval_id, call_id, status, record, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, approval_id) DO UPDATE SET "
            "call_id = excluded.call_id, status = excluded.status, record = excluded.record, "
            "updated_at = excluded.updated_at",
            (run_id, approval["id"], approval.get("call_id", ""), approval.get("status", ""),
             dump(approval), time.time())))

    async def save_artifact(self, run_id: str, name: str, media_type: str, digest: str,
                            data: bytes) -> None:
        """Save an artifact; its bytes are stored once per ``digest``."""
        def work(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT INTO blobs (digest, size, data) VALUES (?, ?, ?) "
                         "ON CONFLICT (digest) DO NOTHING", (digest, len(data), data))
            conn.execute("INSERT INTO artifacts (run_id, name, media_type, digest, created_at) "
                         "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                         (run_id, name, media_type, digest, time.time()))
        await self._write(work)

    async def load_artifact(self, digest: str) -> bytes | None:
        """An artifact's bytes by digest, or None."""
        row = await self._read(lambda conn: conn.execute(
            "SELECT data FROM blobs WHERE digest = ?", (digest,)).fetchone())
        return bytes(row[0]) if row is not None else None

    async def list_artifacts(self, run_id: str) -> list[dict[str, Any]]:
        """A run's artifacts: name, media_type, digest, size (oldest first)."""
        rows = await self._read(lambda conn: conn.execute(
            "SELECT a.name, a.media_type, a.digest, b.size FROM artifacts a JOIN blobs b "
            "USING (digest) WHERE a.run_id = ? ORDER BY a.created_at, a.rowid", (run_id,)).fetchall())
        return [{"name": n, "media_type": m, "digest": d, "size": s} for n, m, d, s in rows]


def _upsert_run(conn: sqlite3.Connection, info: RunInfo) -> None:
    conn.execute(
        "INSERT INTO runs (run_id, session_id, parent_id, goal, profile, status, output, reason, "
        "error, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (run_id) DO UPDATE SET session_id = excluded.session_id, "
        "parent_id = excluded.parent_id, goal = excluded.goal, profile = excluded.profile, "
        "status = excluded.status, output = excluded.output, reason = excluded.reason, "
        "error = excluded.error, updated_at = excluded.updated_at",
        (info.run_id, info.session_id, info.parent_id, info.goal, dump(info.profile), info.status,
         info.output, info.reason, info.error, info.created_at, info.updated_at))


def _insert_events(conn: sqlite3.Connection, run_id: str, events: list[Event]) -> None:
    try:
        conn.executemany(
            "INSERT INTO events (run_id, seq, kind, time, data) VALUES (?, ?, ?, ?, ?)",
            [(run_id, e.seq, e.kind, e.time, dump(e.data)) for e in events])
    except sqlite3.IntegrityError as exc:
        raise StoreError(
            f"run {run_id}: an event with one of the seqs {events[0].seq}..{events[-1].seq} is "
            "already stored; is another process running this run?") from exc


def _info(row: tuple[Any, ...]) -> RunInfo:
    (run_id, session_id, parent_id, goal, profile, status, output, reason, error, created,
     updated) = row
    return RunInfo(run_id=run_id, session_id=session_id, parent_id=parent_id, goal=goal,
                   profile=json.loads(profile), status=status, output=output, reason=reason,
                   error=error, created_at=created, updated_at=updated)


def _checkpoint(row: tuple[Any, ...]) -> Checkpoint:
    run_id, step, phase, window, usage, output, event_seq, response = row
    return Checkpoint(run_id=run_id, step=step, phase=phase, window=json.loads(window),
                      usage=json.loads(usage), output=output, event_seq=event_seq,
                      response=json.loads(response) if response else None)
