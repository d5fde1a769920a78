"""Test set-up for provider plugins: providers talking to local wire-protocol servers.

A provider's tests start a local server (such as those of ``loom-wire-servers``),
point a provider at it and, after the test, close the provider's connections
and stop the server; no connection may leave the machine. This module imports
no test framework; a test module makes the fixtures itself::

    _local_only = pytest.fixture(local_connections_only, autouse=True, name="_local_only")
    made = pytest.fixture(made_for_a_test, name="made")

    async def test_something(made: list[Any]) -> None:
        server, provider = await serve_locally(made, MyServer(script=[...]), MyProvider)
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, Protocol, TypeVar

from loom.testing import no_real_providers

from loom_provider_common.provider import SDKProvider


class LocalServer(Protocol):
    """A server a test starts and stops, reachable at ``base_url``."""

    @property
    def base_url(self) -> str: ...

    def start(self) -> object: ...

    def stop(self) -> object: ...


ServerT = TypeVar("ServerT", bound=LocalServer)
ProviderT = TypeVar("ProviderT", bound=SDKProvider[Any, Any])


def local_connections_only() -> Iterator[None]:
    """Fail any connection to anything but loopback while it runs (meant to be made an
    autouse fixture; see :func:`loom.testing.no_real_providers`)."""
    with no_real_providers():
        yield


async def made_for_a_test() -> AsyncIterator[list[Any]]:
    """Servers and providers a test made; stopped and closed after it, in order.

    Meant to be made a fixture (see the module's docstring).
    """
    things: list[Any] = []
    yield things
    for thing in things:
        if isinstance(thing, SDKProvider):
            await thing.aclose()
        else:
            await asyncio.to_thread(thing.stop)


async def serve_locally(made: list[Any], server: ServerT, provider: Callable[..., ProviderT],
                        **options: Any) -> tuple[ServerT, ProviderT]:
    """Start ``server`` and build ``provider(api_key="test", base_url=server.base_url, **options)``;
    both go into ``made``."""
    await asyncio.to_thread(server.start)
    built = provider(api_key="test", base_url=server.base_url, **options)
    made.extend([server, built])
    return server, built
