"""One MCP server connection, owned by one dedicated task.

The MCP SDK's transports and session are anyio context managers holding task
groups, which must be entered and exited by the same task. So each server
gets an *owner task* that enters them, serves requests taken from a queue
(each in a child task, so calls run in parallel), and exits them. Callers in
other tasks only put a job on the queue and await its future.

The owner notices a lost connection (the server process ended, or a call
failed with "connection closed"), tears the connection down, waits
``restart_backoff`` (doubled on each consecutive failure) and connects
again, reporting ``mcp.server_restarted``; after ``max_restarts``
consecutive failures it gives up (``mcp.server_failed``). Calls in flight
when the connection was lost fail, except read-only ones, which are retried
once on the new connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import tempfile
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

import anyio
import mcp_types as types
from anyio.streams.memory import MemoryObjectReceiveStream
from loom.errors import LoomError
from mcp.client.session import ClientSession
from mcp.shared.exceptions import MCPError

from loom_mcp.settings import ServerSettings

CONNECTION_CLOSED = -32000
MAX_BACKOFF = 30.0

#: ``report(kind, **data)``: where the connection reports events.
Report = Callable[..., Awaitable[None]]


class McpServerError(LoomError):
    """An MCP server could not be started, was lost, or did not answer in time."""


@dataclass
class _Job:
    call: Callable[[ClientSession], Awaitable[Any]]
    future: asyncio.Future[Any]
    retry_safe: bool = False
    attempts: int = 0
    scope: anyio.CancelScope | None = field(default=None, repr=False)


class _Signal:
    def __init__(self, name: str) -> None:
        self.name = name


_REFRESH = _Signal("refresh")
_CLOSE = _Signal("close")


class _Lost(Exception):
    """The connection ended under us."""


class ServerConnection:
    """A live connection to one configured MCP server (see the module docstring)."""

    def __init__(self, name: str, settings: ServerSettings, *, report: Report,
                 on_tools_changed: Callable[[ServerConnection], Awaitable[None]] | None = None) -> None:
        self.name = name
        self.settings = settings
        self.tools: list[types.Tool] = []
        self.capabilities: types.ServerCapabilities | None = None
        self.server_info: types.Implementation | None = None
        self.state = "new"
        self.restarts = 0
        self._report = report
        self._on_tools_changed = on_tools_changed
        self._send, self._recv = anyio.create_memory_object_stream[Any](math.inf)
        self._task: asyncio.Task[None] | None = None
        self._ready: asyncio.Future[None] | None = None
        self._closing = asyncio.Event()
        self._failures = 0
        self._lost_reason = ""
        self._restart_delay = 0.0
        self._restart_reason = ""
        self._retry: list[_Job] = []
        self._refreshes = 0
        self._refresh_idle = asyncio.Event()
        self._refresh_idle.set()
        self._stderr = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") \
            if settings.transport == "stdio" else None

    def __repr__(self) -> str:
        return f"<ServerConnection {self.name} {self.state}>"

    # ------------------------------------------------------------ callers

    async def start(self) -> None:
        """Connect, handshake and list the tools; McpServerError if that fails."""
        loop = asyncio.get_running_loop()
        self._ready = loop.create_future()
        self._task = loop.create_task(self._main(), name=f"loom-mcp-{self.name}")
        try:
            await asyncio.wait({self._ready, self._task}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            await self.close()
            raise
        if not self._ready.done():
            raise McpServerError(f"MCP server {self.name!r} stopped while starting: "
                                 f"{self._lost_reason or 'no reason given'}")
        self._ready.result()

    async def request(self, call: Callable[[ClientSession], Awaitable[Any]], *,
                      retry_safe: bool = False) -> Any:
        """Run ``call(session)`` on the owner task and return its result.

        Raises McpServerError when the server is down, lost during the call
        or too slow, and MCPError for an error the server answered.
        """
        if self.state in ("failed", "closed"):
            raise McpServerError(f"MCP server {self.name!r} is not running ({self.state}): "
                                 f"{self._lost_reason or 'closed'}")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        job = _Job(call, future, retry_safe)
        self._send.send_nowait(job)
        try:
            result = await future
        except asyncio.CancelledError:
            if job.scope is not None:
                job.scope.cancel()
            raise
        await self._settled_tools()
        return result

    async def _settled_tools(self) -> None:
        """Let a tool list change that the call caused land before the caller goes on."""
        for _ in range(3):  # notifications read before the answer are being delivered
            await asyncio.sleep(0)
        if not self._refresh_idle.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._refresh_idle.wait(), self.settings.startup_timeout)

    async def close(self) -> None:
        """Stop the server (or close the HTTP session) and end the owner task."""
        self._closing.set()
        with contextlib.suppress(anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._send.send_nowait(_CLOSE)
        task = self._task
        if task is not None and not task.done():
            try:
                await asyncio.wait_for(asyncio.shield(task), 15)
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self.state = "closed"
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def stderr_tail(self, limit: int = 1500) -> str:
        """The end of what a stdio server wrote on standard error."""
        if self._stderr is None or self._stderr.closed:
            return ""
        try:
            self._stderr.flush()
            self._stderr.seek(0, os.SEEK_END)
            size = self._stderr.tell()
            self._stderr.seek(max(0, size - limit * 4))
            return self._stderr.read()[-limit:].strip()
        except (OSError, ValueError):
            return ""

    # -------------------------------------------------------------- owner

    async def _main(self) -> None:
        try:
            while not self._closing.is_set():
                first = self._ready is None or not self._ready.done()
                try:
                    await self._connection(first)
                    return
                except Exception as exc:
                    leaf = _leaf(exc)
                    reason = self._lost_reason if isinstance(leaf, _Lost) else _describe(leaf)
                    if not self._ready or not self._ready.done():
                        self._fail_start(reason)
                        return
                self._lost_reason = self._restart_reason = reason
                self._failures += 1
                if self._failures > self.settings.max_restarts:
                    self.state = "failed"
                    self._lost_reason = (f"gave up after {self.settings.max_restarts} restarts; "
                                         f"last failure: {reason}")
                    await self._report("mcp.server_failed", server=self.name, reason=reason,
                                       restarts=self.settings.max_restarts,
                                       stderr=self.stderr_tail())
                    return
                self.state = "restarting"
                delay = min(self.settings.restart_backoff * 2 ** (self._failures - 1), MAX_BACKOFF)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._closing.wait(), delay)
                self._restart_delay = delay
        finally:
            if self.state != "failed":
                self.state = "closed"
            self._drain(self._lost_reason or "the MCP bridge was closed")
            self._send.close()
            self._recv.close()

    def _fail_start(self, reason: str) -> None:
        self.state = "failed"
        self._lost_reason = reason
        tail = self.stderr_tail()
        where = self.settings.command if self.settings.command is not None else self.settings.url
        message = f"MCP server {self.name!r} ({where}) failed to start: {reason}"
        if tail:
            message += f"\nits standard error ends with:\n{tail}"
        if self._ready is not None and not self._ready.done():
            self._ready.set_exception(McpServerError(message))

    def _drain(self, reason: str) -> None:
        for job in self._retry:
            if not job.future.done():
                job.future.set_exception(McpServerError(
                    f"MCP server {self.name!r} is not running: {reason}"))
        self._retry.clear()
        while True:
            try:
                item = self._recv.receive_nowait()
            except (anyio.WouldBlock, anyio.EndOfStream, anyio.ClosedResourceError):
                return
            if isinstance(item, _Job) and not item.future.done():
                item.future.set_exception(McpServerError(
                    f"MCP server {self.name!r} is not running: {reason}"))

    def _transport(self, stack: AsyncExitStack) -> Any:
        s = self.settings
        if s.command is not None:
            from mcp.client.stdio import StdioServerParameters, stdio_client

            params = StdioServerParameters(
                command=s.command, args=s.args,
                env={k: os.path.expandvars(v) for k, v in s.env.items()} or None, cwd=s.cwd)
            return stdio_client(params, errlog=self._stderr)  # type: ignore[arg-type]
        import httpx2
        from mcp.client.streamable_http import streamable_http_client

        assert s.url is not None
        client = httpx2.AsyncClient(
            headers={k: os.path.expandvars(v) for k, v in s.headers.items()},
            timeout=httpx2.Timeout(s.startup_timeout, read=max(300.0, s.timeout)))
        stack.push_async_exit(client.__aexit__)
        return streamable_http_client(s.url, http_client=client)

    async def _connection(self, first: bool) -> None:
        lost = anyio.Event()
        self._lost_reason = ""
        async with AsyncExitStack() as stack:
            read, write = await stack.enter_async_context(self._transport(stack))
            pump = await stack.enter_async_context(anyio.create_task_group())
            stack.callback(pump.cancel_scope.cancel)
            relay_send, relay_recv = anyio.create_memory_object_stream[Any](0)
            stack.callback(relay_recv.close)
            stack.callback(relay_send.close)
            pump.start_soon(self._pump, read, relay_send, lost)
            session = await stack.enter_async_context(ClientSession(
                relay_recv, write, message_handler=self._on_message,
                read_timeout_seconds=max(self.settings.startup_timeout, self.settings.timeout)))
            try:
                with anyio.fail_after(self.settings.startup_timeout):
                    init = await session.initialize()
                    tools = await _list_tools(session)
            except TimeoutError:
                raise McpServerError(f"no answer to the MCP handshake within "
                                     f"{self.settings.startup_timeout:g}s") from None
            self.capabilities = init.capabilities
            self.server_info = init.server_info
            await self._connected(tools, first)
            await self._serve(session, lost)
            if lost.is_set():
                raise _Lost(self._lost_reason)

    async def _connected(self, tools: list[types.Tool], first: bool) -> None:
        self.state = "connected"
        changed = _names(tools) != _names(self.tools)
        self.tools = tools
        if first:
            assert self._ready is not None
            if not self._ready.done():
                self._ready.set_result(None)
            return
        self.restarts += 1
        for job in self._retry:
            self._send.send_nowait(job)
        self._retry.clear()
        await self._report("mcp.server_restarted", server=self.name, attempt=self._failures,
                           reason=self._restart_reason, delay=self._restart_delay,
                           restarts=self.restarts)
        if changed and self._on_tools_changed is not None:
            await self._on_tools_changed(self)

    async def _pump(self, read: Any, relay: Any, lost: anyio.Event) -> None:
        try:
            async with relay:
                async for item in read:
                    await relay.send(item)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            return
        if not self._closing.is_set():
            self._mark_lost("the server closed the connection (its process ended?)", lost)

    def _mark_lost(self, reason: str, lost: anyio.Event) -> None:
        if not lost.is_set():
            tail = self.stderr_tail(500)
            self._lost_reason = reason + (f"; its standard error ends with: {tail}" if tail else "")
            lost.set()

    async def _on_message(self, message: Any) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            with contextlib.suppress(anyio.ClosedResourceError, anyio.BrokenResourceError):
                self._send.send_nowait(_REFRESH)
                self._refreshes += 1
                self._refresh_idle.clear()

    async def _serve(self, session: ClientSession, lost: anyio.Event) -> None:
        try:
            await self._serve_jobs(session, lost)
        finally:
            self._refreshes = 0
            self._refresh_idle.set()

    async def _serve_jobs(self, session: ClientSession, lost: anyio.Event) -> None:
        recv: MemoryObjectReceiveStream[Any] = self._recv
        async with anyio.create_task_group() as jobs:
            async def watch() -> None:
                await lost.wait()
                jobs.cancel_scope.cancel()

            jobs.start_soon(watch)
            async for item in recv:
                if item is _CLOSE:
                    jobs.cancel_scope.cancel()
                    break
                if item is _REFRESH:
                    jobs.start_soon(self._refresh, session, lost)
                elif isinstance(item, _Job):
                    jobs.start_soon(self._run, session, item, lost)

    async def _refresh(self, session: ClientSession, lost: anyio.Event) -> None:
        try:
            with anyio.fail_after(self.settings.startup_timeout):
                tools = await _list_tools(session)
            changed = _names(tools) != _names(self.tools)
            self.tools = tools
            if changed and self._on_tools_changed is not None:
                await self._on_tools_changed(self)
        except MCPError as exc:
            if exc.code == CONNECTION_CLOSED:
                self._mark_lost("the connection closed while listing tools", lost)
        except (TimeoutError, OSError):
            pass
        finally:
            self._refreshes = max(0, self._refreshes - 1)
            if self._refreshes == 0:
                self._refresh_idle.set()

    async def _run(self, session: ClientSession, job: _Job, lost: anyio.Event) -> None:
        if job.future.done():
            return
        job.attempts += 1
        try:
            with anyio.CancelScope() as scope:
                job.scope = scope
                with anyio.fail_after(self.settings.timeout):
                    result = await job.call(session)
                if not job.future.done():
                    job.future.set_result(result)
                self._failures = 0
            if scope.cancelled_caught and not job.future.done():  # the caller gave up
                job.future.set_exception(McpServerError(
                    f"the call to MCP server {self.name!r} was cancelled"))
            return
        except TimeoutError:
            error: BaseException = McpServerError(
                f"MCP server {self.name!r} did not answer within {self.settings.timeout:g}s "
                "(the call was cancelled)")
        except MCPError as exc:
            if exc.code != CONNECTION_CLOSED:
                error = exc
            else:
                self._mark_lost("the connection closed during a call", lost)
                error = self._lost_error(job)
        except anyio.get_cancelled_exc_class():
            if not job.future.done():  # the connection is going down under the call
                if self._closing.is_set():
                    job.future.set_exception(McpServerError(
                        f"the call to MCP server {self.name!r} was cancelled: the bridge is closing"))
                else:
                    self._mark_lost("the connection failed during a call", lost)
                    self._settle(job, self._lost_error(job))
            raise
        except (OSError, anyio.BrokenResourceError, anyio.ClosedResourceError) as exc:
            self._mark_lost(f"the connection failed: {_describe(exc)}", lost)
            error = self._lost_error(job)
        except Exception as exc:
            error = exc
        self._settle(job, error)

    def _settle(self, job: _Job, error: BaseException) -> None:
        if job.future.done():
            return
        if isinstance(error, _Retry):
            self._retry.append(job)
        else:
            job.future.set_exception(error)

    def _lost_error(self, job: _Job) -> BaseException:
        if job.retry_safe and job.attempts < 2:
            return _Retry()
        return McpServerError(
            f"the connection to MCP server {self.name!r} was lost during the call, which may or "
            f"may not have taken effect; the server is being restarted ({self._lost_reason})")


class _Retry(Exception):
    """Marker: run the job again on the next connection."""


async def _list_tools(session: ClientSession) -> list[types.Tool]:
    tools: list[types.Tool] = []
    cursor: str | None = None
    while True:
        params = types.PaginatedRequestParams(cursor=cursor) if cursor else None
        page = await session.list_tools(params=params)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if not cursor:
            return tools


def _names(tools: list[types.Tool]) -> list[tuple[str, str]]:
    return sorted((t.name, t.model_dump_json()) for t in tools)


def _leaf(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _describe(exc: BaseException) -> str:
    exc = _leaf(exc)
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
