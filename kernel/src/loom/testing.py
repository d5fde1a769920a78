"""Helpers for testing agents and plugins without any real provider.

- :class:`ScriptedModel` — a provider that answers from a script (a list of
  replies, or a function of the request) and records every request;
- :func:`call` / :func:`raw_call` — build scripted tool calls;
- :class:`LoomHarness` — a runtime with a chosen plugin set that records
  every hook call and event;
- :func:`no_real_providers` — refuses connections to anything but loopback,
  so a test that tries to reach a real provider fails loudly.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import socket
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from typing import Any

from loom.api import AgentRuntime, run_sync
from loom.config import load_config
from loom.errors import LoomError, RealProviderBlocked
from loom.events import Event
from loom.hookspecs import hookimpl
from loom.messages import Message, TextBlock, ToolCallBlock
from loom.profile import AgentProfile
from loom.records import ProviderRecord, StoreRecord
from loom.requests import ModelRequest, ModelResponse, StopReason, StreamDelta, Usage
from loom.run import RunResult
from loom.store import Checkpoint, RunInfo, StoredRun, ToolCallState

Reply = str | ToolCallBlock | list[ToolCallBlock] | ModelResponse | Message | BaseException | asyncio.Event
Script = Sequence[Reply | Callable[[ModelRequest], Reply]] | Callable[[ModelRequest], Reply]


def call(name: str, /, **arguments: Any) -> ToolCallBlock:
    """A scripted tool call with JSON arguments."""
    return ToolCallBlock(id=f"call_{uuid.uuid4().hex[:10]}", name=name, arguments=arguments)


def raw_call(name: str, raw_arguments: str) -> ToolCallBlock:
    """A scripted tool call whose arguments are raw (possibly malformed) JSON."""
    try:
        parsed = json.loads(raw_arguments)
        arguments = parsed if isinstance(parsed, dict) else {}
    except ValueError:
        arguments = {}
    return ToolCallBlock(id=f"call_{uuid.uuid4().hex[:10]}", name=name,
                         arguments=arguments, raw_arguments=raw_arguments)


class ScriptedModel:
    """A provider answering from a script; ``requests`` records what it was asked.

    Each reply is a string (final answer), a tool call or a list of tool
    calls (one turn), a Message, a ModelResponse, an exception (raised, as a
    failing provider would: e.g. a :class:`~loom.errors.ProviderError`), an
    :class:`asyncio.Event` (the call waits for it, then answers the next
    reply: a call held in flight), or a callable of the request returning
    one of those. ``script`` may itself
    be one callable. ``name`` and ``model`` are what resilience plugins see
    as the provider's name and default model.
    """

    name = "scripted"

    def __init__(self, script: Script, *, context_window: int = 200_000,
                 usage: Callable[[ModelRequest, Message], Usage] | None = None,
                 name: str | None = None, model: str | None = None) -> None:
        self.script = script
        if name is not None:
            self.name = name
        if model is not None:
            self.model = model
        self.context_window = context_window
        self.requests: list[ModelRequest] = []
        self._index = 0
        self._usage = usage
        self._sizes: dict[int, tuple[Message, int]] = {}

    @property
    def calls(self) -> int:
        """How many times the model was called (failed calls included)."""
        return len(self.requests)

    def _size(self, message: Message) -> int:
        hit = self._sizes.get(id(message))
        if hit is None or hit[0] is not message:
            hit = (message, len(message.model_dump_json()))
            self._sizes[id(message)] = hit
        return hit[1]

    async def complete(
        self, request: ModelRequest, *,
        on_delta: Callable[[StreamDelta], Awaitable[None]] | None = None,
    ) -> ModelResponse:
        """Answer the next scripted reply (streaming its text when asked)."""
        self.requests.append(request)
        return await self._answer_next(request, on_delta)

    async def _answer_next(self, request: ModelRequest,
                           on_delta: Callable[[StreamDelta], Awaitable[None]] | None) -> ModelResponse:
        if callable(self.script):
            reply: Any = self.script(request)
        else:
            if self._index >= len(self.script):
                raise LoomError(f"scripted model has no reply #{self._index + 1} "
                                f"(script has {len(self.script)})")
            reply = self.script[self._index]
            self._index += 1
            if isinstance(reply, asyncio.Event):
                await reply.wait()
                return await self._answer_next(request, on_delta)
            if callable(reply):
                reply = reply(request)
        if isinstance(reply, BaseException):
            raise reply
        response = self._to_response(reply)
        if on_delta is not None and response.message.text_content:
            for word in response.message.text_content.split(" "):
                await on_delta(StreamDelta(kind="text", text=word + " "))
        return response

    def _to_response(self, reply: Any) -> ModelResponse:
        if isinstance(reply, ModelResponse):
            return reply
        if isinstance(reply, str):
            message = Message(role="assistant", content=[TextBlock(text=reply)])
        elif isinstance(reply, ToolCallBlock):
            message = Message(role="assistant", content=[reply])
        elif isinstance(reply, list):
            message = Message(role="assistant", content=list(reply))
        elif isinstance(reply, Message):
            message = reply
        else:
            raise TypeError(f"unsupported scripted reply {reply!r}")
        stop: StopReason = "tool_use" if message.tool_calls else "end_turn"
        usage = self._usage(self.requests[-1], message) if self._usage else Usage(
            input_tokens=sum(map(self._size, self.requests[-1].messages)) // 4,
            output_tokens=max(1, self._size(message) // 4))
        return ModelResponse(message=message, stop_reason=stop, usage=usage,
                             model="scripted", provider="scripted")


class ScriptedProviderPlugin:
    """A plugin registering a ``scripted`` provider record for a given model."""

    def __init__(self, model: ScriptedModel) -> None:
        self.model = model

    @hookimpl
    def loom_register_providers(self) -> list[ProviderRecord]:
        model = self.model
        return [ProviderRecord(name="scripted", factory=lambda: model,
                               description="scripted model for tests")]


class HookRecorder:
    """Records ``(hook, plugin)`` for every implementation the dispatcher calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def __call__(self, hook: str, plugin: str) -> None:
        self.calls.append((hook, plugin))

    def hooks(self) -> list[str]:
        """The hooks called, in order (with repeats)."""
        return [h for h, _ in self.calls]


