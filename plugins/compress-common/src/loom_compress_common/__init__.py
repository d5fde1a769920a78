"""Shared parts of Loom's context compression levels.

One place for what the levels (snip, micro, collapse, auto, reactive,
renewal) share, so none of them copies another:

- :mod:`.store` — the restore store on disk (``.loom/context/<run id>/``);
- :mod:`.stubs` — the stub format and restore references;
- :mod:`.facts` and :mod:`.ledger` — fact extraction and the pinned fact ledger;
- :mod:`.history` — units, the protected tail, scratch windows;
- :mod:`.digest` — span digests and the no-model structured summary;
- :mod:`.restore` — the ``context_restore`` tool this plugin registers;
- :mod:`.dashboard` — pressure and partitions over a run, as a terminal
  chart or an HTML page.
"""

from __future__ import annotations

from loom.hookspecs import hookimpl
from loom.records import Record

from loom_compress_common.ledger import LEDGER_KEY, Harvester, Ledger, ledger_chars
from loom_compress_common.restore import context_restore
from loom_compress_common.settings import LevelSettings
from loom_compress_common.store import RestoreError, RestoreStore
from loom_compress_common.stubs import describe_call, is_stub, refs_in, stub

__all__ = [
    "LEDGER_KEY",
    "Harvester",
    "Ledger",
    "LevelSettings",
    "RestoreError",
    "RestoreStore",
    "context_restore",
    "describe_call",
    "is_stub",
    "ledger_chars",
    "loom_register_tools",
    "refs_in",
    "stub",
]


@hookimpl
def loom_register_tools() -> list[Record]:
    """Register the ``context_restore`` tool, which reads back compressed content."""
    return [context_restore]
