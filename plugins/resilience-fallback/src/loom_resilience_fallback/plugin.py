"""The fallback layer: the outermost wrapper around every model call."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from loom.errors import ContextOverflowError, LoomError, ProviderError
from loom.hookspecs import hookimpl

from loom_resilience_fallback.chain import (
    ChainEntry,
    context_window,
    describe,
    fallback_chain,
    is_request_fault,
)

if TYPE_CHECKING:
    from loom.requests import ModelRequest, ModelResponse
    from loom.run import Run


@dataclass
class _Tried:
    names: list[str] = field(default_factory=list)
    objects: list[Any] = field(default_factory=list)

    def add(self, name: str, provider: Any) -> None:
        self.names.append(name)
        self.objects.append(provider)

    def has(self, name: str, provider: Any) -> bool:
        return name in self.names or any(provider is p for p in self.objects)


class FallbackPlugin:
    """Falls back along a provider chain (``loom_wrap_model_call``, ``tryfirst``).

    When the call fails after the inner layers gave up (retries exhausted,
    a non-retryable error, or an open circuit), the next provider of the
    chain is tried: the request is copied with ``metadata["provider"]`` set
    to its name, and ``call_next`` runs again, so the retry and breaker
    layers apply to that provider too. Each switch is a ``fallback.taken``
    event (``from``, ``to``, ``why``); a provider passed over is a
    ``fallback.skipped`` event; giving up is a ``fallback.exhausted`` event,
    and the last error propagates (the run ends ``failed``).

    A request error that is the caller's fault (400, 413, 422) never falls
    back; a :class:`~loom.errors.ContextOverflowError` only falls back to a
    provider with a larger ``context_window``.
    """

    @hookimpl(tryfirst=True)
    async def loom_wrap_model_call(
        self, request: ModelRequest, run: Run,
        call_next: Callable[[ModelRequest], Awaitable[ModelResponse]],
    ) -> ModelResponse:
        """Call inward; on a failure that another provider may fix, try the next one."""
        chain = fallback_chain(run)
        if not chain:
            return await call_next(request)
        name, provider = _target(request, run)
        tried = _Tried()
        tried.add(name, provider)
        pending = list(chain)
        attempt = request
        while True:
            try:
                return await call_next(attempt)
            except ProviderError as exc:
                if is_request_fault(exc):
                    raise
                found = await self._next(run, pending, tried, exc, provider)
                if found is None:
                    await run.emit("fallback.exhausted", tried=list(tried.names),
                                   why=describe(exc), error_type=type(exc).__name__,
                                   status=exc.status)
                    raise
                entry, next_provider = found
                await run.emit("fallback.taken", **{
                    "from": name, "to": entry.provider, "model": entry.model,
                    "why": describe(exc), "error_type": type(exc).__name__,
                    "status": exc.status})
            name, provider = entry.provider, next_provider
            tried.add(name, provider)
            attempt = request.model_copy(update={
                "metadata": {**request.metadata, "provider": entry.provider},
                "model": entry.model})

    async def _next(self, run: Run, pending: list[ChainEntry], tried: _Tried,
                    error: ProviderError, current: Any) -> tuple[ChainEntry, Any] | None:
        """The next usable provider of the chain, removing what it passes over."""
        while pending:
            entry = pending.pop(0)
            if entry.provider in tried.names:
                continue
            try:
                candidate = run.runtime.provider_named(entry.provider)
            except Exception as exc:  # a factory may fail (missing key, bad settings)
                await run.emit("fallback.skipped", provider=entry.provider,
                               why=f"could not be built: {type(exc).__name__}: {exc}")
                continue
            if tried.has(entry.provider, candidate):
                continue
            if isinstance(error, ContextOverflowError):
                have, offer = context_window(current), context_window(candidate)
                if offer <= have:
                    await run.emit("fallback.skipped", provider=entry.provider,
                                   why=f"context window {offer or 'unknown'} is not larger "
                                       f"than {have or 'unknown'}")
                    continue
            return entry, candidate
        return None


def _target(request: ModelRequest, run: Run) -> tuple[str, Any]:
    """The provider record name a request goes to, and the provider object."""
    runtime = run.runtime
    name = request.metadata.get("provider")
    if name:
        try:
            return str(name), runtime.provider_named(str(name))
        except LoomError:
            return str(name), None
    provider = runtime.provider
    label = (runtime.config.stages.provider or getattr(provider, "name", "")
             or type(provider).__name__)
    return str(label), provider
