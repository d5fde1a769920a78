"""Default prices and context windows of OpenAI models.

Prices are USD per million tokens, as published when this table was written;
override any of them with ``[settings.openai.prices."<model>"]``. A model
matches the longest table key it starts with, so ``gpt-4.1-mini-2025-04-14``
uses the ``gpt-4.1-mini`` row.
"""

from __future__ import annotations

from loom_provider_common.pricing import ModelPrice, PriceTable, lookup, with_cost


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


#: The default prices and context windows, searched by model-name prefix.
TABLE = PriceTable(DEFAULT_PRICES, CONTEXT_WINDOWS, DEFAULT_CONTEXT_WINDOW)
price_for = TABLE.price_for
context_window_for = TABLE.context_window_for

__all__ = ["CONTEXT_WINDOWS", "DEFAULT_CONTEXT_WINDOW", "DEFAULT_PRICES", "TABLE", "ModelPrice",
           "context_window_for", "lookup", "price_for", "with_cost"]
