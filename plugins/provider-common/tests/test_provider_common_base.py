"""SDKProvider: the options, settings, context window, cost, clients and error typing a provider inherits."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Unpack

import pytest
from loom.errors import ProviderError
from loom.requests import Usage
from loom_provider_common import ModelPrice, PriceTable
from loom_provider_common.provider import ProviderOptions, SDKProvider
from pydantic import BaseModel, ConfigDict, Field


class Client:
    def __init__(self, options: dict[str, object]) -> None:
        self.options = options
        self.closed = False

    async def close(self) -> None:
        self.closed = True


class ExampleSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    api_key: str | None = None
    model: str = "ex-1"
    base_url: str | None = None
    timeout: float = 600.0
    max_retries: int = 0
    prices: dict[str, ModelPrice] = Field(default_factory=dict)
    context_window: int | None = None
    flavour: str = "plain"


class ExampleProvider(SDKProvider[Client, ExampleSettings]):
    settings_type = ExampleSettings
    price_table = PriceTable({"ex-1": ModelPrice(input=1.0, output=2.0)}, {"ex-1": 1_000}, 500)
    default_model = "ex-1"
    default_name = "example"

    def __init__(self, *, flavour: str = "plain", **options: Unpack[ProviderOptions]) -> None:
        super().__init__(**options)
        self.flavour = flavour

    def _new_client(self) -> Client:
        return Client(self._client_options())

    def _close_client(self, client: Client) -> Awaitable[None]:
        return client.close()


def test_defaults_come_from_the_subclass() -> None:
    provider = ExampleProvider()
    assert (provider.name, provider.model, provider.api_key, provider.base_url) == (
        "example", "ex-1", None, None)
    assert (provider.timeout, provider.max_retries, provider.prices) == (600.0, 0, {})
    assert ExampleProvider(model="", name="").model == ""  # only None means the default


def test_ellipsis_leaves_the_key_to_the_sdk_and_prices_are_validated() -> None:
    provider = ExampleProvider(api_key=..., prices={"ex-2": {"input": 3.0, "output": 4.0}})
    assert provider.api_key is None
    assert provider.prices == {"ex-2": ModelPrice(input=3.0, output=4.0)}


def test_from_settings_passes_every_field() -> None:
    provider = ExampleProvider.from_settings(ExampleSettings(model="ex-2", flavour="spicy",
                                                             context_window=42))
    assert isinstance(provider, ExampleProvider)
    assert (provider.model, provider.flavour, provider.context_window) == ("ex-2", "spicy", 42)
    assert ExampleProvider.from_settings().model == "ex-1"


def test_context_window_from_the_table_unless_overridden() -> None:
    assert ExampleProvider(model="ex-1-2025").context_window == 1_000
    assert ExampleProvider(model="other").context_window == 500
    assert ExampleProvider(model="ex-1", context_window=64).context_window == 64


def test_cost_uses_the_user_prices_first() -> None:
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000)
    assert ExampleProvider()._with_cost(usage, "ex-1").cost_usd == 3.0
    provider = ExampleProvider(prices={"asked": ModelPrice(input=10.0, output=0.0)})
    assert provider._with_cost(usage, "ex-1", "asked").cost_usd == 10.0
    assert provider._with_cost(usage, "unknown") == usage  # no price, no cost


def test_client_options_name_only_what_is_set() -> None:
    assert ExampleProvider(timeout=5)._client_options() == {"timeout": 5, "max_retries": 0}
    options = ExampleProvider(api_key="k", base_url="http://127.0.0.1:1")._client_options()
    assert options == {"timeout": 600.0, "max_retries": 0, "api_key": "k",
                       "base_url": "http://127.0.0.1:1"}


def test_one_client_per_loop_closed_by_aclose() -> None:
    provider = ExampleProvider(api_key="k")

    async def use() -> Client:
        client = provider.client()
        assert provider.client() is client and client.options["api_key"] == "k"
        await provider.aclose()
        return client

    first, second = asyncio.run(use()), asyncio.run(use())
    assert first is not second and first.closed and second.closed


def classify(error: BaseException, provider: str) -> ProviderError | None:
    if isinstance(error, ConnectionError):
        return ProviderError(f"{provider}: {error}", provider=provider, retryable=True)
    return error if isinstance(error, ProviderError) else None


def test_errors_from_the_block_are_raised_typed() -> None:
    provider = ExampleProvider(name="ex")
    with pytest.raises(ProviderError) as raised, provider._typed_errors(classify):
        raise ConnectionError("reset")
    assert raised.value.provider == "ex" and isinstance(raised.value.__cause__, ConnectionError)
    already = ProviderError("typed", provider="ex")
    with pytest.raises(ProviderError) as raised, provider._typed_errors(classify):
        raise already
    assert raised.value is already and raised.value.__cause__ is None
    with pytest.raises(KeyError), provider._typed_errors(classify):
        raise KeyError("not an SDK error")
