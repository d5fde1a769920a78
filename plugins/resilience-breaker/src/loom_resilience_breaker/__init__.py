"""Loom plugin: a circuit breaker per provider and model around every model call.

A provider that keeps failing is cut off for a cool-down: calls fail fast
with :class:`~loom.errors.CircuitOpenError` instead of waiting on it, then a
single probe call decides whether the circuit closes again. The state
machine is documented in :mod:`loom_resilience_breaker.state`; thresholds
are set in ``[settings.breaker]`` (see :class:`BreakerSettings`).

The installed plugin keeps one :class:`BreakerBoard` for the whole process
(:func:`installed_board`), so every run shares what it learnt about a
provider. To inject a clock (tests), disable the entry-point plugin
(``[plugins] disable = ["resilience-breaker"]``) and pass your own
``BreakerPlugin(clock=...)`` to the runtime.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from loom.hookspecs import hookimpl

from loom_resilience_breaker.plugin import SETTINGS_NAME, BreakerPlugin, Outcome, classify
from loom_resilience_breaker.settings import BreakerSettings
from loom_resilience_breaker.state import (
    EVENT_FOR_STATE,
    BreakerBoard,
    BreakerSnapshot,
    CircuitBreaker,
    Clock,
    Permit,
    State,
    Transition,
)

if TYPE_CHECKING:
    from loom.records import Record
    from loom.requests import ModelRequest, ModelResponse
    from loom.run import Run

_installed = BreakerPlugin()


def installed_board() -> BreakerBoard:
    """The breakers of the installed (entry-point) plugin, shared by the process."""
    return _installed.board


@hookimpl
def loom_register_settings() -> list[Record]:
    """Declare ``[settings.breaker]`` (see :class:`BreakerSettings`)."""
    return _installed.loom_register_settings()


@hookimpl(trylast=True)
async def loom_wrap_model_call(
    request: ModelRequest, run: Run,
    call_next: Callable[[ModelRequest], Awaitable[ModelResponse]],
) -> ModelResponse:
    """Circuit-break model calls (see :class:`BreakerPlugin`)."""
    return await _installed.loom_wrap_model_call(request, run, call_next)


__all__ = [
    "EVENT_FOR_STATE",
    "SETTINGS_NAME",
    "BreakerBoard",
    "BreakerPlugin",
    "BreakerSettings",
    "BreakerSnapshot",
    "CircuitBreaker",
    "Clock",
    "Outcome",
    "Permit",
    "State",
    "Transition",
    "classify",
    "installed_board",
]
