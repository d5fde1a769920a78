"""``[settings.loop-guard]``: budget overrides and loop detection options."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class LoopGuardSettings(BaseModel):
    """Settings of the loop guard.

    Budgets default to the agent profile's ``max_total_tokens``,
    ``max_wall_seconds`` and ``max_usd``; a value here overrides the
    profile's. ``repeat_limit`` identical tool calls in a row stop the run,
    and so does a cycle of 2…``max_cycle_length`` different calls repeated
    ``cycle_repeats`` times in a row (A-B-A-B with the defaults).
    ``warn_at`` is the fraction of a budget (steps included) at which the
    model is warned once, in a Δ injection.
    """

    model_config = ConfigDict(extra="forbid")

    max_total_tokens: int | None = Field(default=None, gt=0)
    max_wall_seconds: float | None = Field(default=None, gt=0)
    max_usd: float | None = Field(default=None, gt=0)
    loop_detection: bool = True
    repeat_limit: int = Field(default=3, ge=2)
    max_cycle_length: int = Field(default=2, ge=2, le=8)
    cycle_repeats: int = Field(default=2, ge=2)
    warn: bool = True
    warn_at: float = Field(default=0.8, gt=0.0, lt=1.0)
