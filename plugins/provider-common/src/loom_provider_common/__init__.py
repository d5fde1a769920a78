"""Shared, provider-neutral parts of Loom's provider plugins.

- :mod:`.pricing` — :class:`ModelPrice`, a provider's :class:`PriceTable`
  (default prices and context windows by model-name prefix, user overrides
  first) and :func:`with_cost`;
- :mod:`.retry` — what an HTTP error says about trying again:
  :func:`retry_after_seconds`, :func:`retryable_status`, :func:`should_retry`;
- :mod:`.provider` — :class:`~.provider.SDKProvider`, the base class of a
  provider built on an SDK client (options, settings, per-loop clients,
  context window, cost, typed errors);
- :mod:`.plugin` — :class:`~.plugin.SDKPlugin`, a provider plugin's record and
  error classification for its entry-point module, without importing the SDK;
- :mod:`.clients` — :class:`~.clients.ClientPerLoop`, one SDK client per event loop;
- :mod:`.testing` — the set-up of provider tests against local servers.

This is a library for provider plugins, not a plugin: it has no entry point
and registers nothing itself. It imports no provider SDK.
"""

from __future__ import annotations

from loom_provider_common.pricing import ModelPrice, PriceTable, lookup, with_cost
from loom_provider_common.retry import retry_after_seconds, retryable_status, should_retry

__all__ = [
    "ModelPrice",
    "PriceTable",
    "lookup",
    "retry_after_seconds",
    "retryable_status",
    "should_retry",
    "with_cost",
]
