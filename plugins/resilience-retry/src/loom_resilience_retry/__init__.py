"""Loom plugin: retry failed model calls with exponential backoff and full jitter.

Installed, it retries every model call that failed with a retryable
:class:`~loom.errors.ProviderError` (rate limits, server errors, overload,
dropped connections, truncated streams), honouring the provider's
``Retry-After``, and never a request error (4xx) or a context overflow.
Configure it in ``[settings.retry]`` (see :class:`RetrySettings`).

To inject a clock-free ``sleep`` (tests) or a seeded ``random``, disable the
entry-point plugin (``[plugins] disable = ["resilience-retry"]``) and pass
your own ``RetryPlugin(sleep=..., random=...)`` to the runtime.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from loom.hookspecs import hookimpl

from loom_resilience_retry.plugin import SETTINGS_NAME, RetryPlugin
from loom_resilience_retry.policy import (
    RETRYABLE_CLIENT_STATUSES,
    RetryDecision,
    RetrySettings,
    backoff_cap,
    decide,
    is_retryable,
)

if TYPE_CHECKING:
    from loom.records import Record
    from loom.requests import ModelRequest, ModelResponse
    from loom.run import Run

_installed = RetryPlugin()


@hookimpl
def loom_register_settings() -> list[Record]:
    """Declare ``[settings.retry]`` (see :class:`RetrySettings`)."""
    return _installed.loom_register_settings()


@hookimpl
async def loom_wrap_model_call(
    request: ModelRequest, run: Run,
    call_next: Callable[[ModelRequest], Awaitable[ModelResponse]],
) -> ModelResponse:
    """Retry failed model calls (see :class:`RetryPlugin`)."""
    return await _installed.loom_wrap_model_call(request, run, call_next)


__all__ = [
    "RETRYABLE_CLIENT_STATUSES",
    "SETTINGS_NAME",
    "RetryDecision",
    "RetryPlugin",
    "RetrySettings",
    "backoff_cap",
    "decide",
    "is_retryable",
]
