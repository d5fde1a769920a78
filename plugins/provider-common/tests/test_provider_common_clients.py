"""ClientPerLoop: one client per running event loop, closed on request."""

from __future__ import annotations

import asyncio

from loom_provider_common.clients import ClientPerLoop


class Client:
    def __init__(self) -> None:
        self.closed = False

    async def close(self) -> None:
        self.closed = True


def test_one_client_per_loop_and_aclose_closes_it() -> None:
    built: list[Client] = []

    def build() -> Client:
        built.append(Client())
        return built[-1]

    clients = ClientPerLoop(build, lambda c: c.close())

    async def use() -> Client:
        first, second = clients.get(), clients.get()
        assert first is second  # reused within one loop
        return first

    a = asyncio.run(use())
    b = asyncio.run(use())  # a new loop gets its own client
    assert a is not b and len(built) == 2

    async def close() -> Client:
        client = clients.get()
        await clients.aclose()
        return client

    closed = asyncio.run(close())
    assert closed.closed and not a.closed
