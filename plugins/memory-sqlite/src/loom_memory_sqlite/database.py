"""One SQLite connection, used from one worker thread so the event loop never waits on disk.

:class:`Database` opens the file (checking it before writing anything),
switches it to WAL, applies the schema migrations, and runs every unit of
work as one transaction, retried while another connection holds the lock.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import time
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from loom_memory_sqlite.errors import StoreCorruptError, StoreError, StoreVersionError
from loom_memory_sqlite.schema import LATEST, MIGRATIONS, VERSION_TABLE

T = TypeVar("T")

_BUSY_CODES = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def is_busy(exc: sqlite3.Error) -> bool:
    """Whether ``exc`` says another connection holds a lock (worth a retry)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF in _BUSY_CODES
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _release(conn: sqlite3.Connection | None, executor: ThreadPoolExecutor | None) -> None:
    if conn is not None:
        conn.close()
    if executor is not None:
        executor.shutdown(wait=False)


class Database:
    """A SQLite file opened by one connection living in one worker thread."""

    def __init__(self, path: Path, *, busy_timeout: float = 30.0, synchronous: str = "normal") -> None:
        self.path = path
        self.busy_timeout = busy_timeout
        self.synchronous = synchronous.upper()
        self.retries = 0
        self._conn: sqlite3.Connection | None = None
        self._executor: ThreadPoolExecutor | None = None

    # ---------------------------------------------------------------- threads

    async def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` in the worker thread and await its result."""
        if self._executor is None:
            raise StoreError(f"SQLite store {self.path}: not open (call open() first)")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    async def open(self) -> None:
        """Start the worker, open and check the file, migrate it."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="loom-sqlite")
        try:
            await self.call(self._open)
        except BaseException:
            await self.close()
            raise
        # a store dropped without close() still releases its file and its thread
        weakref.finalize(self, _release, self._conn, self._executor)

    async def close(self) -> None:
        """Close the connection and stop the worker."""
        executor, self._executor = self._executor, None
        if executor is None:
            return
        conn, self._conn = self._conn, None
        if conn is not None:
            await asyncio.get_running_loop().run_in_executor(executor, conn.close)
        executor.shutdown(wait=False)

    # ----------------------------------------------------------- transactions

    def write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work`` in one write transaction (worker thread), retrying while busy."""
        return self._transaction(work, "BEGIN IMMEDIATE")

    def read(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work`` in one read transaction: a consistent snapshot."""
        return self._transaction(work, "BEGIN")

    def _transaction(self, work: Callable[[sqlite3.Connection], T], begin: str) -> T:
        conn = self._conn
        if conn is None:
            raise StoreError(f"SQLite store {self.path}: not open (call open() first)")
        return self._retrying(lambda: self._once(conn, work, begin))

    @staticmethod
    def _once(conn: sqlite3.Connection, work: Callable[[sqlite3.Connection], T], begin: str) -> T:
        conn.execute(begin)
        try:
            result = work(conn)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return result

    def _retrying(self, attempt: Callable[[], T]) -> T:
        deadline = time.monotonic() + self.busy_timeout
        delay = 0.002
        while True:
            try:
                return attempt()
            except sqlite3.OperationalError as exc:
                if not is_busy(exc):
                    raise self._error(exc) from exc
                if time.monotonic() >= deadline:
                    raise StoreError(
                        f"SQLite store {self.path}: still locked by another connection after "
                        f"{self.busy_timeout:g}s ({exc}); raise [settings.sqlite] busy_timeout or "
                        "stop the other writer") from exc
                self.retries += 1
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 0.1)
            except sqlite3.IntegrityError as exc:
                raise StoreError(f"SQLite store {self.path}: {exc}") from exc
            except sqlite3.DatabaseError as exc:
                raise self._error(exc) from exc

    def _error(self, exc: sqlite3.Error) -> StoreError:
        if type(exc) is not sqlite3.DatabaseError:  # locked, misuse, bad data: not damage
            return StoreError(f"SQLite store {self.path}: {type(exc).__name__}: {exc}")
        return StoreCorruptError(
            f"SQLite store {self.path} is damaged or not a database ({exc}); it was left as it is: "
            "move it aside (a new one is made on the next run) or set [settings.sqlite] path")

    # ------------------------------------------------------------------- open

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(self.path), timeout=self.busy_timeout, isolation_level=None,
                               check_same_thread=False)
        try:
            self._retrying(lambda: self._check(conn))
            self._retrying(lambda: conn.execute("PRAGMA journal_mode=WAL").fetchone())
            conn.execute(f"PRAGMA synchronous={self.synchronous}")
            conn.execute("PRAGMA foreign_keys=ON")
            self._conn = conn
            self.write(self._migrate)
        except BaseException:
            self._conn = None
            conn.close()
            raise

    def _check(self, conn: sqlite3.Connection) -> None:
        """Refuse a file that is not ours or is newer, before writing anything."""
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "schema_version" in tables:
            self._refuse_newer(conn)
        elif tables:
            raise StoreCorruptError(
                f"SQLite store {self.path} is not a Loom database (it has the tables "
                f"{', '.join(sorted(tables))} but no schema_version); it was left as it is: "
                "set [settings.sqlite] path to another file")

    def _refuse_newer(self, conn: sqlite3.Connection) -> int:
        row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
        found = int(row[0] or 0)
        if found > LATEST:
            raise StoreVersionError(
                f"SQLite store {self.path} has schema version {found}, newer than this "
                f"loom-memory-sqlite understands (version {LATEST}); it was left as it is: upgrade "
                "loom-memory-sqlite, or set [settings.sqlite] path to another file",
                found=found, supported=LATEST)
        return found

    def _migrate(self, conn: sqlite3.Connection) -> None:
        conn.execute(VERSION_TABLE)
        current = self._refuse_newer(conn)
        for version, what, statements in MIGRATIONS:
            if version <= current:
                continue
            for statement in statements:
                conn.execute(statement)
            conn.execute("INSERT INTO schema_version (version, description, applied_at) "
                         "VALUES (?, ?, ?)", (version, what, time.time()))

    def schema_version(self) -> int:
        """The database's schema version (worker thread)."""
        return self.read(lambda conn: int(
            conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] or 0))
