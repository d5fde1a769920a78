"""Anthropic Messages API: ``POST /v1/messages`` (JSON and SSE) and ``/v1/messages/count_tokens``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from .neutral import NeutralMessage, NeutralRequest, ToolResult, ToolSpec
from .protocol import (
    ProtocolAdapter,
    SSEEvent,
    WireError,
    new_id,
    retry_headers,
    should_retry_header,
    split_fragments,
    split_text,
    text_of,
)
from .script import Reply, ToolCall, Usage
from .server import WireServer, mapping_or_empty

__all__ = ["AnthropicServer"]

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    409: "conflict_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
_MESSAGES = {
    400: "Invalid request.",
    401: "invalid x-api-key",
    403: "Your API key does not have permission to use the specified resource.",
    404: "The requested resource could not be found.",
    413: "Request exceeds the maximum allowed number of bytes.",
    429: "Number of requests has exceeded your rate limit. Please try again later.",
    500: "Internal server error",
    529: "Overloaded",
}
_STOP_REASONS = {"content_filter": "refusal"}
_CONTEXT_WINDOW = 200_000


class AnthropicAdapter(ProtocolAdapter):
    """Parses and renders the Anthropic Messages protocol."""

    name = "anthropic"

    def parse(
        self, body: Mapping[str, Any], path: str, headers: Mapping[str, str], model: str | None
    ) -> NeutralRequest:
        messages: list[NeutralMessage] = []
        raw_messages = body.get("messages")
        for raw in raw_messages if isinstance(raw_messages, list) else []:
            messages.extend(_neutral_messages(mapping_or_empty(raw)))
        tools = tuple(
            ToolSpec(
                str(t.get("name", "")),
                str(t.get("description") or ""),
                mapping_or_empty(t.get("input_schema")),
            )
            for t in map(mapping_or_empty, body.get("tools") or [])
        )
        system = text_of(body.get("system")) or None
        max_tokens = body.get("max_tokens")
        return NeutralRequest(
            protocol=self.name,
            model=str(body.get("model") or ""),
            messages=tuple(messages),
            system=system,
            tools=tools,
            stream=bool(body.get("stream")),
            body=body,
            path=path,
            headers=headers,
            max_tokens=max_tokens if isinstance(max_tokens, int) else None,
            response_format=mapping_or_empty(body.get("output_format")) or None,
        )

    def validate(self, request: NeutralRequest) -> None:
        body = request.body
        if not body.get("model"):
            raise self.make_error(400, "model: Field required")
        if "max_tokens" not in body and not request.path.endswith("/count_tokens"):
            raise self.make_error(400, "max_tokens: Field required")
        if "max_tokens" in body and (not isinstance(body["max_tokens"], int) or body["max_tokens"] < 1):
            raise self.make_error(400, "max_tokens: Input should be greater than or equal to 1")
        self.validate_messages(body.get("messages"))

    def validate_messages(self, messages: Any) -> None:
        """Role alternation and tool_use/tool_result pairing, as the real API checks them."""
        if not isinstance(messages, list):
            raise self.make_error(400, "messages: Field required")
        if not messages:
            raise self.make_error(400, "messages: at least one message is required")
        previous_role = None
        for index, raw in enumerate(messages):
            role = mapping_or_empty(raw).get("role")
            if role not in ("user", "assistant"):
                raise self.make_error(400, f"messages.{index}.role: Input should be 'user' or 'assistant'")
            if index == 0 and role != "user":
                raise self.make_error(400, 'messages: first message must use the "user" role')
            if role == previous_role:
                raise self.make_error(
                    400,
                    'messages: roles must alternate between "user" and "assistant", '
                    f'but found multiple "{role}" roles in a row',
                )
            previous_role = role
        for index, raw in enumerate(messages):
            blocks = _blocks(raw)
            if raw["role"] == "user":
                allowed = (
                    {b.get("id") for b in _blocks(messages[index - 1]) if b.get("type") == "tool_use"}
                    if index
                    else set()
                )
                for position, block in enumerate(blocks):
                    if block.get("type") == "tool_result" and block.get("tool_use_id") not in allowed:
                        raise self.make_error(
                            400,
                            f"messages.{index}.content.{position}: unexpected `tool_use_id` found in "
                            f"`tool_result` blocks: {block.get('tool_use_id')}. Each `tool_result` block "
                            "must have a corresponding `tool_use` block in the previous message.",
                        )
            elif index + 1 < len(messages):
                answered = {
                    b.get("tool_use_id")
                    for b in _blocks(messages[index + 1])
                    if b.get("type") == "tool_result"
                }
                missing = [
                    b.get("id") for b in blocks if b.get("type") == "tool_use" and b.get("id") not in answered
                ]
                if missing:
                    raise self.make_error(
                        400,
                        f"messages.{index}: `tool_use` ids were found without `tool_result` blocks "
                        f"immediately after: {', '.join(map(str, missing))}. Each `tool_use` block must "
                        "have a corresponding `tool_result` block in the next message.",
                    )

    def render_json(self, request: NeutralRequest, reply: Reply, usage: Usage) -> dict[str, Any]:
        content: list[dict[str, Any]] = []
        if reply.thinking is not None:
            content.append({"type": "thinking", "thinking": reply.thinking, "signature": reply.signature})
        if reply.text:
            content.append({"type": "text", "text": reply.text})
        for call in reply.tool_calls:
            parsed = call.parsed_arguments
            content.append(
                {
                    "type": "tool_use",
                    "id": _tool_id(call),
                    "name": call.name,
                    "input": parsed if parsed is not None else call.arguments_json,
                }
            )
        return {
            **self._message_shell(request),
            "content": content,
            "stop_reason": _STOP_REASONS.get(reply.effective_stop_reason, reply.effective_stop_reason),
            "usage": _usage(usage),
        }

    def render_events(self, request: NeutralRequest, reply: Reply, usage: Usage) -> list[SSEEvent]:
        start_usage = {**_usage(usage), "output_tokens": 1}
        message = {**self._message_shell(request), "content": [], "stop_reason": None, "usage": start_usage}
        events = [_event("message_start", {"message": message}), _event("ping", {})]
        index = 0

        def block(start: dict[str, Any], deltas: list[dict[str, Any]]) -> None:
            nonlocal index
            events.append(_event("content_block_start", {"index": index, "content_block": start}))
            events.extend(_event("content_block_delta", {"index": index, "delta": d}) for d in deltas)
            events.append(_event("content_block_stop", {"index": index}))
            index += 1

        if reply.thinking is not None:
            deltas = [
                {"type": "thinking_delta", "thinking": t}
                for t in split_text(reply.thinking, reply.chunk_size)
            ]
            deltas.append({"type": "signature_delta", "signature": reply.signature})
            block({"type": "thinking", "thinking": "", "signature": ""}, deltas)
        if reply.text:
            block(
                {"type": "text", "text": ""},
                [{"type": "text_delta", "text": t} for t in split_text(reply.text, reply.chunk_size)],
            )
        for call in reply.tool_calls:
            fragments = ["", *split_fragments(call.arguments_json)]
            block(
                {"type": "tool_use", "id": _tool_id(call), "name": call.name, "input": {}},
                [{"type": "input_json_delta", "partial_json": f} for f in fragments],
            )
        stop = _STOP_REASONS.get(reply.effective_stop_reason, reply.effective_stop_reason)
        delta = {"delta": {"stop_reason": stop, "stop_sequence": None}, "usage": _usage(usage, brief=True)}
        events.append(_event("message_delta", delta, terminal=True))
        events.append(_event("message_stop", {}, terminal=True))
        return events

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
        kind = (
            error_type
            or _ERROR_TYPES.get(status)
            or ("api_error" if status >= 500 else "invalid_request_error")
        )
        request_id = new_id("req_011C")
        body = {"type": "error", "error": {"type": kind, "message": message}, "request_id": request_id}
        all_headers = {
            "request-id": request_id,
            **retry_headers(retry_after, with_ms=True),
            **should_retry_header(should_retry),
            **(headers or {}),
        }
        return WireError(status, body, all_headers)

    def stream_error_event(self, error: WireError, sequence_number: int) -> SSEEvent:
        return SSEEvent({"type": "error", "error": error.body["error"]}, event="error")

    def context_overflow(self, request: NeutralRequest, tokens: int | None, limit: int | None) -> WireError:
        limit = limit or _CONTEXT_WINDOW
        tokens = tokens if tokens is not None else limit + max(1, request.estimated_input_tokens())
        return self.make_error(400, f"prompt is too long: {tokens} tokens > {limit} maximum")

    def default_message(self, status: int) -> str:
        return _MESSAGES.get(status, f"HTTP {status}")

    def response_headers(self) -> dict[str, str]:
        return {"request-id": new_id("req_011C")}

    def _message_shell(self, request: NeutralRequest) -> dict[str, Any]:
        return {
            "id": new_id("msg_01"),
            "type": "message",
            "role": "assistant",
            "model": request.model,
            "stop_sequence": None,
        }


def _blocks(message: Any) -> list[Mapping[str, Any]]:
    content = mapping_or_empty(message).get("content")
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [b for b in content if isinstance(b, Mapping)] if isinstance(content, list) else []


def _neutral_messages(raw: Mapping[str, Any]) -> list[NeutralMessage]:
    blocks = _blocks(raw)
    text = "".join(str(b.get("text", "")) for b in blocks if b.get("type") == "text")
    if raw.get("role") == "assistant":
        calls = tuple(
            ToolCall(str(b.get("name", "")), mapping_or_empty(b.get("input")), str(b.get("id", "")))
            for b in blocks
            if b.get("type") == "tool_use"
        )
        thinking = "".join(str(b.get("thinking", "")) for b in blocks if b.get("type") == "thinking") or None
        return [NeutralMessage("assistant", text, tool_calls=calls, thinking=thinking)]
    results = tuple(
        ToolResult(str(b.get("tool_use_id", "")), text_of(b.get("content")), is_error=bool(b.get("is_error")))
        for b in blocks
        if b.get("type") == "tool_result"
    )
    out = [NeutralMessage("tool", tool_results=results)] if results else []
    if text or not results:
        out.append(NeutralMessage("user", text))
    return out


def _tool_id(call: ToolCall) -> str:
    return call.id or new_id("toolu_01")


def _usage(usage: Usage, brief: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "input_tokens": usage.uncached_input_tokens,
        "cache_creation_input_tokens": usage.cache_write_tokens,
        "cache_read_input_tokens": usage.cache_read_tokens,
        "output_tokens": usage.output_tokens,
    }
    if not brief:
        data["cache_creation"] = {
            "ephemeral_5m_input_tokens": usage.cache_write_tokens,
            "ephemeral_1h_input_tokens": 0,
        }
        data["service_tier"] = "standard"
    return data


def _event(name: str, payload: dict[str, Any], terminal: bool = False) -> SSEEvent:
    return SSEEvent({"type": name, **payload}, event=name, terminal=terminal)


class AnthropicServer(WireServer):
    """Serves the Anthropic Messages API.

    Endpoints: ``POST /v1/messages`` (JSON, or SSE with ``"stream": true``) and
    ``POST /v1/messages/count_tokens``. Pass :attr:`base_url` to
    ``anthropic.Anthropic(base_url=..., api_key=...)``.
    """

    adapter = AnthropicAdapter()

    @property
    def base_url(self) -> str:
        """The server root, e.g. ``http://127.0.0.1:PORT`` (the SDK adds ``/v1/...``)."""
        return self.url

    def _add_routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/messages", self._messages)
        app.router.add_post("/v1/messages/count_tokens", self._count_tokens)

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("x-api-key") == self.api_key or (
            request.headers.get("authorization") == f"Bearer {self.api_key}"
        )

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        return await self._serve_generation(self.adapter, request)

    async def _count_tokens(self, request: web.Request) -> web.StreamResponse:
        def count(body: Mapping[str, Any]) -> dict[str, Any]:
            neutral = self.adapter.parse(body, request.path, {}, None)
            if self.validate:
                self.adapter.validate(neutral)
            return {"input_tokens": max(1, neutral.estimated_input_tokens())}

        return await self._serve_simple(self.adapter, request, count)
