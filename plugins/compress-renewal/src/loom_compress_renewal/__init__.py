"""Context **renewal** (trigger ``renewal``): a fresh window, nothing lost.

The kernel calls renewal when pressure is still ρ ≥ 1.0 after the other
levels ran; this plugin also renews after ``after_auto_compactions`` auto
compactions (it counts them through ``loom_context_edited`` and renews
between steps through :meth:`loom.run.Run.apply_edit`).

Renewal checkpoints the whole window to disk, then continues with a fresh
history: the system partition, goal and pinned state (with the fact ledger)
stay in place, the user's messages stay verbatim (the kernel requires it)
and the protected last turns stay as they were; a pinned **Hand-off note**
says what happened so far and gives the checkpoint's restore reference,
which the ``context_restore`` tool reads (with ``grep`` to find one thing).
Settings: ``[settings.renewal]`` (:class:`RenewalSettings`).
"""

from __future__ import annotations

from typing import Any

from loom.hookspecs import hookimpl
from loom.records import CompressorRecord, Record

from loom_compress_renewal.settings import RenewalSettings

__all__ = ["RenewalSettings", "loom_context_edited", "loom_register_compressors", "loom_step_finished"]

_COUNT = "compress.auto_compactions"
_RENEWED_AT = "compress.renewed_at_auto"


@hookimpl
def loom_register_compressors() -> list[Record]:
    """Register the ``renewal`` level (trigger ``renewal``)."""
    return [
        CompressorRecord(
            name="renewal",
            factory="loom_compress_renewal.level:Renewal.from_settings",
            settings=RenewalSettings,
            threshold=RenewalSettings().threshold,
            trigger="renewal",
            description="checkpoint to disk and continue in a fresh window",
        )
    ]


@hookimpl
def loom_context_edited(edit: Any, run: Any) -> None:
    """Count applied auto compactions."""
    if edit.level == "auto":
        run.state[_COUNT] = int(run.state.get(_COUNT, 0)) + 1


@hookimpl
async def loom_step_finished(outcome: Any, run: Any) -> None:
    """Renew after ``after_auto_compactions`` auto compactions since the last renewal."""
    settings = run.settings("renewal")
    if not isinstance(settings, RenewalSettings):
        settings = RenewalSettings()
    selected = run.runtime.config.stages.compression
    if (
        outcome.final
        or outcome.stop
        or not settings.after_auto_compactions
        or (selected is not None and "renewal" not in selected)
    ):
        return
    count = int(run.state.get(_COUNT, 0))
    if count - int(run.state.get(_RENEWED_AT, 0)) < settings.after_auto_compactions:
        return
    run.state[_RENEWED_AT] = count
    from loom_compress_renewal.level import Renewal

    edit = await Renewal(settings).compress(run.window, run)
    if edit is not None:
        edit = edit.model_copy(update={"reason": f"{edit.reason} after {count} auto compactions"})
        await run.apply_edit(edit)
