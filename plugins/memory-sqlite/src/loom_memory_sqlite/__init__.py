"""Loom's embedded durable store on SQLite (the ``sqlite`` store record).

Every run, event, approval, artifact, tool-call state, model response and
checkpoint goes to one SQLite file per project (``.loom/loom.db`` under the
working directory unless ``[settings.sqlite] path`` says otherwise), so a run
can be resumed after its process dies (:meth:`loom.api.AgentRuntime.resume`)
and replayed offline (:mod:`loom_memory_sqlite.replay`).

This module is the entry point and stays import-light: the store itself is
in :mod:`loom_memory_sqlite.store`, imported when the record is used.
"""

from __future__ import annotations

from loom.hookspecs import hookimpl
from loom.records import StoreRecord

from loom_memory_sqlite.settings import SqliteSettings

#: The store record's name (``[stages] store = "sqlite"``, ``[settings.sqlite]``).
STORE_NAME = "sqlite"

__all__ = ["STORE_NAME", "SqliteSettings", "loom_register_stores"]


@hookimpl
def loom_register_stores() -> list[StoreRecord]:
    """Register the SQLite store, built from ``[settings.sqlite]``."""
    return [StoreRecord(
        name=STORE_NAME,
        factory="loom_memory_sqlite.store:SqliteStore.from_settings",
        settings=SqliteSettings,
        description="runs, events, approvals, artifacts and checkpoints in one SQLite file",
    )]
