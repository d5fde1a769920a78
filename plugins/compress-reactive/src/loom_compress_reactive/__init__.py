"""Context compression on a provider's **context overflow** (trigger ``overflow``).

When a model call fails with :class:`~loom.errors.ContextOverflowError` the
kernel calls the overflow compressors once and retries the call once.
Reactive applies the strongest remedies at once, without a model call, as
one edit:

1. micro with no kept turns and no batch minimum: every tool output outside
   the protected tail is masked, each restorable on its own, its facts kept
   in the ledger;
2. auto without a model: everything but the user's messages and the
   protected tail becomes one structured summary.

(Snip would add nothing here: every output it could shorten is masked.)
It never loops: one call, one edit. Settings: ``[settings.reactive]``
(:class:`ReactiveSettings`).
"""

from __future__ import annotations

from loom.hookspecs import hookimpl
from loom.records import CompressorRecord, Record

from loom_compress_reactive.settings import ReactiveSettings

__all__ = ["ReactiveSettings", "loom_register_compressors"]


@hookimpl
def loom_register_compressors() -> list[Record]:
    """Register the ``reactive`` level (trigger ``overflow``)."""
    return [
        CompressorRecord(
            name="reactive",
            factory="loom_compress_reactive.level:Reactive.from_settings",
            settings=ReactiveSettings,
            threshold=ReactiveSettings().threshold,
            trigger="overflow",
            description="strongest remedies at once on a context overflow",
        )
    ]
