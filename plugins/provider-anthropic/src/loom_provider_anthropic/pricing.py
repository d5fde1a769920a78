"""Default prices and context windows of Anthropic models.

Prices are USD per million tokens, as published when this table was written;
override any of them with ``[settings.anthropic.prices."<model>"]``. A model
matches the longest table key it starts with, so ``claude-sonnet-4-5-20250929``
uses the ``claude-sonnet-4-5`` row.
"""

from __future__ import annotations

from loom_provider_common.pricing import ModelPrice, PriceTable, lookup, with_cost


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


#: The default prices and context windows, searched by model-name prefix.
TABLE = PriceTable(DEFAULT_PRICES, CONTEXT_WINDOWS, DEFAULT_CONTEXT_WINDOW)
price_for = TABLE.price_for
context_window_for = TABLE.context_window_for

__all__ = ["CONTEXT_WINDOWS", "DEFAULT_CONTEXT_WINDOW", "DEFAULT_PRICES", "TABLE", "ModelPrice",
           "context_window_for", "lookup", "price_for", "with_cost"]
