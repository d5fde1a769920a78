"""The PostgreSQL implementation of :class:`loom.store.RunStore`.

Each method is one transaction on a pooled connection (psycopg 3, natively
async: the event loop never waits on the database). Opening takes an
advisory lock per schema while it checks and migrates, so several
processes may open one database at once.
"""

from __future__ import annotations

import json
import time
from typing import Any

import psycopg
from loom.events import Event
from loom.store import Checkpoint, RunInfo, StoredRun, ToolCallState
from psycopg import errors as pg_errors
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from loom_memory_postgres.errors import StoreCorruptError, StoreError, StoreVersionError
from loom_memory_postgres.pool import Pool
from loom_memory_postgres.schema import LATEST, MIGRATIONS, VERSION_TABLE
from loom_memory_postgres.settings import PostgresSettings

Conn = psycopg.AsyncConnection[tuple[Any, ...]]

RUN_COLUMNS = ("run_id, session_id, parent_id, goal, profile, status, output, reason, error, "
               "created_at, updated_at")
CHECKPOINT_COLUMNS = 'run_id, step, phase, "window", usage, output, event_seq, response'


def dump(value: Any) -> str:
    """JSON text for a column (ASCII-escaped, so NUL and any other character survive).

    Free text (goal, output, reason, error) is stored JSON-encoded too:
    PostgreSQL's text type cannot hold a NUL character.
    """
    return json.dumps(value, separators=(",", ":"))


def describe(dsn: str, schema: str) -> str:
    """The database named without its password: ``user@host:port/db, schema s``."""
    try:
        parts = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return f"<invalid connection string>, schema {schema}"
    user = f"{parts['user']}@" if parts.get("user") else ""
    where = f"{user}{parts.get('host') or 'localhost'}:{parts.get('port') or 5432}/" \
            f"{parts.get('dbname') or '(default)'}"
    return f"{where}, schema {schema}"


