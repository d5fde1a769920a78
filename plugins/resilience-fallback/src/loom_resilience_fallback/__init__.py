"""Loom plugin: fall back to the next provider when a model call fails.

The chain is the profile's ``fallback`` list followed by ``[stages]
fallback`` (``fallback = ["openai", "local:llama3"]``); an entry is a
provider record name, optionally with a model after a colon. When a call
fails after the inner layers (retry, circuit breaker) gave up, the next
provider of the chain is tried, and the switch is a ``fallback.taken``
event saying from where, to where and why. See :class:`FallbackPlugin`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from loom.hookspecs import hookimpl

from loom_resilience_fallback.chain import (
    REQUEST_FAULT_STATUSES,
    ChainEntry,
    context_window,
    describe,
    fallback_chain,
    is_request_fault,
)
from loom_resilience_fallback.plugin import FallbackPlugin

if TYPE_CHECKING:
    from loom.requests import ModelRequest, ModelResponse
    from loom.run import Run

_installed = FallbackPlugin()


@hookimpl(tryfirst=True)
async def loom_wrap_model_call(
    request: ModelRequest, run: Run,
    call_next: Callable[[ModelRequest], Awaitable[ModelResponse]],
) -> ModelResponse:
    """Fall back along the provider chain (see :class:`FallbackPlugin`)."""
    return await _installed.loom_wrap_model_call(request, run, call_next)


__all__ = [
    "REQUEST_FAULT_STATUSES",
    "ChainEntry",
    "FallbackPlugin",
    "context_window",
    "describe",
    "fallback_chain",
    "is_request_fault",
]
