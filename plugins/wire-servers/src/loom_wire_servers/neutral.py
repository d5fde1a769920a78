"""Provider-neutral views of what a client sent: requests, messages, tools, results."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from .script import ToolCall

__all__ = [
    "NeutralMessage",
    "NeutralRequest",
    "RecordedRequest",
    "ToolResult",
    "ToolSpec",
    "estimate_tokens",
]

Role: TypeAlias = Literal["user", "assistant", "tool"]


def estimate_tokens(value: Any) -> int:
    """A rough token count: the length of the value's JSON text divided by four."""
    if value is None:
        return 0
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return max(1, len(text) // 4) if text else 0


@dataclass(frozen=True)
class ToolResult:
    """The client's answer to one tool call (``call_id`` may be ``None`` on Gemini)."""

    call_id: str | None
    content: str
    name: str | None = None
    is_error: bool = False


@dataclass(frozen=True)
class ToolSpec:
    """A tool the client offered to the model."""

    name: str
    description: str = ""
    parameters: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NeutralMessage:
    """One conversation turn.

    ``role`` is ``"user"``, ``"assistant"`` or ``"tool"``; a ``"tool"`` message
    carries the ``tool_results`` sent back by the client (OpenAI ``tool``
    messages, Anthropic ``tool_result`` blocks, Gemini ``functionResponse`` parts,
    Responses ``function_call_output`` items).
    """

    role: Role
    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_results: tuple[ToolResult, ...] = ()
    thinking: str | None = None


@dataclass(frozen=True)
class NeutralRequest:
    """What a script function receives: the parsed request, protocol-independent."""

    protocol: str
    model: str
    messages: tuple[NeutralMessage, ...]
    system: str | None
    tools: tuple[ToolSpec, ...]
    stream: bool
    body: Mapping[str, Any]
    path: str
    headers: Mapping[str, str]
    max_tokens: int | None = None
    response_format: Mapping[str, Any] | None = None

    @property
    def last_message(self) -> NeutralMessage | None:
        """The final message of the conversation, if any."""
        return self.messages[-1] if self.messages else None

    @property
    def last_user_text(self) -> str:
        """Text of the most recent user message ("" when there is none)."""
        for message in reversed(self.messages):
            if message.role == "user":
                return message.text
        return ""

    @property
    def tool_results(self) -> tuple[ToolResult, ...]:
        """Tool results in the trailing ``tool`` messages (the ones awaiting an answer)."""
        results: list[ToolResult] = []
        for message in reversed(self.messages):
            if message.role == "tool":
                results[:0] = message.tool_results
            elif message.role == "user" and not message.text:
                continue
            else:
                break
        return tuple(results)

    @property
    def tool_names(self) -> tuple[str, ...]:
        """Names of the tools offered in this request."""
        return tuple(tool.name for tool in self.tools)

    def estimated_input_tokens(self) -> int:
        """Rough prompt size, used for default usage and context-window checks."""
        return estimate_tokens(
            {
                "system": self.system,
                "messages": [_message_for_count(m) for m in self.messages],
                "tools": [{"n": t.name, "d": t.description, "p": dict(t.parameters)} for t in self.tools],
            }
        )


def _message_for_count(message: NeutralMessage) -> dict[str, Any]:
    return {
        "r": message.role,
        "t": message.text,
        "c": [(c.name, c.arguments_json) for c in message.tool_calls],
        "x": [(r.call_id, r.content) for r in message.tool_results],
    }


@dataclass(frozen=True)
class RecordedRequest:
    """An HTTP request as the server received it.

    ``headers`` has lower-case names; ``body`` is the parsed JSON (``None`` when
    the body was empty or not JSON); ``raw_body`` is the exact bytes.
    """

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: Any
    raw_body: bytes = b""

    def header(self, name: str, default: str | None = None) -> str | None:
        """A header value by case-insensitive name."""
        return self.headers.get(name.lower(), default)
