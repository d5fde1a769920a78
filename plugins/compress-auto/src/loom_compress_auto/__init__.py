"""Context compression level **auto** (ρ ≥ 0.9 by default).

Everything outside the protected tail except the user's messages (which
stay verbatim) is replaced by one structured summary written by the run's
model, with the sections *Goal*, *User messages*, *Decisions*, *Files
touched*, *Errors and fixes* and *Open work*. The summary message starts
with a stub line whose restore reference brings back every replaced
message, and ends with the most recently used files re-added (restored
from disk when they had been masked). Pinned state — goal, plan, the fact
ledger — stays in the working partition, and facts of the replaced part go
to the ledger first.

With ``use_model = false``, or when the model call fails, it degrades to a
summary built without a model (the same sections), i.e. a collapse of
everything but the protected parts. Settings: ``[settings.auto]``
(:class:`AutoSettings`).
"""

from __future__ import annotations

from loom.hookspecs import hookimpl
from loom.records import CompressorRecord, Record

from loom_compress_auto.settings import AutoSettings

__all__ = ["AutoSettings", "loom_register_compressors"]


@hookimpl
def loom_register_compressors() -> list[Record]:
    """Register the ``auto`` level (threshold 0.9)."""
    return [
        CompressorRecord(
            name="auto",
            factory="loom_compress_auto.level:Auto.from_settings",
            settings=AutoSettings,
            threshold=AutoSettings().threshold,
            description="structured summary by the model (or without one)",
        )
    ]
