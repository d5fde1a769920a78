"""The retry layer around every model call."""

from __future__ import annotations

import asyncio
import random as _random
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from loom.errors import LoomError, ProviderError
from loom.hookspecs import hookimpl
from loom.records import Record, SettingsRecord

from loom_resilience_retry.policy import RetrySettings, decide

if TYPE_CHECKING:
    from loom.requests import ModelRequest, ModelResponse
    from loom.run import Run

Sleep = Callable[[float], Awaitable[Any]]

#: The ``[settings.<name>]`` table this plugin reads.
SETTINGS_NAME = "retry"


class RetryPlugin:
    """Retries failed model calls (``loom_wrap_model_call``).

    A failed attempt is retried when :func:`~loom_resilience_retry.policy.is_retryable`
    says so and attempts remain; each retry is a ``retry.scheduled`` event,
    and giving up on a retryable error is a ``retry.gave_up`` event. The
    error of the last attempt propagates unchanged.

    ``sleep`` (default :func:`asyncio.sleep`) and ``random`` (default
    :func:`random.random`) are injectable so tests never wait for real.

    The layer has no ordering marker: it sits inside a fallback layer
    (``tryfirst``) and outside a circuit breaker (``trylast``), so every
    attempt is seen by the breaker and an open circuit ends the retries at once.
    """

    def __init__(self, *, sleep: Sleep | None = None,
                 random: Callable[[], float] | None = None) -> None:
        self._sleep: Sleep = sleep or asyncio.sleep
        self._random = random or _random.random

    @hookimpl
    def loom_register_settings(self) -> list[Record]:
        """Declare ``[settings.retry]`` (see :class:`RetrySettings`)."""
        return [SettingsRecord(name=SETTINGS_NAME, settings=RetrySettings,
                               description="retry failed model calls with backoff")]

    @hookimpl
    async def loom_wrap_model_call(
        self, request: ModelRequest, run: Run,
        call_next: Callable[[ModelRequest], Awaitable[ModelResponse]],
    ) -> ModelResponse:
        """Call inward; on a retryable provider error wait and call again."""
        settings = _settings(run)
        attempt = 1
        while True:
            try:
                return await call_next(request)
            except ProviderError as exc:
                decision = decide(exc, attempt, settings, self._random)
                provider, model = _target(request, run)
                if not decision.retry:
                    if decision.reason != "not retryable":
                        await run.emit("retry.gave_up", provider=provider, model=model,
                                       attempts=attempt, reason=decision.reason,
                                       **_error_data(exc))
                    raise
                delay = decision.delay or 0.0
                await run.emit("retry.scheduled", provider=provider, model=model,
                               attempt=attempt, next_attempt=attempt + 1,
                               max_attempts=settings.max_attempts, delay=round(delay, 6),
                               reason=decision.reason, **_error_data(exc))
            await self._sleep(delay)
            attempt += 1


def _settings(run: Run) -> RetrySettings:
    found = run.settings(SETTINGS_NAME)
    return found if isinstance(found, RetrySettings) else RetrySettings()


def _error_data(exc: ProviderError) -> dict[str, Any]:
    return {"error": str(exc), "error_type": type(exc).__name__, "status": exc.status,
            "retry_after": exc.retry_after}


def _target(request: ModelRequest, run: Run) -> tuple[str, str]:
    """The provider record name and model a request goes to (for events)."""
    runtime = run.runtime
    name = request.metadata.get("provider")
    provider: Any = None
    if name:
        try:
            provider = runtime.provider_named(str(name))
        except LoomError:
            provider = None
    else:
        provider = runtime.provider
        name = (runtime.config.stages.provider or getattr(provider, "name", "")
                or type(provider).__name__)
    model = request.model or str(getattr(provider, "model", "") or "")
    return str(name), model
