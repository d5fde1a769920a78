"""Context compression level **snip** (ρ ≥ 0.5 by default): no model call.

Outside the protected tail it replaces

- an older read of a file that was read again later,
- a tool output identical to a later one,

with a one-line stub, removes progress noise (download bars, percentages,
carriage-return redraws) from outputs, and moves an oversized output to
disk, leaving a preview (head and tail) and its restore reference. Facts in
the part of an oversized output that leaves the window go to the fact
ledger first. Settings: ``[settings.snip]`` (:class:`SnipSettings`).
"""

from __future__ import annotations

from loom.hookspecs import hookimpl
from loom.records import CompressorRecord, Record

from loom_compress_snip.settings import SnipSettings

__all__ = ["SnipSettings", "loom_register_compressors"]


@hookimpl
def loom_register_compressors() -> list[Record]:
    """Register the ``snip`` level (threshold 0.5)."""
    return [
        CompressorRecord(
            name="snip",
            factory="loom_compress_snip.level:Snip.from_settings",
            settings=SnipSettings,
            threshold=SnipSettings().threshold,
            description="superseded reads, duplicates, progress noise, oversized outputs",
        )
    ]
