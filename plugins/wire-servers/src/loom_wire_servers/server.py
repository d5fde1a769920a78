"""The server base class: lifecycle, request recording, script consumption, fault injection."""

from __future__ import annotations

import asyncio
import inspect
import json
import socket
import struct
import threading
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from .neutral import NeutralRequest, RecordedRequest
from .protocol import ProtocolAdapter, SSEEvent, WireError, estimate_usage
from .script import Fault, Reply, Script, ScriptFunction, ScriptItem

__all__ = ["WireServer"]

_RESET_GRACE = 0.05  # seconds for already-written bytes to reach the client before an RST


class _ScriptSource:
    """Hands out script items: from a queue, or from a function of the request."""

    def __init__(self, script: Script | None) -> None:
        self._lock = threading.Lock()
        self._queue: deque[ScriptItem] = deque()
        self._function: ScriptFunction | None = None
        self.served = 0
        self.replace(script)

    def replace(self, script: Script | None) -> None:
        with self._lock:
            self._queue.clear()
            self._function = None
            if script is None:
                return
            if callable(script):
                self._function = script
            else:
                for item in script:
                    self._queue.append(_check_item(item))

    def push(self, items: Iterable[ScriptItem]) -> None:
        with self._lock:
            if self._function is not None:
                raise RuntimeError("this server is driven by a script function; cannot push items")
            self._queue.extend(_check_item(item) for item in items)

    @property
    def remaining(self) -> int | None:
        with self._lock:
            return None if self._function is not None else len(self._queue)

    async def next(self, request: NeutralRequest) -> ScriptItem | str:
        """The next item, or an explanation of why there is none."""
        with self._lock:
            function = self._function
            if function is None:
                if not self._queue:
                    return (
                        f"loom-wire-servers: the script is exhausted: {self.served} item(s) were "
                        f"consumed and nothing is left for this {request.protocol} request to "
                        f"{request.path}. Add more Reply/Fault items to the script."
                    )
                self.served += 1
                return self._queue.popleft()
        try:
            result = function(request)
            if inspect.isawaitable(result):
                result = await result
            item = _check_item(result)
        except Exception as exc:  # the script function is user code: report, don't crash
            return f"loom-wire-servers: the script function raised {type(exc).__name__}: {exc}"
        with self._lock:
            self.served += 1
        return item


def _check_item(item: Any) -> ScriptItem:
    if not isinstance(item, (Reply, Fault)):
        raise TypeError(f"script items must be Reply or Fault, not {type(item).__name__}")
    return item


