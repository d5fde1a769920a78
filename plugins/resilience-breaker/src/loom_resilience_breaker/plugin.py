"""The circuit breaker layer around every model call."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal

from loom.errors import CircuitOpenError, LoomError, ProviderError
from loom.hookspecs import hookimpl
from loom.records import Record, SettingsRecord

from loom_resilience_breaker.settings import BreakerSettings
from loom_resilience_breaker.state import BreakerBoard, Clock, Transition

if TYPE_CHECKING:
    from loom.requests import ModelRequest, ModelResponse
    from loom.run import Run

#: The ``[settings.<name>]`` table this plugin reads.
SETTINGS_NAME = "breaker"

Outcome = Literal["success", "failure", "neutral"]


def classify(error: BaseException | None) -> Outcome:
    """What a call's ending says about the provider's health.

    - ``success``: it answered, even with a non-retryable error (a 400, an
      auth error, a context overflow): the provider is up, the request was wrong;
    - ``failure``: a retryable :class:`~loom.errors.ProviderError` (429, 5xx,
      529, a dropped connection, a truncated stream);
    - ``neutral``: anything else (cancellation, another layer's error, an
      open circuit further in), which says nothing about the provider.
    """
    if error is None:
        return "success"
    if isinstance(error, CircuitOpenError) or not isinstance(error, ProviderError):
        return "neutral"
    return "failure" if error.retryable else "success"


class BreakerPlugin:
    """Circuit breaking per provider and model (``loom_wrap_model_call``, ``trylast``).

    Before each call the breaker of the request's provider and model is
    asked for a permit; an open circuit fails fast with
    :class:`~loom.errors.CircuitOpenError`. The call whose failure opens the
    circuit also ends with a ``CircuitOpenError`` (naming that failure, its
    cause chained), so a retry layer outside stops at once instead of
    sleeping through a backoff only to be refused. Each transition is a
    ``breaker.opened`` / ``breaker.half_open`` / ``breaker.closed`` event.

    The layer is innermost (``trylast``): every real attempt, retries
    included, is one outcome for the breaker, and the half-open probe is
    exactly one call. ``board`` holds the breakers (shared by every run that
    uses this plugin instance); ``clock`` (default :func:`time.monotonic`)
    is injectable for tests.
    """

    def __init__(self, *, board: BreakerBoard | None = None, clock: Clock | None = None) -> None:
        if board is not None and clock is not None:
            raise ValueError("pass either board= or clock= (a board has its own clock)")
        self.board = board or BreakerBoard(clock)

    @hookimpl
    def loom_register_settings(self) -> list[Record]:
        """Declare ``[settings.breaker]`` (see :class:`BreakerSettings`)."""
        return [SettingsRecord(name=SETTINGS_NAME, settings=BreakerSettings,
                               description="circuit breaker per provider and model")]

    @hookimpl(trylast=True)
    async def loom_wrap_model_call(
        self, request: ModelRequest, run: Run,
        call_next: Callable[[ModelRequest], Awaitable[ModelResponse]],
    ) -> ModelResponse:
        """Fail fast when the circuit is open; otherwise call and count the outcome."""
        provider, model = _target(request, run)
        breaker = self.board.breaker(provider, model, _settings(run))
        permit, transition = breaker.acquire()
        error: ProviderError | None = None
        try:
            if transition is not None:
                await _report(run, transition)
            response = await call_next(request)
        except ProviderError as exc:
            error = exc
        except BaseException:
            breaker.release(permit)
            raise
        outcome = classify(error)
        if outcome == "success":
            transition = breaker.record_success(permit)
        elif outcome == "failure":
            transition = breaker.record_failure(permit)
        else:
            breaker.release(permit)
            transition = None
        if transition is not None:
            await _report(run, transition)
            if error is not None and transition.state == "open":
                raise breaker.tripped_error(error) from error
        if error is not None:
            raise error
        return response


async def _report(run: Run, transition: Transition) -> None:
    await run.emit(transition.event_kind, **transition.event_data())


def _settings(run: Run) -> BreakerSettings:
    found = run.settings(SETTINGS_NAME)
    return found if isinstance(found, BreakerSettings) else BreakerSettings()


def _target(request: ModelRequest, run: Run) -> tuple[str, str]:
    """The provider record name and model a request goes to (the breaker's key)."""
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
