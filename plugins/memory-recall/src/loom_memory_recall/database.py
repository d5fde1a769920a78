"""The memory database: one SQLite connection, migrations, retried transactions.

A :class:`MemoryDatabase` is used from any thread, one call at a time (a
lock); the event loop calls it through ``asyncio.to_thread``. The file is
checked before anything is written to it: a file that is not a memory
database, or that a newer version wrote, is refused and left untouched.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from loom_memory_recall.errors import MemoryVersionError, RecallError
from loom_memory_recall.schema import LATEST, MIGRATIONS, VERSION_TABLE

T = TypeVar("T")


class MemoryDatabase:
    """The memory database file, opened on first use (made if missing)."""

    def __init__(self, path: str | Path, *, busy_timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self.lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None

    def __repr__(self) -> str:
        return f"<MemoryDatabase {self.path}>"

    @property
    def is_open(self) -> bool:
        """Whether the connection is open."""
        return self._conn is not None

    def open(self) -> None:
        """Open (and make) the file, check it, migrate it; idempotent."""
        with self.lock:
            if self._conn is not None:
                return
            self.path = self.path.absolute()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(self.path), timeout=self.busy_timeout,
                                   isolation_level=None, check_same_thread=False)
            try:
                self._conn = conn
                self._check(conn)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                self.write(self._migrate)
            except sqlite3.DatabaseError as exc:
                self._conn = None
                conn.close()
                raise RecallError(f"memory database {self.path} is damaged or not a database "
                                  f"({exc}); move it aside or set [settings.memory] path") from exc
            except BaseException:
                self._conn = None
                conn.close()
                raise
            weakref.finalize(self, conn.close)

    def close(self) -> None:
        """Close the connection; the next call opens it again."""
        with self.lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                conn.close()

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self.open()
        assert self._conn is not None
        return self._conn

    def write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work`` in one write transaction."""
        return self._transaction(work, "BEGIN IMMEDIATE")

    def read(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work`` in one read transaction (a consistent snapshot)."""
        return self._transaction(work, "BEGIN")

    def _transaction(self, work: Callable[[sqlite3.Connection], T], begin: str) -> T:
        with self.lock:
            conn = self._connection()
            deadline = time.monotonic() + self.busy_timeout
            delay = 0.002
            while True:
                try:
                    conn.execute(begin)
                    try:
                        result = work(conn)
                        conn.execute("COMMIT")
                    except BaseException:
                        if conn.in_transaction:
                            conn.execute("ROLLBACK")
                        raise
                    return result
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) and "busy" not in str(exc):
                        raise RecallError(f"memory database {self.path}: {exc}") from exc
                    if time.monotonic() >= deadline:
                        raise RecallError(
                            f"memory database {self.path}: still locked by another connection "
                            f"after {self.busy_timeout:g}s; raise [settings.memory] busy_timeout "
                            "or stop the other writer") from exc
                    time.sleep(delay)
                    delay = min(delay * 2, 0.1)

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Every row of one query, in a read transaction."""
        def work(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
            return conn.execute(sql, params).fetchall()
        return self.read(work)

    def row(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        """The first row of one query, or None."""
        found = self.rows(sql, params)
        return found[0] if found else None

    def data_version(self) -> int:
        """SQLite's counter of commits made by other connections (cheap)."""
        with self.lock:
            return int(self._connection().execute("PRAGMA data_version").fetchone()[0])

    # ------------------------------------------------------------- schema

    def _check(self, conn: sqlite3.Connection) -> None:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "memory_schema" in tables:
            self._refuse_newer(conn)
            return
        tables.discard("sqlite_sequence")
        if tables:
            what = "the run store's database" if "schema_version" in tables else "not a memory database"
            raise RecallError(
                f"{self.path} is {what} (it has the tables {', '.join(sorted(tables))}); it was "
                "left as it is: set [settings.memory] path to a file of its own")

    def _refuse_newer(self, conn: sqlite3.Connection) -> int:
        found = int(conn.execute("SELECT MAX(version) FROM memory_schema").fetchone()[0] or 0)
        if found > LATEST:
            raise MemoryVersionError(
                f"memory database {self.path} has schema version {found}, newer than this "
                f"loom-memory-recall understands ({LATEST}); it was left as it is: upgrade "
                "loom-memory-recall, or set [settings.memory] path to another file")
        return found

    def _migrate(self, conn: sqlite3.Connection) -> None:
        conn.execute(VERSION_TABLE)
        current = self._refuse_newer(conn)
        for version, what, statements in MIGRATIONS:
            if version <= current:
                continue
            for statement in statements:
                conn.execute(statement)
            conn.execute("INSERT INTO memory_schema (version, description, applied_at) "
                         "VALUES (?, ?, ?)", (version, what, time.time()))

    def schema_version(self) -> int:
        """The schema version of the file."""
        return self.read(lambda conn: int(
            conn.execute("SELECT MAX(version) FROM memory_schema").fetchone()[0] or 0))
