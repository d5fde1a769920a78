"""The retry policy: which failures deserve another attempt, and how long to wait.

Pure functions over :class:`RetrySettings`, so the policy can be tested and
reused without a run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from loom.errors import CircuitOpenError, ContextOverflowError, ProviderError
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

#: 4xx statuses that may succeed when sent again unchanged: request timeout,
#: conflict (a lock or a concurrent edit on the provider's side) and rate limit.
RETRYABLE_CLIENT_STATUSES = frozenset({408, 409, 429})


class RetrySettings(BaseModel):
    """``[settings.retry]``: how often and how patiently a model call is retried.

    ``max_attempts`` counts the first call too (1 disables retrying).
    The wait before attempt *n + 1* is drawn uniformly from
    ``[0, min(max_delay, base_delay * 2 ** (n - 1))]`` ("full jitter"),
    unless the provider said how long to wait (``Retry-After``): then exactly
    that, and if it asks for more than ``max_retry_after`` seconds the call
    is not retried at all (so a fallback can take over at once).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_attempts: int = Field(default=4, ge=1, description="attempts in all, the first included")
    base_delay: float = Field(default=0.5, ge=0, description="seconds; the first backoff cap")
    max_delay: float = Field(default=30.0, ge=0, description="seconds; the largest backoff cap")
    max_retry_after: float = Field(
        default=60.0, ge=0, description="seconds; a longer Retry-After gives up instead")

    @field_validator("max_delay")
    @classmethod
    def _max_not_below_base(cls, value: float, info: ValidationInfo) -> float:
        base = info.data.get("base_delay")
        if base is not None and value < base:
            raise ValueError(f"max_delay ({value}) must be at least base_delay ({base})")
        return value


def is_retryable(error: BaseException) -> bool:
    """Whether sending the same request again may succeed.

    Only a :class:`~loom.errors.ProviderError` marked ``retryable`` by its
    provider (429, 5xx, 529, connection errors, truncated streams) qualifies,
    and never a context overflow, an open circuit, or a 4xx that is the
    caller's fault (every 4xx but 408, 409 and 429), whatever the flag says.
    """
    if not isinstance(error, ProviderError) or not error.retryable:
        return False
    if isinstance(error, ContextOverflowError | CircuitOpenError):
        return False
    status = error.status
    return not (status is not None and 400 <= status < 500
                and status not in RETRYABLE_CLIENT_STATUSES)


def backoff_cap(attempt: int, settings: RetrySettings) -> float:
    """The largest wait after failed attempt number ``attempt`` (1-based)."""
    exponent = min(max(attempt - 1, 0), 62)
    return float(min(settings.max_delay, settings.base_delay * (2.0 ** exponent)))


@dataclass(frozen=True)
class RetryDecision:
    """What to do after a failed attempt: wait ``delay`` seconds and retry,
    or give up (``delay is None``) for ``reason``."""

    delay: float | None
    reason: str

    @property
    def retry(self) -> bool:
        """Whether another attempt follows."""
        return self.delay is not None


def decide(error: BaseException, attempt: int, settings: RetrySettings,
           random: Callable[[], float]) -> RetryDecision:
    """Decide whether failed attempt number ``attempt`` is retried, and after how long.

    ``random`` returns a float in ``[0, 1)`` (``random.random`` by default in
    the plugin; injected in tests).
    """
    if not is_retryable(error):
        return RetryDecision(None, "not retryable")
    if attempt >= settings.max_attempts:
        return RetryDecision(None, f"gave up after {attempt} attempt(s) "
                                   f"(max_attempts = {settings.max_attempts})")
    assert isinstance(error, ProviderError)
    if error.retry_after is not None:
        wait = max(0.0, float(error.retry_after))
        if wait > settings.max_retry_after:
            return RetryDecision(None, f"provider asked to wait {wait:g}s, more than "
                                       f"max_retry_after = {settings.max_retry_after:g}s")
        return RetryDecision(wait, f"provider asked to wait {wait:g}s (Retry-After)")
    wait = backoff_cap(attempt, settings) * random()
    return RetryDecision(wait, "exponential backoff with full jitter")
