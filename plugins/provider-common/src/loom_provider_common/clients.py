"""One SDK client per running event loop.

SDK async clients hold connection pools bound to the loop that created
them; a provider used from several loops (``run_sync`` in a notebook, tests)
needs one client per loop, dropped when the loop goes away.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

C = TypeVar("C")


class ClientPerLoop(Generic[C]):
    """Builds a client on first use in each event loop and closes it on request."""

    def __init__(self, build: Callable[[], C], close: Callable[[C], Awaitable[object]]) -> None:
        self._build = build
        self._close = close
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, C] = (
            weakref.WeakKeyDictionary())

    def get(self) -> C:
        """The client of the running event loop (built on first use)."""
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = self._build()
            self._clients[loop] = client
        return client

    async def aclose(self) -> None:
        """Close the running loop's client, if it has one."""
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await self._close(client)
