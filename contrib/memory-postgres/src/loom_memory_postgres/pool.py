"""A small pool of psycopg async connections, with transactions retried on conflicts.

Connections are opened on demand up to ``size``, kept while healthy, and
dropped when broken or left inside a transaction (a cancelled task, say).
There are no background tasks, so a pool never outlives its event loop's work.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import psycopg
from psycopg import errors as pg_errors
from psycopg.pq import TransactionStatus

T = TypeVar("T")

#: Errors after which the whole transaction is simply run again.
RETRYABLE = (pg_errors.SerializationFailure, pg_errors.DeadlockDetected)


class Pool:
    """Up to ``size`` connections to one database, with ``search_path`` set to ``schema``."""

    def __init__(self, dsn: str, schema: str, *, size: int, connect_timeout: float) -> None:
        self.dsn = dsn
        self.schema = schema
        self.size = size
        self.connect_timeout = connect_timeout
        self.retries = 0
        self._idle: list[psycopg.AsyncConnection[tuple[object, ...]]] = []
        self._slots: asyncio.Semaphore | None = None
        self._closed = False

    async def connect(self) -> psycopg.AsyncConnection[tuple[object, ...]]:
        """A new autocommit connection whose ``search_path`` is the store's schema."""
        return await psycopg.AsyncConnection.connect(
            self.dsn, autocommit=True, connect_timeout=max(1, round(self.connect_timeout)),
            options=f"-c search_path={self.schema}")

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection[tuple[object, ...]]]:
        """Borrow a connection; it returns to the pool when healthy and idle."""
        if self._closed:
            raise RuntimeError("the pool is closed")
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.size)
        async with self._slots:
            conn = self._idle.pop() if self._idle else await self.connect()
            try:
                yield conn
            finally:
                healthy = (not conn.closed and not conn.broken
                           and conn.info.transaction_status == TransactionStatus.IDLE)
                if healthy and not self._closed:
                    self._idle.append(conn)
                else:
                    await conn.close()

    async def transaction(self, work: Callable[[psycopg.AsyncConnection[tuple[object, ...]]],
                                               Awaitable[T]]) -> T:
        """Run ``work(conn)`` in one transaction, again after a serialization failure or deadlock."""
        delay = 0.005
        for attempt in range(20):
            try:
                async with self.connection() as conn, conn.transaction():
                    return await work(conn)
            except RETRYABLE:
                if attempt == 19:
                    raise
                self.retries += 1
                await asyncio.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 0.2)
        raise AssertionError("unreachable")

    async def close(self) -> None:
        """Close every idle connection; borrowed ones close when given back."""
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            await conn.close()
