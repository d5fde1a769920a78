"""Context compression level **micro** (ρ ≥ 0.7 by default): no model call.

Tool outputs older than the last ``keep_turns`` assistant turns (and outside
the protected tail) are masked in batches: first their facts — paths,
numbers, identifiers, settings, errors and how they were fixed — and the
decisions, user constraints and files touched before them go to the pinned
**Fact ledger** in the working partition,
then each output is replaced by a one-line stub with its restore
reference. It only acts when the maskable outputs hold at least
``batch_fraction`` of the budget, so the window changes in a few large
steps rather than one output per step (friendlier to prompt caches).
Settings: ``[settings.micro]`` (:class:`MicroSettings`).
"""

from __future__ import annotations

from loom.hookspecs import hookimpl
from loom.records import CompressorRecord, Record

from loom_compress_micro.settings import MicroSettings

__all__ = ["MicroSettings", "loom_register_compressors"]


@hookimpl
def loom_register_compressors() -> list[Record]:
    """Register the ``micro`` level (threshold 0.7)."""
    return [
        CompressorRecord(
            name="micro",
            factory="loom_compress_micro.level:Micro.from_settings",
            settings=MicroSettings,
            threshold=MicroSettings().threshold,
            description="fact ledger, then old tool outputs masked in batches",
        )
    ]
