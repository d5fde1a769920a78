"""``[settings.collapse]``."""

from __future__ import annotations

from loom_compress_common.settings import LevelSettings
from pydantic import Field


class CollapseSettings(LevelSettings):
    """Options of the collapse level.

    ``min_span_messages``: shorter finished spans are left alone;
    ``digest_chars``: the most characters a digest keeps;
    ``use_model``: let the run's model write each digest (falls back to the
    deterministic one on any error);
    ``ledger_fraction``: the fact ledger's size limit as a share of the budget.
    """

    threshold: float = Field(default=0.8, ge=0.0, le=4.0)
    min_span_messages: int = Field(default=3, ge=1)
    digest_chars: int = Field(default=1500, ge=200)
    use_model: bool = False
    ledger_fraction: float = Field(default=0.1, gt=0.0, le=0.5)
