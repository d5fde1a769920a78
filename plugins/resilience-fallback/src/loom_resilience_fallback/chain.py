"""The fallback chain: where it comes from, and which errors may fall back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from loom.errors import CircuitOpenError, ContextOverflowError, ProviderError, did_you_mean

if TYPE_CHECKING:
    from loom.run import Run

#: Statuses that say the request itself is wrong: another provider would
#: refuse it too, so they never fall back.
REQUEST_FAULT_STATUSES = frozenset({400, 413, 422})


@dataclass(frozen=True)
class ChainEntry:
    """One provider of the chain, spelled ``"name"`` or ``"name:model"``.

    ``name`` is a provider record name. Without a model the provider's own
    default model is used (the primary's model name would mean nothing to
    another provider).
    """

    provider: str
    model: str = ""

    @classmethod
    def parse(cls, text: str) -> ChainEntry:
        """Read ``"name"`` or ``"name:model"`` (the model may contain ``:``)."""
        provider, _, model = text.partition(":")
        return cls(provider.strip(), model.strip())

    def __str__(self) -> str:
        return f"{self.provider}:{self.model}" if self.model else self.provider


def fallback_chain(run: Run) -> list[ChainEntry]:
    """The chain for ``run``: the profile's ``fallback`` list, then
    ``[stages] fallback``, without repeats.

    Raises :class:`~loom.errors.ConfigError` naming the key when an entry is
    empty or names no installed provider.
    """
    runtime = run.runtime
    installed = runtime.plugins.records("provider")
    chain: list[ChainEntry] = []
    for key, items in (("profile.fallback", run.profile.fallback),
                       ("stages.fallback", runtime.config.stages.fallback)):
        for text in items:
            entry = ChainEntry.parse(str(text))
            if not entry.provider:
                raise runtime.config.error(f"empty provider name in {text!r}; spell an entry "
                                           "'name' or 'name:model'", key)
            if entry.provider not in installed:
                raise runtime.config.error(
                    f"no provider named {entry.provider!r}{did_you_mean(entry.provider, installed)}"
                    f"; installed: {', '.join(sorted(installed)) or 'none'}", key)
            if entry not in chain:
                chain.append(entry)
    return chain


def is_request_fault(error: ProviderError) -> bool:
    """Whether the error is the caller's fault (a 400-class request error),
    so that no provider would accept the same request. A context overflow is
    judged separately (a larger window may take it)."""
    if isinstance(error, ContextOverflowError | CircuitOpenError):
        return False
    return error.status in REQUEST_FAULT_STATUSES


def describe(error: ProviderError) -> str:
    """A short "why" for events: the error type, its status, its message."""
    status = f" {error.status}" if error.status is not None else ""
    return f"{type(error).__name__}{status}: {error}"


def context_window(provider: Any) -> int:
    """A provider's context window in tokens, 0 when it does not say."""
    try:
        return int(getattr(provider, "context_window", 0) or 0)
    except (TypeError, ValueError):
        return 0
