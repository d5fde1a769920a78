"""Store targets for the shared store suite: SQLite always, PostgreSQL unless turned off.

The PostgreSQL tests need a server. ``LOOM_TEST_POSTGRES_DSN`` names one;
otherwise a throw-away server is started for the session by
``scripts/services.py`` (which installs Debian's ``postgresql`` package when
``initdb`` is missing). ``LOOM_TEST_POSTGRES=0`` skips the PostgreSQL tests,
saying so; any other failure to get a server fails them.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sqlite3
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def load_module(path: Path, name: str) -> ModuleType:
    """Import a helper file by path (tests run with --import-mode=importlib)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def worker() -> ModuleType:
    """``store_worker.py``: the agent and the writer used in and out of process."""
    return load_module(HERE / "store_worker.py", "loom_store_worker")


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """A PostgreSQL server for the session (see the module docstring)."""
    if os.environ.get("LOOM_TEST_POSTGRES", "").strip() == "0":
        # Skipped only on explicit request; a missing server is a failure, never a skip.
        pytest.skip("PostgreSQL store tests not requested (LOOM_TEST_POSTGRES=0)")
    given = os.environ.get("LOOM_TEST_POSTGRES_DSN", "").strip()
    if given:
        yield given
        return
    services = load_module(ROOT / "scripts" / "services.py", "loom_test_services")
    server = services.start_postgres()
    try:
        yield server.dsn
    finally:
        server.stop()


@dataclass
class StoreTarget:
    """One store under test: how to build it here or in another process, and raw access."""

    kind: str
    cls: str
    kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def spec(self) -> dict[str, Any]:
        """What a worker process needs to build the same store."""
        return {"cls": self.cls, "kwargs": self.kwargs}

    def build(self) -> Any:
        """A new, unopened store instance."""
        module, _, name = self.cls.partition(":")
        return getattr(importlib.import_module(module), name)(**self.kwargs)

    def sql(self, statement: str) -> list[tuple[Any, ...]]:
        """Run one raw statement on the store's database (committed); its rows."""
        if self.kind == "sqlite":
            conn = sqlite3.connect(self.kwargs["path"])
            try:
                with conn:
                    return conn.execute(statement).fetchall()
            finally:
                conn.close()
        import psycopg

        with psycopg.connect(self.kwargs["dsn"], autocommit=True,
                             options=f"-c search_path={self.kwargs['schema']}") as conn:
            cur = conn.execute(statement.encode())
            return cur.fetchall() if cur.description else []

    def snapshot(self) -> Any:
        """Everything stored, to show that a refused open wrote nothing."""
        if self.kind == "sqlite":
            path = Path(self.kwargs["path"])
            return path.read_bytes() if path.exists() else b""
        tables = [r[0] for r in self.sql(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = "
            f"'{self.kwargs['schema']}' ORDER BY table_name")]
        return {t: sorted(map(repr, self.sql(f'SELECT * FROM "{t}"'))) for t in tables}


@pytest.fixture(params=["sqlite", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreTarget]:
    """Each store implementation, on a fresh database."""
    if request.param == "sqlite":
        yield StoreTarget("sqlite", "loom_memory_sqlite.store:SqliteStore",
                          {"path": str(tmp_path / "loom.db")})
        return
    dsn = request.getfixturevalue("postgres_dsn")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    target = StoreTarget("postgres", "loom_memory_postgres.store:PostgresStore",
                         {"dsn": dsn, "schema": schema, "pool_size": 8})
    yield target
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE".encode())


@pytest.fixture
async def store(target: StoreTarget) -> AsyncIterator[Any]:
    """An opened store on a fresh database, closed afterwards."""
    built = target.build()
    await built.open()
    try:
        yield built
    finally:
        await built.close()
