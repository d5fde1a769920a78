"""``[settings.renewal]``."""

from __future__ import annotations

from loom_compress_common.settings import LevelSettings
from pydantic import Field


class RenewalSettings(LevelSettings):
    """Options of renewal (the kernel calls it when ρ ≥ 1.0 after the other levels).

    ``after_auto_compactions``: also renew after this many auto compactions
    since the last renewal (0: never); ``handoff_chars``: the most characters
    of the hand-off note; ``ledger_fraction``: the fact ledger's size limit
    as a share of the budget.
    """

    threshold: float = Field(default=1.0, ge=0.0, le=4.0)
    after_auto_compactions: int = Field(default=3, ge=0)
    handoff_chars: int = Field(default=4000, ge=400)
    ledger_fraction: float = Field(default=0.1, gt=0.0, le=0.5)
