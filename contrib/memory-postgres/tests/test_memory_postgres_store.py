"""The PostgreSQL store's record, settings and errors that need no server.

The store contract (with a real server) is tested for every store in tests/store.
"""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
from loom.api import AgentRuntime
from loom.config import load_config
from loom.errors import ConfigError
from loom.profile import AgentProfile
from loom.testing import ScriptedModel

from loom_memory_postgres.errors import StoreError
from loom_memory_postgres.store import PostgresStore, describe


def runtime(config: dict[str, object]) -> AgentRuntime:
    data = {"plugins": {"modules": ["loom_memory_postgres"]}, "stages": {"store": "postgres"},
            **config}
    return AgentRuntime(profile=AgentProfile(), provider=ScriptedModel(["ok"]),
                        config=load_config(data=data, environ={}))


def test_installing_it_does_not_change_the_default_store() -> None:
    # no entry point: the embedded SQLite store stays the default until postgres is chosen
    rt = AgentRuntime(profile=AgentProfile(), provider=ScriptedModel(["ok"]),
                      config=load_config(data={}, environ={}))
    assert "postgres" not in rt.plugins.records("store")


def test_the_plugin_module_builds_the_store_from_settings() -> None:
    rt = runtime({"settings": {"postgres": {"dsn": "postgresql://ann@db.internal/app",
                                            "schema": "team_a", "pool_size": 2}}})
    assert isinstance(rt.store, PostgresStore)
    assert (rt.store.schema, rt.store.pool_size) == ("team_a", 2)
    assert rt.store.where == "ann@db.internal:5432/app, schema team_a"


def test_bad_settings_name_the_key() -> None:
    with pytest.raises(ConfigError, match="settings.postgres.schema"):
        runtime({"settings": {"postgres": {"schema": "Drop Table"}}})
    with pytest.raises(ConfigError, match="settings.postgres.pool_size"):
        runtime({"settings": {"postgres": {"pool_size": 0}}})
    with pytest.raises(ConfigError, match="unknown setting"):
        runtime({"settings": {"postgres": {"url": "postgresql://x"}}})


def test_passwords_never_appear_in_what_the_store_says() -> None:
    store = PostgresStore("postgresql://ann:s3cret@db.internal:6543/app")
    assert "s3cret" not in repr(store) and "s3cret" not in store.where
    assert describe("host=h port=1 user=u password=pw dbname=d", "s") == "u@h:1/d, schema s"


async def test_no_server_is_a_clear_error_naming_where() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket is closed
    store = PostgresStore(f"postgresql://ann:s3cret@127.0.0.1:{port}/app", connect_timeout=3)
    with pytest.raises(StoreError) as raised:
        await store.open()
    text = str(raised.value)
    assert f"127.0.0.1:{port}/app" in text and "cannot connect" in text and "s3cret" not in text
    with pytest.raises(StoreError, match="cannot connect"):  # later calls repeat why
        await store.list_runs()


def test_the_entry_point_module_does_not_import_psycopg() -> None:
    code = "import sys, loom_memory_postgres; print('psycopg' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
