"""Prices and context windows of OpenAI models, and the cost of one call.

Prices are USD per million tokens, as published when this table was written;
override any of them with ``[settings.openai.prices."<model>"]``. A model
matches the longest table key it starts with, so ``gpt-4.1-mini-2025-04-14``
uses the ``gpt-4.1-mini`` row.
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


DEFAULT_PRICES: dict[str, ModelPrice] = {
    "gpt-5": _p(1.25, 10.0, 0.125),
    "gpt-5.1": _p(1.25, 10.0, 0.125),
    "gpt-5-mini": _p(0.25, 2.0, 0.025),
    "gpt-5-nano": _p(0.05, 0.40, 0.005),
    "gpt-4.1": _p(2.0, 8.0, 0.50),
    "gpt-4.1-mini": _p(0.40, 1.60, 0.10),
    "gpt-4.1-nano": _p(0.10, 0.40, 0.025),
    "gpt-4o": _p(2.50, 10.0, 1.25),
    "gpt-4o-mini": _p(0.15, 0.60, 0.075),
    "o3": _p(2.0, 8.0, 0.50),
    "o4-mini": _p(1.10, 4.40, 0.275),
}

#: Context window in tokens by model prefix.
CONTEXT_WINDOWS: dict[str, int] = {
    "gpt-5": 400_000,
    "gpt-4.1": 1_047_576,
    "gpt-4o": 128_000,
    "o3": 200_000,
    "o4": 200_000,
}
DEFAULT_CONTEXT_WINDOW = 128_000


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