class LoomHarness:
    """Build a runtime with a chosen plugin set and a scripted model; run goals.

    ``plugins`` are plugin objects; entry-point plugins are not loaded unless
    ``entry_points=True``. ``config`` is a configuration document (a dict as
    it would be read from ``loom.toml``).
    """

    def __init__(
        self,
        script: Script | ScriptedModel = (),
        *,
        plugins: Iterable[Any] = (),
        config: dict[str, Any] | None = None,
        profile: AgentProfile | None = None,
        entry_points: bool = False,
        environ: dict[str, str] | None = None,
    ) -> None:
        self.model = script if isinstance(script, ScriptedModel) else ScriptedModel(script)
        self.recorder = HookRecorder()
        self.runtime = AgentRuntime(
            profile=profile or AgentProfile.from_preset("default"),
            provider=self.model,
            config=load_config(data=config or {}, environ=environ or {}),
            plugins=plugins,
            entry_points=entry_points,
        )
        self.runtime.plugins.dispatcher.trace = self.recorder

    async def run(self, goal: str) -> RunResult:
        """Run one goal in a new session and return its result."""
        run = self.runtime.create_session().create_task(goal).start()
        self.last_run = run
        return await run.wait()

    def run_sync(self, goal: str) -> RunResult:
        """:meth:`run` from synchronous code."""
        return run_sync(self.run(goal))

    def event_kinds(self) -> list[str]:
        """Kinds of the last run's events, in order."""
        return [e.kind for e in self.last_run.recorded]


