"""Default prices and context windows of Gemini models.

Prices are USD per million tokens, as published when this table was written;
override any of them with ``[settings.gemini.prices."<model>"]``. A model
matches the longest table key it starts with, so ``gemini-2.5-flash-preview-09-2025``
uses the ``gemini-2.5-flash`` row.
"""

from __future__ import annotations

from loom_provider_common.pricing import ModelPrice, PriceTable, lookup, with_cost


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


#: The default prices and context windows, searched by model-name prefix.
TABLE = PriceTable(DEFAULT_PRICES, CONTEXT_WINDOWS, DEFAULT_CONTEXT_WINDOW)
price_for = TABLE.price_for
context_window_for = TABLE.context_window_for

__all__ = ["CONTEXT_WINDOWS", "DEFAULT_CONTEXT_WINDOW", "DEFAULT_PRICES", "TABLE", "ModelPrice",
           "context_window_for", "lookup", "price_for", "with_cost"]
