"""Prices and context windows of Anthropic models, and the cost of one call.

Prices are USD per million tokens, as published when this table was written;
override any of them with ``[settings.anthropic.prices."<model>"]``. A model
matches the longest table key it starts with, so ``claude-sonnet-4-5-20250929``
uses the ``claude-sonnet-4-5`` row.
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


def _p(input: float, output: float, cached: float, write: float) -> ModelPrice:
    return ModelPrice(input=input, output=output, cached_input=cached, cache_write=write)


#: Rows without a version (``claude-opus``, ``claude-sonnet``, ``claude-haiku``)
#: are tier fallbacks for models newer than the table: verify and override.
DEFAULT_PRICES: dict[str, ModelPrice] = {
    "claude-opus": _p(5.0, 25.0, 0.50, 6.25),
    "claude-sonnet": _p(3.0, 15.0, 0.30, 3.75),
    "claude-haiku": _p(1.0, 5.0, 0.10, 1.25),
    "claude-opus-4-5": _p(5.0, 25.0, 0.50, 6.25),
    "claude-opus-4-1": _p(15.0, 75.0, 1.50, 18.75),
    "claude-opus-4": _p(15.0, 75.0, 1.50, 18.75),
    "claude-sonnet-4-5": _p(3.0, 15.0, 0.30, 3.75),
    "claude-sonnet-4": _p(3.0, 15.0, 0.30, 3.75),
    "claude-3-7-sonnet": _p(3.0, 15.0, 0.30, 3.75),
    "claude-haiku-4-5": _p(1.0, 5.0, 0.10, 1.25),
    "claude-3-5-haiku": _p(0.80, 4.0, 0.08, 1.0),
    "claude-3-haiku": _p(0.25, 1.25, 0.03, 0.30),
}

#: Context window in tokens by model prefix (every current Claude model: 200k).
CONTEXT_WINDOWS: dict[str, int] = {"claude": 200_000}
DEFAULT_CONTEXT_WINDOW = 200_000


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
