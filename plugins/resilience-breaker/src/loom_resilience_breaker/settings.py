"""``[settings.breaker]``: when a circuit opens and for how long."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class BreakerSettings(BaseModel):
    """``[settings.breaker]``: thresholds of every circuit breaker.

    A closed circuit opens when ``failure_threshold`` calls in a row failed,
    or when at least ``min_calls`` calls ended in the last ``window_seconds``
    and at least ``failure_rate`` of them failed. An open circuit lets one
    probe call through after ``cooldown`` seconds.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    failure_threshold: int = Field(default=5, ge=1, description="consecutive failures that open")
    failure_rate: float = Field(default=0.5, gt=0, le=1,
                                description="share of failed calls in the window that opens")
    min_calls: int = Field(default=10, ge=1, description="calls in the window before the rate counts")
    window_seconds: float = Field(default=60.0, gt=0, description="length of the sliding window")
    cooldown: float = Field(default=30.0, ge=0, description="seconds open before a probe call")
