"""``[settings.micro]``."""

from __future__ import annotations

from loom_compress_common.settings import LevelSettings
from pydantic import Field


class MicroSettings(LevelSettings):
    """Options of the micro level.

    ``keep_turns``: outputs of the last N assistant turns stay whole;
    ``min_output_chars``: smaller outputs are not worth a stub;
    ``batch_fraction``: act only when the maskable outputs hold at least this
    share of the budget (0 masks whatever is eligible);
    ``ledger_fraction``: the fact ledger's size limit as a share of the budget.
    """

    threshold: float = Field(default=0.7, ge=0.0, le=4.0)
    keep_turns: int = Field(default=4, ge=0)
    min_output_chars: int = Field(default=400, ge=0)
    batch_fraction: float = Field(default=0.05, ge=0.0, le=1.0)
    ledger_fraction: float = Field(default=0.1, gt=0.0, le=0.5)
