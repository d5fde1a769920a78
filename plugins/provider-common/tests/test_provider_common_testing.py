"""The provider test set-up: a provider on a local server, both closed after the test."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from loom_provider_common import PriceTable
from loom_provider_common.provider import SDKProvider
from loom_provider_common.testing import made_for_a_test, serve_locally
from pydantic import BaseModel


class Server:
    def __init__(self) -> None:
        self.running = False

    @property
    def base_url(self) -> str:
        return "http://127.0.0.1:9"

    def start(self) -> Server:
        self.running = True
        return self

    def stop(self) -> None:
        self.running = False


class Client:
    def __init__(self) -> None:
        self.closed = False

    async def close(self) -> None:
        self.closed = True


class Provider(SDKProvider[Client, BaseModel]):
    settings_type = BaseModel
    price_table = PriceTable({}, {}, 1_000)
    default_model = "m"
    default_name = "local"

    def _new_client(self) -> Client:
        return Client()

    def _close_client(self, client: Client) -> Awaitable[None]:
        return client.close()


async def test_a_served_provider_is_closed_and_its_server_stopped_after_the_test() -> None:
    fixture = made_for_a_test()
    made: list[Any] = await anext(fixture)
    server, provider = await serve_locally(made, Server(), Provider, model="m2")
    assert server.running and made == [server, provider]
    assert (provider.api_key, provider.base_url, provider.model) == ("test", server.base_url, "m2")
    client = provider.client()
    async for _ in fixture:  # the teardown
        pass
    assert client.closed and not server.running
