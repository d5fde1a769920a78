"""``[settings.reactive]``."""

from __future__ import annotations

from loom_compress_common.settings import LevelSettings
from pydantic import Field


class ReactiveSettings(LevelSettings):
    """Options of the reactive level (``threshold`` is not used: it runs on overflow).

    ``summary_chars``: the most characters of the summary;
    ``ledger_fraction``: the fact ledger's size limit as a share of the budget.
    """

    threshold: float = Field(default=1.0, ge=0.0, le=4.0)
    summary_chars: int = Field(default=4000, ge=400)
    ledger_fraction: float = Field(default=0.1, gt=0.0, le=0.5)
