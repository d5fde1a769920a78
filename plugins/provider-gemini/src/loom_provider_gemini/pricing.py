"""Prices and context windows of Gemini models, and the cost of one call.

Prices are USD per million tokens, as published when this table was written;
override any of them with ``[settings.gemini.prices."<model>"]``. A model
matches the longest table key it starts with, so ``gemini-2.5-flash-preview-09-2025``
uses the ``gemini-2.5-flash`` row.
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


def _p(input: float, output: float, cached: float) -> ModelPrice:
    return ModelPrice(input=input, output=output, cached_input=cached)


#: Prices for prompts up to 200k tokens (longer prompts cost more on the pro models).
DEFAULT_PRICES: dict[str, ModelPrice] = {
    "gemini-2.5-pro": _p(1.25, 10.0, 0.125),
    "gemini-2.5-flash": _p(0.30, 2.50, 0.03),
    "gemini-2.5-flash-lite": _p(0.10, 0.40, 0.01),
    "gemini-2.0-flash": _p(0.10, 0.40, 0.025),
    "gemini-2.0-flash-lite": _p(0.075, 0.30, 0.075),
}

#: Context window in tokens by model prefix.
CONTEXT_WINDOWS: dict[str, int] = {"gemini": 1_048_576}
DEFAULT_CONTEXT_WINDOW = 1_048_576


def lookup(model: str, table: Mapping[str, object]) -> str | None:
    """The key of ``table`` that ``model`` equals or starts with (longest wins)."""
    if model in table:
        return model
    keys = [k for k in table if model.startswith(k)]
    return max(keys, key=len) if keys else None


def price_for(*models: str, overrides: Mapping[str, ModelPrice] | None = None
              ) -> ModelPrice | None:
    """The price of the first of ``models`` that has one: overrides are
    searched before the default table (pass the model that answered, then
    the one asked for)."""
    for table in (overrides or {}, DEFAULT_PRICES):
        for model in models:
            key = lookup(model, table)
            if key is not None:
                return table[key]
    return None


def context_window_for(model: str) -> int:
    """The context window of ``model`` in tokens."""
    key = lookup(model, CONTEXT_WINDOWS)
    return CONTEXT_WINDOWS[key] if key else DEFAULT_CONTEXT_WINDOW


def with_cost(usage: Usage, price: ModelPrice | None) -> Usage:
    """``usage`` with ``cost_usd`` filled in (0 when the price is unknown).

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
