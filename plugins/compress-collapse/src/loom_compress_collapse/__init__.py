"""Context compression level **collapse** (ρ ≥ 0.8 by default).

Finished spans of the history outside the protected tail are folded into
one digest each — an assistant message that starts with a stub line (its
restore reference brings back every original message) and lists what the
span did: the agent's words, each call and its outcome. A span is finished
when

- the agent said it was done with something ("done", "fixed", "tests pass",
  "completed" …), or
- a failing tool call later succeeded with the same arguments (an error
  fixed).

User messages are never inside a span (they stay verbatim). Facts in the
folded outputs go to the fact ledger first. With ``use_model = true`` the
digest body is written by the run's model (the deterministic digest is used
when the call fails). Settings: ``[settings.collapse]``
(:class:`CollapseSettings`).
"""

from __future__ import annotations

from loom.hookspecs import hookimpl
from loom.records import CompressorRecord, Record

from loom_compress_collapse.settings import CollapseSettings

__all__ = ["CollapseSettings", "loom_register_compressors"]


@hookimpl
def loom_register_compressors() -> list[Record]:
    """Register the ``collapse`` level (threshold 0.8)."""
    return [
        CompressorRecord(
            name="collapse",
            factory="loom_compress_collapse.level:Collapse.from_settings",
            settings=CollapseSettings,
            threshold=CollapseSettings().threshold,
            description="finished spans folded into digests",
        )
    ]