class MemoryStore:
    """A :class:`~loom.store.RunStore` kept in memory (one process), for tests.

    Several runtimes may share one instance to simulate a restart.
    """

    def __init__(self) -> None:
        self.runs: dict[str, RunInfo] = {}
        self.checkpoints: dict[str, Checkpoint] = {}
        self.events: dict[str, list[Event]] = {}
        self.responses: dict[str, list[dict[str, Any]]] = {}
        self.tool_calls: dict[str, ToolCallState] = {}
        self.approvals: dict[str, dict[str, dict[str, Any]]] = {}
        self.artifacts: dict[str, bytes] = {}
        self.commits = 0

    async def open(self) -> None:
        """Nothing to connect to."""

    async def close(self) -> None:
        """Nothing to release."""

    async def create_run(self, info: RunInfo) -> None:
        self.runs[info.run_id] = info
        self.events.setdefault(info.run_id, [])

    async def commit_step(self, checkpoint: Checkpoint, events: list[Event]) -> None:
        self.checkpoints[checkpoint.run_id] = checkpoint
        self.events.setdefault(checkpoint.run_id, []).extend(events)
        if checkpoint.response is not None:
            self.responses.setdefault(checkpoint.run_id, []).append(checkpoint.response)
        self.commits += 1

    async def finish_run(self, info: RunInfo, events: list[Event]) -> None:
        self.runs[info.run_id] = info
        self.events.setdefault(info.run_id, []).extend(events)

    async def tool_call_started(self, key: str, run_id: str, call: dict[str, Any]) -> None:
        self.tool_calls[key] = ToolCallState(key=key, status="started")

    async def tool_call_finished(self, key: str, result: dict[str, Any]) -> None:
        self.tool_calls[key] = ToolCallState(key=key, status="completed", result=result)

    async def tool_call_state(self, key: str) -> ToolCallState | None:
        return self.tool_calls.get(key)

    async def save_approval(self, run_id: str, approval: dict[str, Any]) -> None:
        self.approvals.setdefault(run_id, {})[approval["id"]] = dict(approval)

    async def save_artifact(self, run_id: str, name: str, media_type: str, digest: str,
                            data: bytes) -> None:
        self.artifacts[digest] = data

    async def load_run(self, run_id: str) -> StoredRun | None:
        if run_id not in self.runs:
            return None
        return StoredRun(info=self.runs[run_id], checkpoint=self.checkpoints.get(run_id),
                         events=list(self.events.get(run_id, [])),
                         responses=list(self.responses.get(run_id, [])),
                         approvals=list(self.approvals.get(run_id, {}).values()))

    async def list_runs(self, limit: int = 50) -> list[RunInfo]:
        return sorted(self.runs.values(), key=lambda r: -r.updated_at)[:limit]


class StorePlugin:
    """A plugin registering a given store object as the ``memory`` store record."""

    def __init__(self, store: Any) -> None:
        self.store = store

    @hookimpl
    def loom_register_stores(self) -> list[StoreRecord]:
        store = self.store
        return [StoreRecord(name="memory", factory=lambda: store, description="in-memory store")]


def _is_loopback(host: str) -> bool:
    if host in ("localhost", "") or host.startswith("/"):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


@contextlib.contextmanager
def no_real_providers() -> Iterator[None]:
    """Refuse any TCP connection or DNS lookup that is not to loopback."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def check(address: Any) -> None:
        if isinstance(address, tuple) and not _is_loopback(str(address[0])):
            raise RealProviderBlocked(
                f"a test tried to connect to {address[0]}:{address[1]}; tests must use the "
                "local wire-protocol servers, never a real provider")

    def connect(self: socket.socket, address: Any) -> None:
        check(address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        check(address)
        return real_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and not _is_loopback(str(host.decode() if isinstance(host, bytes) else host)):
            raise RealProviderBlocked(f"a test tried to resolve {host!r}; no real provider in tests")
        return real_getaddrinfo(host, *args, **kwargs)

    setattr(socket.socket, "connect", connect)
    setattr(socket.socket, "connect_ex", connect_ex)
    setattr(socket, "getaddrinfo", getaddrinfo)
    try:
        yield
    finally:
        setattr(socket.socket, "connect", real_connect)
        setattr(socket.socket, "connect_ex", real_connect_ex)
        setattr(socket, "getaddrinfo", real_getaddrinfo)


__all__ = ["HookRecorder", "LoomHarness", "MemoryStore", "ScriptedModel", "ScriptedProviderPlugin",
           "StorePlugin", "call", "no_real_providers", "raw_call"]
