"""The SQLite store: its record and settings, the file it keeps, locks, damage and migrations.

The store contract itself is tested for every store in tests/store.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import loom_memory_sqlite
import pytest
from loom.api import AgentRuntime
from loom.config import load_config
from loom.errors import ConfigError
from loom.profile import AgentProfile
from loom.store import RunInfo
from loom.testing import ScriptedModel
from loom_memory_sqlite import database
from loom_memory_sqlite.errors import StoreCorruptError, StoreError
from loom_memory_sqlite.store import SqliteStore


def runtime(config: dict[str, Any], *, entry_points: bool = False) -> AgentRuntime:
    plugins = [] if entry_points else [loom_memory_sqlite]
    if entry_points:
        config = {**config, "plugins": {"enable": ["memory-sqlite"]}}
    return AgentRuntime(profile=AgentProfile(), provider=ScriptedModel(["all done"]),
                        config=load_config(data=config, environ={}), plugins=plugins,
                        entry_points=entry_points)


async def test_installed_plugin_keeps_runs_in_the_project_folder(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    rt = runtime({}, entry_points=True)  # the only store installed: selected without config
    assert isinstance(rt.store, SqliteStore)
    result = await rt.create_session().create_task("say done").start().wait()
    assert result.status == "succeeded"
    await rt.store.close()
    assert (tmp_path / ".loom" / "loom.db").is_file()
    again = SqliteStore(tmp_path / ".loom" / "loom.db")
    await again.open()
    stored = await again.load_run(result.run_id)
    await again.close()
    assert stored is not None and stored.info.output == "all done"


async def test_settings_choose_the_file_and_are_checked(tmp_path: Path) -> None:
    rt = runtime({"stages": {"store": "sqlite"},
                  "settings": {"sqlite": {"path": str(tmp_path / "runs" / "a.db"),
                                          "busy_timeout": 5, "synchronous": "full"}}})
    assert isinstance(rt.store, SqliteStore) and rt.store.busy_timeout == 5
    result = await rt.create_session().create_task("go").start().wait()
    assert result.ok
    await rt.store.close()
    assert (tmp_path / "runs" / "a.db").is_file()
    with pytest.raises(ConfigError, match="settings.sqlite.*pth"):
        runtime({"settings": {"sqlite": {"pth": "x.db"}}})
    with pytest.raises(ConfigError, match="busy_timeout"):
        runtime({"settings": {"sqlite": {"busy_timeout": 0}}})


async def test_the_database_is_in_wal_mode_and_versioned(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "loom.db")
    await store.open()
    await store.close()
    conn = sqlite3.connect(tmp_path / "loom.db")
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    rows = conn.execute("SELECT version, description FROM schema_version").fetchall()
    conn.close()
    assert [v for v, _ in rows] == [1] and "events" in rows[0][1]


async def test_a_garbage_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "loom.db"
    garbage = b"this is not a database\x00" * 300
    path.write_bytes(garbage)
    with pytest.raises(StoreCorruptError) as raised:
        await SqliteStore(path).open()
    assert str(path) in str(raised.value) and "damaged or not a database" in str(raised.value)
    assert path.read_bytes() == garbage
    # a run on that store fails with the same clear error; the file is still untouched
    rt = runtime({"stages": {"store": "sqlite"}, "settings": {"sqlite": {"path": str(path)}}})
    with pytest.raises(StoreCorruptError, match="damaged or not a database"):
        await rt.create_session().create_task("go").start().wait()
    assert path.read_bytes() == garbage


async def test_a_newer_file_is_refused_with_both_versions(tmp_path: Path) -> None:
    path = tmp_path / "loom.db"
    store = SqliteStore(path)
    await store.open()
    await store.close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE schema_version SET version = 999")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StoreError) as raised:
        await SqliteStore(path).open()
    text = str(raised.value)
    assert str(path) in text and "schema version 999" in text and "(version 1)" in text
    assert "upgrade loom-memory-sqlite" in text
    assert path.read_bytes() == before


async def test_a_new_migration_upgrades_an_old_file_and_keeps_its_rows(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "loom.db"
    store = SqliteStore(path)
    await store.open()
    await store.create_run(RunInfo(run_id="r1", session_id="s", goal="old"))
    await store.close()
    step = (2, "memories", ("CREATE TABLE memories (id INTEGER PRIMARY KEY, text TEXT NOT NULL)",))
    monkeypatch.setattr(database, "MIGRATIONS", (*database.MIGRATIONS, step))
    monkeypatch.setattr(database, "LATEST", 2)
    upgraded = SqliteStore(path)
    await upgraded.open()
    assert await upgraded.schema_version() == 2
    stored = await upgraded.load_run("r1")
    await upgraded.close()
    assert stored is not None and stored.info.goal == "old"
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM memories").fetchone() == (0,)
    conn.close()


async def test_a_locked_database_is_waited_for_without_blocking_the_loop(tmp_path: Path) -> None:
    path = tmp_path / "loom.db"
    store = SqliteStore(path, busy_timeout=10)
    await store.open()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    tick_task = asyncio.create_task(ticker())
    write = asyncio.create_task(store.create_run(RunInfo(run_id="r1", session_id="s", goal="g")))
    await asyncio.sleep(0.4)
    assert not write.done() and ticks >= 10  # the write waits; the event loop does not
    other.execute("COMMIT")
    other.close()
    await asyncio.wait_for(write, 10)
    tick_task.cancel()
    assert await store.load_run("r1") is not None
    await store.close()


async def test_a_lock_held_too_long_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "loom.db"
    store = SqliteStore(path, busy_timeout=0.3)
    await store.open()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    started = time.monotonic()
    try:
        with pytest.raises(StoreError, match=r"still locked by another connection after 0\.3s"):
            await store.create_run(RunInfo(run_id="r1", session_id="s", goal="g"))
    finally:
        other.execute("ROLLBACK")
        other.close()
        await store.close()
    assert time.monotonic() - started < 5


def test_the_entry_point_module_imports_no_store_code() -> None:
    code = ("import sys, loom_memory_sqlite; "
            "print(any(m in sys.modules for m in ('sqlite3', 'loom_memory_sqlite.store')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