class PostgresStore:
    """Runs, events, approvals, artifacts, tool calls and checkpoints in a PostgreSQL schema."""

    def __init__(self, dsn: str = "", *, schema: str = "loom", pool_size: int = 4,
                 connect_timeout: float = 10.0) -> None:
        PostgresSettings.model_validate({"dsn": dsn, "schema": schema, "pool_size": pool_size,
                                         "connect_timeout": connect_timeout})
        self.dsn = dsn
        self.schema = schema
        self.pool_size = pool_size
        self.connect_timeout = connect_timeout
        self.where = describe(dsn, schema)
        self.pool: Pool | None = None
        self._open_error: BaseException | None = None

    @classmethod
    def from_settings(cls, settings: PostgresSettings) -> PostgresStore:
        """The store described by ``[settings.postgres]``."""
        return cls(settings.dsn, schema=settings.schema_name, pool_size=settings.pool_size,
                   connect_timeout=settings.connect_timeout)

    def __repr__(self) -> str:
        return f"<PostgresStore {self.where}>"

    # -------------------------------------------------------------- lifecycle

    async def open(self) -> None:
        """Connect, check the schema (not ours or newer: an error, nothing written), migrate."""
        if self.pool is not None:
            return
        pool = Pool(self.dsn, self.schema, size=self.pool_size, connect_timeout=self.connect_timeout)
        try:
            try:
                conn = await pool.connect()
            except psycopg.OperationalError as exc:
                raise StoreError(f"PostgreSQL store {self.where}: cannot connect: "
                                 f"{str(exc).strip()}") from exc
            async with conn:
                async with conn.transaction():
                    await self._migrate(conn)
        except BaseException as exc:
            self._open_error = exc
            raise
        self.pool, self._open_error = pool, None

    async def _migrate(self, conn: Conn) -> None:
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"loom-store:{self.schema}",))
        cur = await conn.execute("SELECT table_name FROM information_schema.tables "
                                 "WHERE table_schema = %s", (self.schema,))
        tables = {str(r[0]) for r in await cur.fetchall()}
        if "schema_version" in tables:
            await self._refuse_newer(conn)
        elif tables:
            raise StoreCorruptError(
                f"PostgreSQL store {self.where} is not a Loom store (it has the tables "
                f"{', '.join(sorted(tables))} but no schema_version); it was left as it is: set "
                "[settings.postgres] schema to another name")
        await conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema)))
        await conn.execute(VERSION_TABLE.encode())
        current = await self._refuse_newer(conn)
        for version, what, statements in MIGRATIONS:
            if version > current:
                for statement in statements:
                    await conn.execute(statement.encode())
                await conn.execute("INSERT INTO schema_version (version, description, applied_at) "
                                   "VALUES (%s, %s, %s)", (version, what, time.time()))

    async def _refuse_newer(self, conn: Conn) -> int:
        cur = await conn.execute("SELECT MAX(version) FROM schema_version")
        row = await cur.fetchone()
        found = int(row[0] or 0) if row else 0
        if found > LATEST:
            raise StoreVersionError(
                f"PostgreSQL store {self.where} has schema version {found}, newer than this "
                f"loom-memory-postgres understands (version {LATEST}); it was left as it is: "
                "upgrade loom-memory-postgres, or set [settings.postgres] schema to another name",
                found=found, supported=LATEST)
        return found

    async def close(self) -> None:
        """Close the connections; :meth:`open` may be called again."""
        pool, self.pool = self.pool, None
        if pool is not None:
            await pool.close()

    async def _run(self, work: Any) -> Any:
        if self.pool is None:
            if self._open_error is not None:
                raise self._open_error
            raise StoreError(f"PostgreSQL store {self.where}: not open (call open() first)")
        try:
            return await self.pool.transaction(work)
        except psycopg.Error as exc:
            raise StoreError(f"PostgreSQL store {self.where}: {type(exc).__name__}: "
                             f"{str(exc).strip()}") from exc

    async def schema_version(self) -> int:
        """The schema version of the open database."""
        async def work(conn: Conn) -> int:
            return await self._refuse_newer(conn)
        result: int = await self._run(work)
        return result

    # ------------------------------------------------------------------- runs

    async def create_run(self, info: RunInfo) -> None:
        """Record a new run, or update a resumed one (its first ``created_at`` is kept)."""
        async def work(conn: Conn) -> None:
            await conn.execute(
                "INSERT INTO sessions (session_id, created_at, updated_at) VALUES (%s, %s, %s) "
                "ON CONFLICT (session_id) DO UPDATE SET updated_at = excluded.updated_at",
                (info.session_id, info.created_at or info.updated_at, info.updated_at))
            await _upsert_run(conn, info)
        await self._run(work)

    async def finish_run(self, info: RunInfo, events: list[Event]) -> None:
        """Record how the run ended, with its last events."""
        async def work(conn: Conn) -> None:
            await _upsert_run(conn, info)
            await _insert_events(conn, info.run_id, events)
        await self._run(work)

    async def commit_step(self, checkpoint: Checkpoint, events: list[Event]) -> None:
        """Save the checkpoint, the events and the step's model response in one transaction."""
        response = dump(checkpoint.response) if checkpoint.response is not None else None
        c = checkpoint

        async def work(conn: Conn) -> None:
            await conn.execute(
                f"INSERT INTO checkpoints ({CHECKPOINT_COLUMNS}, updated_at) VALUES "
                "(%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (run_id) DO UPDATE SET "
                'step = excluded.step, phase = excluded.phase, "window" = excluded."window", '
                "usage = excluded.usage, output = excluded.output, event_seq = excluded.event_seq, "
                "response = excluded.response, updated_at = excluded.updated_at",
                (c.run_id, c.step, c.phase, dump(c.window), dump(c.usage), dump(c.output), c.event_seq,
                 response, time.time()))
            await _insert_events(conn, c.run_id, events)
            if response is not None:
                await conn.execute(
                    "INSERT INTO responses (run_id, idx, step, event_seq, response) VALUES (%s, "
                    "(SELECT COALESCE(MAX(idx) + 1, 0) FROM responses WHERE run_id = %s), %s, %s, %s)",
                    (c.run_id, c.run_id, c.step, c.event_seq, response))
        await self._run(work)

    async def load_run(self, run_id: str) -> StoredRun | None:
        """Everything stored about a run (events in ``seq`` order), or None."""
        async def work(conn: Conn) -> StoredRun | None:
            await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            row = await _one(conn, f"SELECT {RUN_COLUMNS} FROM runs WHERE run_id = %s", run_id)
            if row is None:
                return None
            ckpt = await _one(conn, f"SELECT {CHECKPOINT_COLUMNS} FROM checkpoints WHERE run_id = %s",
                              run_id)
            cur = await conn.execute("SELECT kind, seq, time, data FROM events WHERE run_id = %s "
                                     "ORDER BY seq", (run_id,))
            events = [Event(kind=k, run_id=run_id, seq=s, time=t, data=json.loads(d))
                      for k, s, t, d in await cur.fetchall()]
            cur = await conn.execute("SELECT response FROM responses WHERE run_id = %s ORDER BY idx",
                                     (run_id,))
            responses = [json.loads(r) for (r,) in await cur.fetchall()]
            cur = await conn.execute("SELECT record FROM approvals WHERE run_id = %s ORDER BY n",
                                     (run_id,))
            approvals = [json.loads(r) for (r,) in await cur.fetchall()]
            return StoredRun(info=_info(row), checkpoint=_checkpoint(ckpt) if ckpt else None,
                             events=events, responses=responses, approvals=approvals)
        result: StoredRun | None = await self._run(work)
        return result

    async def list_runs(self, limit: int = 50) -> list[RunInfo]:
        """The most recently updated runs first."""
        async def work(conn: Conn) -> list[RunInfo]:
            cur = await conn.execute(f"SELECT {RUN_COLUMNS} FROM runs ORDER BY updated_at DESC, "
                                     "n DESC LIMIT %s", (limit,))
            return [_info(r) for r in await cur.fetchall()]
        result: list[RunInfo] = await self._run(work)
        return result

    # ------------------------------------------------------------- tool calls

    async def tool_call_started(self, key: str, run_id: str, call: dict[str, Any]) -> None:
        """Mark a tool call as started, before it runs."""
        async def work(conn: Conn) -> None:
            await conn.execute(
                "INSERT INTO tool_calls (key, run_id, status, call, started_at) VALUES "
                "(%s, %s, 'started', %s, %s) ON CONFLICT (key) DO UPDATE SET status = 'started', "
                "call = excluded.call, started_at = excluded.started_at, result = NULL, "
                "finished_at = NULL", (key, run_id, dump(call), time.time()))
        await self._run(work)

    async def tool_call_finished(self, key: str, result: dict[str, Any]) -> None:
        """Mark a tool call as completed with its result."""
        async def work(conn: Conn) -> None:
            await conn.execute(
                "INSERT INTO tool_calls (key, run_id, status, result, finished_at) VALUES "
                "(%s, %s, 'completed', %s, %s) ON CONFLICT (key) DO UPDATE SET status = 'completed', "
                "result = excluded.result, finished_at = excluded.finished_at",
                (key, key.split(":", 1)[0], dump(result), time.time()))
        await self._run(work)

    async def tool_call_state(self, key: str) -> ToolCallState | None:
        """What is known of a tool call, or None."""
        async def work(conn: Conn) -> tuple[Any, ...] | None:
            return await _one(conn, "SELECT status, result FROM tool_calls WHERE key = %s", key)
        row = await self._run(work)
        if row is None:
            return None
        return ToolCallState(key=key, status=row[0], result=json.loads(row[1]) if row[1] else None)

    # ----------------------------------------------------- approvals, artifacts

    async def save_approval(self, run_id: str, approval: dict[str, Any]) -> None:
        """Save or update an approval (by its ``id``)."""
        async def work(conn: Conn) -> None:
            await conn.execute(
                "INSERT INTO approvals (run_id, approval_id, call_id, status, record, updated_at) "
                "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (run_id, approval_id) DO UPDATE SET "
                "call_id = excluded.call_id, status = excluded.status, record = excluded.record, "
                "updated_at = excluded.updated_at",
                (run_id, approval["id"], approval.get("call_id", ""), approval.get("status", ""),
                 dump(approval), time.time()))
        await self._run(work)

    async def save_artifact(self, run_id: str, name: str, media_type: str, digest: str,
                            data: bytes) -> None:
        """Save an artifact; its bytes are stored once per ``digest``."""
        async def work(conn: Conn) -> None:
            await conn.execute("INSERT INTO blobs (digest, size, data) VALUES (%s, %s, %s) "
                               "ON CONFLICT (digest) DO NOTHING", (digest, len(data), data))
            await conn.execute("INSERT INTO artifacts (run_id, name, media_type, digest, created_at) "
                               "VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                               (run_id, name, media_type, digest, time.time()))
        await self._run(work)

    async def load_artifact(self, digest: str) -> bytes | None:
        """An artifact's bytes by digest, or None."""
        async def work(conn: Conn) -> tuple[Any, ...] | None:
            return await _one(conn, "SELECT data FROM blobs WHERE digest = %s", digest)
        row = await self._run(work)
        return bytes(row[0]) if row is not None else None

    async def list_artifacts(self, run_id: str) -> list[dict[str, Any]]:
        """A run's artifacts: name, media_type, digest, size (oldest first)."""
        async def work(conn: Conn) -> list[tuple[Any, ...]]:
            cur = await conn.execute(
                "SELECT a.name, a.media_type, a.digest, b.size FROM artifacts a JOIN blobs b "
                "USING (digest) WHERE a.run_id = %s ORDER BY a.n", (run_id,))
            return await cur.fetchall()
        rows = await self._run(work)
        return [{"name": n, "media_type": m, "digest": d, "size": s} for n, m, d, s in rows]


async def _one(conn: Conn, query: str, *params: Any) -> tuple[Any, ...] | None:
    cur = await conn.execute(query.encode(), params)
    return await cur.fetchone()


async def _upsert_run(conn: Conn, info: RunInfo) -> None:
    await conn.execute(
        f"INSERT INTO runs ({RUN_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (run_id) DO UPDATE SET session_id = excluded.session_id, "
        "parent_id = excluded.parent_id, goal = excluded.goal, profile = excluded.profile, "
        "status = excluded.status, output = excluded.output, reason = excluded.reason, "
        "error = excluded.error, updated_at = excluded.updated_at",
        (info.run_id, info.session_id, info.parent_id, dump(info.goal), dump(info.profile),
         info.status, dump(info.output), dump(info.reason), dump(info.error), info.created_at,
         info.updated_at))


async def _insert_events(conn: Conn, run_id: str, events: list[Event]) -> None:
    if not events:
        return
    try:
        async with conn.cursor() as cur:
            await cur.executemany(
                "INSERT INTO events (run_id, seq, kind, time, data) VALUES (%s, %s, %s, %s, %s)",
                [(run_id, e.seq, e.kind, e.time, dump(e.data)) for e in events])
    except pg_errors.UniqueViolation as exc:
        raise StoreError(
            f"run {run_id}: an event with one of the seqs {events[0].seq}..{events[-1].seq} is "
            "already stored; is another process running this run?") from exc


def _info(row: tuple[Any, ...]) -> RunInfo:
    (run_id, session_id, parent_id, goal, profile, status, output, reason, error, created,
     updated) = row
    return RunInfo(run_id=run_id, session_id=session_id, parent_id=parent_id, goal=json.loads(goal),
                   profile=json.loads(profile), status=status, output=json.loads(output),
                   reason=json.loads(reason), error=json.loads(error), created_at=created,
                   updated_at=updated)


def _checkpoint(row: tuple[Any, ...]) -> Checkpoint:
    run_id, step, phase, window, usage, output, event_seq, response = row
    return Checkpoint(run_id=run_id, step=step, phase=phase, window=json.loads(window),
                      usage=json.loads(usage), output=json.loads(output), event_seq=event_seq,
                      response=json.loads(response) if response else None)