def _abort(request: web.Request) -> None:
    """Close the connection with a TCP reset."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    transport.abort()


class WireServer(ABC):
    """A local HTTP server speaking one provider's wire protocol(s).

    Drive it with ``script``: a list of :class:`Reply`/:class:`Fault` items
    consumed one per generation request, or a function ``(NeutralRequest) -> item``
    (plain or ``async``). Validation errors are answered before the script is
    consulted and consume nothing. Every HTTP request is recorded in
    :attr:`requests`.

    The server runs in a background thread with its own event loop, so it works
    with blocking and asyncio clients alike. Use it as a context manager
    (``with`` or ``async with``) or call :meth:`start`/:meth:`stop`.

    ``validate=False`` turns off request validation; ``api_key`` makes the server
    reject requests that do not carry that key; ``context_window`` answers with
    the protocol's context-overflow error when the estimated prompt is larger.
    """

    def __init__(
        self,
        script: Script | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        validate: bool = True,
        api_key: str | None = None,
        context_window: int | None = None,
    ) -> None:
        self.host = host
        self.validate = validate
        self.api_key = api_key
        self.context_window = context_window
        self._requested_port = port
        self._port: int | None = None
        self._script = _ScriptSource(script)
        self._requests: list[RecordedRequest] = []
        self._requests_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    # -- protocol-specific parts -------------------------------------------------

    @abstractmethod
    def _add_routes(self, app: web.Application) -> None:
        """Register the protocol's endpoints."""

    @abstractmethod
    def _authorized(self, request: web.Request) -> bool:
        """Whether the request carries :attr:`api_key` the way the real API expects it."""

    @property
    @abstractmethod
    def base_url(self) -> str:
        """The URL to pass as the SDK's ``base_url``."""

    # -- public API -----------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound TCP port (the server must be started)."""
        if self._port is None:
            raise RuntimeError("the server is not running; call start() or use it as a context manager")
        return self._port

    @property
    def url(self) -> str:
        """``http://host:port`` without any path."""
        return f"http://{self.host}:{self.port}"

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received so far, oldest first."""
        with self._requests_lock:
            return list(self._requests)

    @property
    def last_request(self) -> RecordedRequest | None:
        """The most recent request, if any."""
        with self._requests_lock:
            return self._requests[-1] if self._requests else None

    @property
    def remaining(self) -> int | None:
        """Script items not yet consumed (``None`` when driven by a function)."""
        return self._script.remaining

    def push(self, *items: ScriptItem) -> None:
        """Append items to the script queue."""
        self._script.push(items)

    def set_script(self, script: Script | None) -> None:
        """Replace the script (queue or function)."""
        self._script.replace(script)

    def clear_requests(self) -> None:
        """Forget the recorded requests."""
        with self._requests_lock:
            self._requests.clear()

    def start(self) -> Self:
        """Start serving in a background thread; returns ``self``."""
        if self._thread is not None:
            return self
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._startup())
            except BaseException as exc:  # reported to the starting thread
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        thread = threading.Thread(target=run, name=f"{type(self).__name__}-{id(self):x}", daemon=True)
        thread.start()
        ready.wait()
        if failure:
            thread.join()
            raise failure[0]
        self._loop, self._thread = loop, thread
        return self

    def stop(self) -> None:
        """Stop serving and join the background thread. Safe to call twice."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=10)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            self._loop = self._thread = None
            self._port = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await asyncio.to_thread(self.stop)

    def __repr__(self) -> str:
        where = self.url if self._port is not None else "stopped"
        return f"<{type(self).__name__} {where}>"

    # -- machinery ------------------------------------------------------------------

    async def _startup(self) -> None:
        app = web.Application(client_max_size=256 * 1024 * 1024)
        self._add_routes(app)
        runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self._requested_port, backlog=1024)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])

    async def _shutdown(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _record(self, request: web.Request) -> tuple[RecordedRequest, Any]:
        raw = await request.read()
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
        recorded = RecordedRequest(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
            raw_body=raw,
        )
        with self._requests_lock:
            self._requests.append(recorded)
        return recorded, body

    def _check_access(self, adapter: ProtocolAdapter, request: web.Request, body: Any) -> None:
        if self.api_key is not None and not self._authorized(request):
            raise adapter.auth_error()
        if request.method == "POST" and not isinstance(body, dict):
            raise adapter.make_error(400, "The request body is not valid JSON.")

    def _error_response(self, adapter: ProtocolAdapter, error: WireError) -> web.Response:
        headers = {**adapter.response_headers(), **error.headers}
        return web.json_response(error.body, status=error.status, headers=headers)

    async def _serve_generation(
        self,
        adapter: ProtocolAdapter,
        request: web.Request,
        model: str | None = None,
        stream: bool | None = None,
    ) -> web.StreamResponse:
        """Record, validate, consult the script and answer one generation request."""
        recorded, body = await self._record(request)
        try:
            self._check_access(adapter, request, body)
            try:
                neutral = adapter.parse(body, recorded.path, recorded.headers, model)
            except (TypeError, ValueError, KeyError, AttributeError) as exc:
                raise adapter.make_error(400, f"The request body could not be understood: {exc}") from exc
            if stream is not None and neutral.stream != stream:
                neutral = _with_stream(neutral, stream)
            if self.validate:
                adapter.validate(neutral)
            if self.context_window is not None:
                tokens = neutral.estimated_input_tokens()
                if tokens > self.context_window:
                    raise adapter.context_overflow(neutral, tokens, self.context_window)
            item = await self._script.next(neutral)
            if isinstance(item, str):
                raise adapter.make_error(500, item, should_retry=False)
        except WireError as error:
            return self._error_response(adapter, error)
        return await self._perform(adapter, request, neutral, item)

    async def _perform(
        self, adapter: ProtocolAdapter, request: web.Request, neutral: NeutralRequest, item: ScriptItem
    ) -> web.StreamResponse:
        if isinstance(item, Reply):
            return await self._reply(adapter, request, neutral, item)
        if item.kind == "status":
            return self._error_response(adapter, adapter.fault_error(item))
        if item.kind == "context_overflow":
            return self._error_response(adapter, adapter.context_overflow(neutral, item.tokens, item.limit))
        if item.kind == "disconnect":
            _abort(request)
            return web.Response()
        assert item.reply is not None
        if item.kind == "stream_error" and not neutral.stream:
            return self._error_response(adapter, adapter.fault_error(item))
        if item.kind == "slow_first_byte":
            await asyncio.sleep(item.delay)
            return await self._reply(adapter, request, neutral, item.reply)
        return await self._reply(adapter, request, neutral, item.reply, fault=item)

    async def _reply(
        self,
        adapter: ProtocolAdapter,
        request: web.Request,
        neutral: NeutralRequest,
        reply: Reply,
        fault: Fault | None = None,
    ) -> web.StreamResponse:
        usage = reply.usage or estimate_usage(neutral, reply)
        if neutral.stream:
            events = adapter.render_events(neutral, reply, usage)
            return await self._stream(adapter, request, events, fault)
        payload = json.dumps(adapter.render_json(neutral, reply, usage), ensure_ascii=False).encode()
        if fault is None:
            return web.Response(
                body=payload, content_type="application/json", headers=adapter.response_headers()
            )
        cut = payload[: len(payload) // 2]
        response = web.StreamResponse(status=200, headers=adapter.response_headers())
        response.content_type = "application/json"
        response.content_length = len(payload) if fault.kind == "reset" else len(cut)
        await response.prepare(request)
        await response.write(cut)
        if fault.kind == "reset":
            await asyncio.sleep(_RESET_GRACE)
            _abort(request)
            return response
        await response.write_eof()
        return response

    async def _stream(
        self, adapter: ProtocolAdapter, request: web.Request, events: list[SSEEvent], fault: Fault | None
    ) -> web.StreamResponse:
        if fault is not None and fault.kind == "truncated":
            if fault.drop_events is not None:
                events = events[: max(0, len(events) - fault.drop_events)]
            else:
                events = [e for e in events if not e.terminal]
        if fault is not None and fault.kind == "stream_error":
            kept = events[: fault.after_events]
            events = [*kept, adapter.stream_error_event(adapter.fault_error(fault), len(kept))]
        reset_after = fault.after_events if fault is not None and fault.kind == "reset" else None
        response = web.StreamResponse(status=200, headers=adapter.response_headers())
        response.content_type = "text/event-stream"
        response.headers["cache-control"] = "no-cache"
        await response.prepare(request)
        for index, event in enumerate(events):
            if reset_after is not None and index >= reset_after:
                break
            await response.write(event.encode())
        if reset_after is not None:
            await asyncio.sleep(_RESET_GRACE)
            _abort(request)
            return response
        await response.write_eof()
        return response

    async def _serve_simple(
        self, adapter: ProtocolAdapter, request: web.Request, handler: Any
    ) -> web.StreamResponse:
        """Record and answer a non-generation endpoint; ``handler(body)`` returns a JSON dict."""
        _, body = await self._record(request)
        try:
            self._check_access(adapter, request, body)
            result = handler(body)
        except WireError as error:
            return self._error_response(adapter, error)
        return web.json_response(result, headers=adapter.response_headers())


def _with_stream(request: NeutralRequest, stream: bool) -> NeutralRequest:
    from dataclasses import replace

    return replace(request, stream=stream)


def mapping_or_empty(value: Any) -> Mapping[str, Any]:
    """``value`` if it is a mapping, else an empty dict."""
    return value if isinstance(value, Mapping) else {}
