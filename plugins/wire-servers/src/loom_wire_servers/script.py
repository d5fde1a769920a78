"""Provider-neutral script items: what the fake model says next, or which fault to inject.

A server consumes one script item per generation request. An item is either a
:class:`Reply` (a normal model turn) or a :class:`Fault` (an HTTP error, a broken
stream, a slow start...). The same item renders correctly on every protocol.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

if TYPE_CHECKING:
    from .neutral import NeutralRequest

__all__ = [
    "Fault",
    "FaultKind",
    "Reply",
    "Script",
    "ScriptFunction",
    "ScriptItem",
    "StopReason",
    "ToolCall",
    "Usage",
]

StopReason: TypeAlias = Literal["end_turn", "tool_use", "max_tokens", "stop_sequence", "content_filter"]
"""Why the model stopped, in neutral terms; each protocol maps it to its own value."""

FaultKind: TypeAlias = Literal[
    "status", "context_overflow", "reset", "disconnect", "truncated", "slow_first_byte", "stream_error"
]


@dataclass(frozen=True)
class Usage:
    """Token accounting for one reply.

    ``input_tokens`` is the *whole* prompt, cached part included;
    ``cache_read_tokens`` and ``cache_write_tokens`` are the parts of it read from
    or written to the prompt cache. Each protocol reports these the way the real
    API does (Anthropic, for instance, excludes cached tokens from its own
    ``input_tokens``).
    """

    input_tokens: int
    output_tokens: int
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.input_tokens + self.output_tokens

    @property
    def uncached_input_tokens(self) -> int:
        """Prompt tokens neither read from nor written to the cache."""
        return max(0, self.input_tokens - self.cache_read_tokens - self.cache_write_tokens)


@dataclass(frozen=True)
class ToolCall:
    """A tool (function) call made by the model.

    ``arguments`` is normally a dict. Pass a string to send it verbatim as the
    arguments JSON text, which is how malformed JSON is injected
    (``ToolCall("read", '{"path": ')``). ``id`` is generated when omitted.
    """

    name: str
    arguments: Mapping[str, Any] | str = field(default_factory=dict)
    id: str | None = None

    @property
    def arguments_json(self) -> str:
        """The arguments as JSON text (the raw string when one was given)."""
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(dict(self.arguments), ensure_ascii=False)

    @property
    def parsed_arguments(self) -> dict[str, Any] | None:
        """The arguments as a dict, or ``None`` when the raw text is not a JSON object."""
        if not isinstance(self.arguments, str):
            return dict(self.arguments)
        try:
            value = json.loads(self.arguments)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None


@dataclass(frozen=True)
class Reply:
    """One model turn: optional thinking, text, and tool calls.

    ``usage`` is estimated from the request and the reply when omitted.
    ``stop_reason`` defaults to ``"tool_use"`` when there are tool calls and
    ``"end_turn"`` otherwise. When streaming, text is sent in chunks of
    ``chunk_size`` characters (default: one word per chunk).
    """

    text: str = ""
    tool_calls: Sequence[ToolCall] = ()
    thinking: str | None = None
    usage: Usage | None = None
    stop_reason: StopReason | None = None
    thinking_signature: str | None = None
    chunk_size: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "tool_calls", tuple(self.tool_calls))
        if self.chunk_size is not None and self.chunk_size < 1:
            raise ValueError("chunk_size must be a positive integer")

    @property
    def effective_stop_reason(self) -> StopReason:
        """The scripted stop reason, or the natural one for this reply."""
        if self.stop_reason is not None:
            return self.stop_reason
        return "tool_use" if self.tool_calls else "end_turn"

    @property
    def signature(self) -> str:
        """The thinking signature to send (a fixed placeholder unless scripted)."""
        return self.thinking_signature or "c2lnbmF0dXJlLWZyb20tbG9vbS13aXJlLXNlcnZlcnM="


_DEFAULT_PARTIAL = Reply(text="This answer is going to be cut off before it is complete.")


@dataclass(frozen=True)
class Fault:
    """A failure to inject instead of (or while) answering. Build with the class methods."""

    kind: FaultKind
    status_code: int = 0
    message: str | None = None
    retry_after: float | None = None
    error_type: str | None = None
    code: str | None = None
    should_retry: bool | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    after_events: int = 0
    drop_events: int | None = None
    delay: float = 0.0
    reply: Reply | None = None
    tokens: int | None = None
    limit: int | None = None

    @classmethod
    def status(
        cls,
        status_code: int,
        message: str | None = None,
        *,
        retry_after: float | None = None,
        error_type: str | None = None,
        code: str | None = None,
        should_retry: bool | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Fault:
        """An HTTP error with the protocol's own error body.

        ``retry_after`` (seconds) sets ``retry-after`` (plus ``retry-after-ms`` on
        Anthropic/OpenAI and a ``RetryInfo`` detail on Gemini). ``error_type``
        overrides the error type (Anthropic ``error.type``, OpenAI ``error.type``,
        Gemini ``error.status``); ``code`` sets OpenAI's ``error.code``.
        ``should_retry`` sends the ``x-should-retry`` header the official SDKs obey.
        """
        if not 400 <= status_code <= 599:
            raise ValueError("status_code must be an HTTP error status (400-599)")
        return cls(
            kind="status",
            status_code=status_code,
            message=message,
            retry_after=retry_after,
            error_type=error_type,
            code=code,
            should_retry=should_retry,
            headers=dict(headers or {}),
        )

    @classmethod
    def context_overflow(cls, *, tokens: int | None = None, limit: int | None = None) -> Fault:
        """The protocol's real "prompt is too long" error (HTTP 400).

        ``limit`` defaults to a typical context window for the protocol and
        ``tokens`` to a count just above it.
        """
        return cls(kind="context_overflow", status_code=400, tokens=tokens, limit=limit)

    @classmethod
    def reset_mid_stream(cls, after_events: int = 1, *, reply: Reply | None = None) -> Fault:
        """Abort the TCP connection (RST) in the middle of the response.

        Streaming requests get ``after_events`` SSE events of ``reply`` first.
        Non-streaming requests get the status line, headers and half the body.
        """
        if after_events < 0:
            raise ValueError("after_events must be >= 0")
        return cls(kind="reset", after_events=after_events, reply=reply or _DEFAULT_PARTIAL)

    @classmethod
    def stream_error(
        cls,
        status_code: int = 529,
        message: str | None = None,
        *,
        after_events: int = 1,
        error_type: str | None = None,
        reply: Reply | None = None,
    ) -> Fault:
        """Start a 200 SSE stream, then report an error *inside* it and end the stream.

        After ``after_events`` events of ``reply``, the protocol's in-stream error is
        sent: Anthropic ``event: error`` (``overloaded_error`` for 529), OpenAI Chat
        ``data: {"error": ...}``, Responses ``event: error``, Gemini
        ``data: {"error": ...}``. ``status_code`` picks the error type. Non-streaming
        requests get the plain HTTP error instead.
        """
        if after_events < 0:
            raise ValueError("after_events must be >= 0")
        if not 400 <= status_code <= 599:
            raise ValueError("status_code must be an HTTP error status (400-599)")
        return cls(
            kind="stream_error",
            status_code=status_code,
            message=message,
            error_type=error_type,
            after_events=after_events,
            reply=reply or _DEFAULT_PARTIAL,
        )

    @classmethod
    def disconnect(cls) -> Fault:
        """Drop the connection before sending any response byte."""
        return cls(kind="disconnect")

    @classmethod
    def truncated_stream(cls, *, reply: Reply | None = None, drop_events: int | None = None) -> Fault:
        """End the SSE stream cleanly but early, without its final event(s).

        By default the protocol's closing events are dropped (Anthropic
        ``message_delta``/``message_stop``, OpenAI finish chunk/usage/``[DONE]``,
        Responses ``response.completed``, Gemini's final ``finishReason`` chunk);
        ``drop_events`` drops exactly that many trailing events instead.
        Non-streaming requests get a JSON body cut in half.
        """
        if drop_events is not None and drop_events < 0:
            raise ValueError("drop_events must be >= 0")
        return cls(kind="truncated", reply=reply or _DEFAULT_PARTIAL, drop_events=drop_events)

    @classmethod
    def slow_first_byte(cls, seconds: float, *, reply: Reply | None = None) -> Fault:
        """Wait ``seconds`` before sending the response headers, then answer ``reply``."""
        if seconds < 0:
            raise ValueError("seconds must be >= 0")
        return cls(kind="slow_first_byte", delay=seconds, reply=reply or Reply(text="ok"))


ScriptItem: TypeAlias = Reply | Fault
"""One entry of a script: a normal reply or an injected fault."""

ScriptFunction: TypeAlias = Callable[["NeutralRequest"], "ScriptItem | Awaitable[ScriptItem]"]
"""Computes the next item from the request; may be a coroutine function."""

Script: TypeAlias = Sequence[ScriptItem] | ScriptFunction
"""What drives a server: items consumed in order, or a function of the request."""
