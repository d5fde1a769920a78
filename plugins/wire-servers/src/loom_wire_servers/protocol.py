"""The contract between the HTTP machinery and one wire protocol, plus shared helpers."""

from __future__ import annotations

import json
import re
import secrets
import string
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .neutral import NeutralRequest, estimate_tokens
from .script import Fault, Reply, Usage

__all__ = ["ProtocolAdapter", "SSEEvent", "WireError"]

_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str, length: int = 24) -> str:
    """A random identifier such as ``msg_01AbC...``."""
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def split_text(text: str, chunk_size: int | None) -> list[str]:
    """Split text into streaming chunks: fixed-size, or one word (with its spaces) each."""
    if not text:
        return []
    if chunk_size:
        return [text[i : i + chunk_size] for i in range(0, len(text), chunk_size)]
    return re.findall(r"\s*\S+\s*|\s+", text)


def split_fragments(text: str, parts: int = 3) -> list[str]:
    """Split JSON text into a few fragments, as models stream tool arguments."""
    if len(text) < parts * 2:
        return [text] if text else []
    step = -(-len(text) // parts)
    return [text[i : i + step] for i in range(0, len(text), step)]


def estimate_usage(request: NeutralRequest, reply: Reply) -> Usage:
    """Plausible usage when the script gives none: about one token per four characters."""
    reasoning = estimate_tokens(reply.thinking) if reply.thinking else 0
    output = estimate_tokens(reply.text) + reasoning
    for call in reply.tool_calls:
        output += estimate_tokens(call.name + call.arguments_json)
    return Usage(
        input_tokens=max(1, request.estimated_input_tokens()),
        output_tokens=max(1, output),
        reasoning_tokens=reasoning,
    )


@dataclass
class WireError(Exception):
    """An error response, already shaped for its protocol."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"HTTP {self.status}: {json.dumps(self.body)}"


@dataclass(frozen=True)
class SSEEvent:
    """One server-sent event. ``data`` is JSON-encoded unless it is already a string.

    ``terminal`` marks the closing events dropped by ``Fault.truncated_stream()``.
    """

    data: Mapping[str, Any] | str
    event: str | None = None
    terminal: bool = False

    def encode(self) -> bytes:
        data = self.data if isinstance(self.data, str) else json.dumps(self.data, ensure_ascii=False)
        head = f"event: {self.event}\n" if self.event else ""
        return f"{head}data: {data}\n\n".encode()


def retry_headers(retry_after: float | None, *, with_ms: bool) -> dict[str, str]:
    """``retry-after`` (and optionally ``retry-after-ms``) for a delay in seconds."""
    if retry_after is None:
        return {}
    seconds = f"{retry_after:g}"
    headers = {"retry-after": seconds}
    if with_ms:
        headers["retry-after-ms"] = f"{retry_after * 1000:g}"
    return headers


class ProtocolAdapter(ABC):
    """Parses, validates and renders one wire protocol. Subclass to add a protocol."""

    name: str = ""

    @abstractmethod
    def parse(
        self, body: Mapping[str, Any], path: str, headers: Mapping[str, str], model: str | None
    ) -> NeutralRequest:
        """Build the neutral view of a request (raise :class:`WireError` if unusable)."""

    @abstractmethod
    def validate(self, request: NeutralRequest) -> None:
        """Reject requests the real API would reject, by raising :class:`WireError`."""

    @abstractmethod
    def render_json(self, request: NeutralRequest, reply: Reply, usage: Usage) -> dict[str, Any]:
        """The non-streaming response body."""

    @abstractmethod
    def render_events(self, request: NeutralRequest, reply: Reply, usage: Usage) -> list[SSEEvent]:
        """The streaming response, as SSE events."""

    @abstractmethod
    def make_error(
        self,
        status: int,
        message: str,
        *,
        error_type: str | None = None,
        code: str | None = None,
        param: str | None = None,
        retry_after: float | None = None,
        should_retry: bool | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> WireError:
        """An error response in the protocol's shape."""

    @abstractmethod
    def context_overflow(self, request: NeutralRequest, tokens: int | None, limit: int | None) -> WireError:
        """The protocol's real context-window-exceeded error."""

    @abstractmethod
    def default_message(self, status: int) -> str:
        """The message the real API uses for a bare HTTP error status."""

    def fault_error(self, fault: Fault) -> WireError:
        """The error response for a ``Fault.status(...)`` item."""
        return self.make_error(
            fault.status_code,
            fault.message or self.default_message(fault.status_code),
            error_type=fault.error_type,
            code=fault.code,
            retry_after=fault.retry_after,
            should_retry=fault.should_retry,
            headers=fault.headers,
        )

    def stream_error_event(self, error: WireError, sequence_number: int) -> SSEEvent:
        """The in-stream form of ``error`` (default: its JSON body as a ``data:`` event)."""
        return SSEEvent(error.body)

    def auth_error(self) -> WireError:
        """The error for a request without the expected API key."""
        return self.make_error(401, self.default_message(401))

    def response_headers(self) -> dict[str, str]:
        """Headers added to every response (request ids and the like)."""
        return {}


def should_retry_header(should_retry: bool | None) -> dict[str, str]:
    """The ``x-should-retry`` header, when a value is given."""
    if should_retry is None:
        return {}
    return {"x-should-retry": "true" if should_retry else "false"}


def text_of(content: Any) -> str:
    """Concatenated text of a string or a list of text-bearing parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Mapping):
        value = content.get("text")
        return value if isinstance(value, str) else ""
    if isinstance(content, list):
        return "".join(text_of(part) for part in content if isinstance(part, (Mapping, str)))
    return ""
