"""Loom's durable store on PostgreSQL (the ``postgres`` store record).

The same :class:`loom.store.RunStore` contract as the embedded SQLite store,
for several machines sharing one database. Select it with
``[stages] store = "postgres"`` and give ``[settings.postgres] dsn``.

This entry-point module stays import-light: psycopg is imported only when
the store is built (:mod:`loom_memory_postgres.store`).
"""

from __future__ import annotations

from loom.hookspecs import hookimpl
from loom.records import StoreRecord

from loom_memory_postgres.settings import PostgresSettings

#: The store record's name (``[stages] store = "postgres"``, ``[settings.postgres]``).
STORE_NAME = "postgres"

__all__ = ["STORE_NAME", "PostgresSettings", "loom_register_stores"]


@hookimpl
def loom_register_stores() -> list[StoreRecord]:
    """Register the PostgreSQL store, built from ``[settings.postgres]``."""
    return [StoreRecord(
        name=STORE_NAME,
        factory="loom_memory_postgres.store:PostgresStore.from_settings",
        settings=PostgresSettings,
        description="runs, events, approvals, artifacts and checkpoints in PostgreSQL",
    )]
