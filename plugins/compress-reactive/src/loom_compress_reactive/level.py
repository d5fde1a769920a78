"""The reactive level's compressor (see the package docstring)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from loom.context import ContextWindow
from loom.invariants import ContextEdit
from loom_compress_auto.level import Auto
from loom_compress_auto.settings import AutoSettings
from loom_compress_common.history import apply, combine, scratch
from loom_compress_common.store import RestoreStore
from loom_compress_micro.level import Micro
from loom_compress_micro.settings import MicroSettings

from loom_compress_reactive.settings import ReactiveSettings


class Reactive:
    """Mask every output, then summarise without a model — as one edit."""

    level = "reactive"

    def __init__(self, settings: ReactiveSettings | None = None) -> None:
        self.settings = settings or ReactiveSettings()

    @classmethod
    def from_settings(cls, settings: ReactiveSettings) -> Reactive:
        """The factory the kernel calls with ``[settings.reactive]``."""
        return cls(settings)

    async def compress(self, window: ContextWindow, run: Any) -> ContextEdit | None:
        """Propose one edit applying every remedy (None when none changes anything)."""
        return self.edit(window, RestoreStore.for_run(run))

    def edit(self, window: ContextWindow, store: RestoreStore) -> ContextEdit | None:
        """The combined edit, given where to store originals."""
        s = self.settings
        micro = Micro(
            MicroSettings(
                keep_turns=0, batch_fraction=0.0, min_output_chars=200, ledger_fraction=s.ledger_fraction
            )
        )
        auto = Auto(
            AutoSettings(
                use_model=False,
                summary_max_tokens=max(100, s.summary_chars // 4),
                recent_files=0,
                ledger_fraction=s.ledger_fraction,
            )
        )
        work = scratch(window)
        edits: list[ContextEdit] = []
        steps: list[Callable[[ContextWindow], ContextEdit | None]] = [
            lambda w: micro.edit(w, store),
            lambda w: auto.edit(w, store, how="without a model (context overflow)"),
        ]
        for step in steps:
            edit = step(work)
            if edit is not None and apply(work, edit):
                edits.append(edit)
        applied = ", ".join(e.level for e in edits)
        return combine(self.level, f"context overflow: {applied or 'nothing to do'}", work, window, edits)
