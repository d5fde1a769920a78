"""Model prices, context windows and the cost of one call, for any provider.

Each provider plugin keeps its own table of default prices and context
windows (USD per million tokens; tokens) in a :class:`PriceTable`. A model
matches the longest table key it equals or starts with, so a dated name
such as ``gpt-4.1-mini-2025-04-14`` uses the ``gpt-4.1-mini`` row; prices a
user configures are searched before the defaults.
"""

from __future__ import annotations

from collections.abc import Mapping

from loom.requests import Usage
from pydantic import BaseModel, ConfigDict, Field


class ModelPrice(BaseModel):
    """USD per million tokens for one model.

    ``cached_input`` is the price of prompt tokens read from the cache and
    ``cache_write`` of those written to it; both default to ``input``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    input: float = Field(ge=0)
    output: float = Field(ge=0)
    cached_input: float | None = Field(default=None, ge=0)
    cache_write: float | None = Field(default=None, ge=0)


def lookup(model: str, table: Mapping[str, object]) -> str | None:
    """The key of ``table`` that ``model`` equals or starts with (longest wins)."""
    if model in table:
        return model
    keys = [k for k in table if model.startswith(k)]
    return max(keys, key=len) if keys else None


class PriceTable:
    """A provider's default prices and context windows, by model-name prefix."""

    def __init__(self, prices: Mapping[str, ModelPrice], context_windows: Mapping[str, int],
                 default_context_window: int) -> None:
        self.prices = prices
        self.context_windows = context_windows
        self.default_context_window = default_context_window

    def price_for(self, *models: str, overrides: Mapping[str, ModelPrice] | None = None
                  ) -> ModelPrice | None:
        """The price of the first of ``models`` that has one: ``overrides`` are
        searched before the defaults (pass the model that answered, then the
        one asked for). None when no row matches."""
        for table in (overrides or {}, self.prices):
            for model in models:
                key = lookup(model, table)
                if key is not None:
                    return table[key]
        return None

    def context_window_for(self, model: str) -> int:
        """The context window of ``model`` in tokens (the default when no row matches)."""
        key = lookup(model, self.context_windows)
        return self.context_windows[key] if key else self.default_context_window


def with_cost(usage: Usage, price: ModelPrice | None) -> Usage:
    """``usage`` with ``cost_usd`` filled in (unchanged when the price is unknown).

    ``input_tokens`` counts prompt tokens not read from the cache, cache
    writes included; ``cache_write_tokens`` is that written part.
    """
    if price is None:
        return usage
    cached = price.input if price.cached_input is None else price.cached_input
    write = price.input if price.cache_write is None else price.cache_write
    plain = max(0, usage.input_tokens - usage.cache_write_tokens)
    cost = (plain * price.input + usage.cache_write_tokens * write
            + usage.cached_tokens * cached + usage.output_tokens * price.output) / 1_000_000
    return usage.model_copy(update={"cost_usd": cost})
