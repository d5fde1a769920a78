"""Gemini API: ``models/{model}:generateContent``, ``:streamGenerateContent?alt=sse``, ``:countTokens``."""

from __future__ import annotations

import json
import re
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
    split_text,
)
from .script import Reply, ToolCall, Usage
from .server import WireServer, mapping_or_empty

__all__ = ["GeminiServer"]

_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_MESSAGES = {
    400: "Request contains an invalid argument.",
    401: "Request had invalid authentication credentials.",
    403: "The caller does not have permission",
    404: "Requested entity was not found.",
    429: "Resource has been exhausted (e.g. check quota).",
    500: "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
    503: "The model is overloaded. Please try again later.",
    504: "Deadline expired before operation could complete.",
}
_FINISH = {
    "end_turn": "STOP",
    "tool_use": "STOP",
    "stop_sequence": "STOP",
    "max_tokens": "MAX_TOKENS",
    "content_filter": "SAFETY",
}
_CONTEXT_WINDOW = 1_048_576


class GeminiAdapter(ProtocolAdapter):
    """Parses and renders the Gemini ``generateContent`` protocol."""

    name = "gemini"

    def parse(
        self, body: Mapping[str, Any], path: str, headers: Mapping[str, str], model: str | None
    ) -> NeutralRequest:
        messages: list[NeutralMessage] = []
        contents = body.get("contents")
        for content in map(mapping_or_empty, contents if isinstance(contents, list) else []):
            messages.extend(_neutral_messages(content))
        tools = tuple(
            ToolSpec(
                str(d.get("name", "")),
                str(d.get("description") or ""),
                mapping_or_empty(_get(d, "parameters") or _get(d, "parametersJsonSchema")),
            )
            for tool in map(mapping_or_empty, body.get("tools") or [])
            for d in map(mapping_or_empty, _get(tool, "functionDeclarations") or [])
        )
        config = mapping_or_empty(_get(body, "generationConfig"))
        schema = _get(config, "responseJsonSchema") or _get(config, "responseSchema")
        fmt = (
            {"mimeType": _get(config, "responseMimeType"), "schema": schema}
            if schema or _get(config, "responseMimeType")
            else None
        )
        max_tokens = _get(config, "maxOutputTokens")
        return NeutralRequest(
            protocol=self.name,
            model=model or "",
            messages=tuple(messages),
            system=_text(mapping_or_empty(_get(body, "systemInstruction"))) or None,
            tools=tools,
            stream=False,
            body=body,
            path=path,
            headers=headers,
            max_tokens=max_tokens if isinstance(max_tokens, int) else None,
            response_format=fmt,
        )

    def validate(self, request: NeutralRequest) -> None:
        contents = request.body.get("contents")
        if not isinstance(contents, list) or not contents:
            raise self.make_error(400, "* GenerateContentRequest.contents: contents is not specified\n")
        previous: Mapping[str, Any] = {}
        for index, content in enumerate(map(mapping_or_empty, contents)):
            role = content.get("role", "user")
            if role not in ("user", "model"):
                raise self.make_error(400, "Please use a valid role: user, model.")
            calls = _parts_with(content, "functionCall")
            responses = _parts_with(content, "functionResponse")
            if calls and (index == 0 or previous.get("role", "user") != "user"):
                raise self.make_error(
                    400,
                    "Please ensure that function call turn comes immediately after a user turn or "
                    "after a function response turn.",
                )
            if responses:
                expected = _parts_with(previous, "functionCall") if previous.get("role") == "model" else []
                if not expected:
                    raise self.make_error(
                        400,
                        "Please ensure that function response turn comes immediately after a "
                        "function call turn.",
                    )
                if len(responses) != len(expected):
                    raise self.make_error(
                        400,
                        "Please ensure that the number of function response parts is equal to the number of "
                        "function call parts of the function call turn.",
                    )
                call_ids = {c.get("id") for c in expected if c.get("id")}
                call_names = {c.get("name") for c in expected}
                for response in responses:
                    if response.get("id") and call_ids and response.get("id") not in call_ids:
                        raise self.make_error(
                            400,
                            f"Function response id '{response.get('id')}' does not match any "
                            "function call id of the previous turn.",
                        )
                    if response.get("name") not in call_names:
                        raise self.make_error(
                            400,
                            f"Function response name '{response.get('name')}' does not match any "
                            "function call name of the previous turn.",
                        )
            previous = content

    def render_json(self, request: NeutralRequest, reply: Reply, usage: Usage) -> dict[str, Any]:
        parts: list[dict[str, Any]] = []
        if reply.thinking is not None:
            parts.append({"text": reply.thinking, "thought": True})
        if reply.text:
            parts.append({"text": reply.text})
        parts.extend(_call_parts(reply))
        return {
            "candidates": [_candidate(parts, reply)],
            "usageMetadata": _usage(usage),
            "modelVersion": request.model,
            "responseId": new_id("", 22),
        }

    def render_events(self, request: NeutralRequest, reply: Reply, usage: Usage) -> list[SSEEvent]:
        response_id = new_id("", 22)
        prompt_only = {"promptTokenCount": usage.input_tokens, "totalTokenCount": usage.input_tokens}

        def chunk(candidate: dict[str, Any], metadata: dict[str, Any], terminal: bool = False) -> SSEEvent:
            data = {
                "candidates": [candidate],
                "usageMetadata": metadata,
                "modelVersion": request.model,
                "responseId": response_id,
            }
            return SSEEvent(data, terminal=terminal)

        def content(parts: list[dict[str, Any]]) -> dict[str, Any]:
            return {"content": {"parts": parts, "role": "model"}, "index": 0}

        events: list[SSEEvent] = []
        if reply.thinking is not None:
            events.extend(
                chunk(content([{"text": piece, "thought": True}]), prompt_only)
                for piece in split_text(reply.thinking, reply.chunk_size)
            )
        events.extend(
            chunk(content([{"text": piece}]), prompt_only)
            for piece in split_text(reply.text, reply.chunk_size)
        )
        calls = _call_parts(reply)
        if calls:
            events.append(chunk(content(calls), prompt_only))
        events.append(chunk(_candidate([{"text": ""}], reply), _usage(usage), terminal=True))
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
        error: dict[str, Any] = {
            "code": status,
            "message": message,
            "status": error_type or _STATUS_NAMES.get(status, "UNKNOWN"),
        }
        details: list[dict[str, Any]] = []
        if code:
            details.append(
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": code,
                    "domain": "googleapis.com",
                }
            )
        if retry_after is not None:
            details.append(
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{retry_after:g}s"}
            )
        if details:
            error["details"] = details
        all_headers = {
            **retry_headers(retry_after, with_ms=False),
            **should_retry_header(should_retry),
            **(headers or {}),
        }
        return WireError(status, {"error": error}, all_headers)

    def auth_error(self) -> WireError:
        return self.make_error(400, "API key not valid. Please pass a valid API key.", code="API_KEY_INVALID")

    def context_overflow(self, request: NeutralRequest, tokens: int | None, limit: int | None) -> WireError:
        limit = limit or _CONTEXT_WINDOW
        tokens = tokens if tokens is not None else limit + max(1, request.estimated_input_tokens())
        return self.make_error(
            400, f"The input token count ({tokens}) exceeds the maximum number of tokens allowed ({limit})."
        )

    def default_message(self, status: int) -> str:
        return _MESSAGES.get(status, f"HTTP {status}")


def _parts(content: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    parts = content.get("parts")
    return [p for p in parts if isinstance(p, Mapping)] if isinstance(parts, list) else []


def _get(mapping: Mapping[str, Any], camel: str) -> Any:
    """A field by its lowerCamelCase name or its snake_case twin (Google's JSON accepts both)."""
    if camel in mapping:
        return mapping[camel]
    return mapping.get(re.sub(r"[A-Z]", lambda m: "_" + m.group().lower(), camel))


def _parts_with(content: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    return [mapping_or_empty(_get(p, key)) for p in _parts(content) if _get(p, key) is not None]


def _text(content: Mapping[str, Any], thought: bool = False) -> str:
    return "".join(
        str(p["text"]) for p in _parts(content) if "text" in p and bool(p.get("thought")) == thought
    )


def _neutral_messages(content: Mapping[str, Any]) -> list[NeutralMessage]:
    if content.get("role") == "model":
        calls = tuple(
            ToolCall(str(c.get("name", "")), mapping_or_empty(c.get("args")), c.get("id"))
            for c in _parts_with(content, "functionCall")
        )
        return [
            NeutralMessage(
                "assistant", _text(content), tool_calls=calls, thinking=_text(content, True) or None
            )
        ]
    results = tuple(
        ToolResult(r.get("id"), json.dumps(r.get("response"), ensure_ascii=False), r.get("name"))
        for r in _parts_with(content, "functionResponse")
    )
    text = _text(content)
    out = [NeutralMessage("tool", tool_results=results)] if results else []
    if text or not results:
        out.append(NeutralMessage("user", text))
    return out


def _call_parts(reply: Reply) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for call in reply.tool_calls:
        args = call.parsed_arguments
        if args is None:
            continue  # reported as MALFORMED_FUNCTION_CALL by _candidate
        part: dict[str, Any] = {
            "functionCall": {"id": call.id or new_id("", 8).lower(), "name": call.name, "args": args}
        }
        if reply.thinking is not None and not parts:
            part["thoughtSignature"] = reply.signature
        parts.append(part)
    return parts


def _candidate(parts: list[dict[str, Any]], reply: Reply) -> dict[str, Any]:
    malformed = [c for c in reply.tool_calls if c.parsed_arguments is None]
    candidate: dict[str, Any] = {"index": 0}
    if parts:
        candidate["content"] = {"parts": parts, "role": "model"}
    if malformed:
        candidate["finishReason"] = "MALFORMED_FUNCTION_CALL"
        candidate["finishMessage"] = "Malformed function call: " + "; ".join(
            f"{c.name}({c.arguments_json})" for c in malformed
        )
    else:
        candidate["finishReason"] = _FINISH[reply.effective_stop_reason]
    return candidate


def _usage(usage: Usage) -> dict[str, Any]:
    data: dict[str, Any] = {
        "promptTokenCount": usage.input_tokens,
        "candidatesTokenCount": max(0, usage.output_tokens - usage.reasoning_tokens),
        "totalTokenCount": usage.total_tokens,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": usage.input_tokens}],
    }
    if usage.cache_read_tokens:
        data["cachedContentTokenCount"] = usage.cache_read_tokens
    if usage.reasoning_tokens:
        data["thoughtsTokenCount"] = usage.reasoning_tokens
    return data


class GeminiServer(WireServer):
    """Serves the Gemini API (Google AI, not Vertex) under ``/v1``, ``/v1beta`` and ``/v1alpha``.

    Endpoints: ``POST /{version}/models/{model}:generateContent``,
    ``:streamGenerateContent`` (SSE with ``?alt=sse``) and ``:countTokens``.
    Use ``genai.Client(api_key=..., http_options=types.HttpOptions(base_url=server.base_url))``.
    """

    adapter = GeminiAdapter()

    @property
    def base_url(self) -> str:
        """The server root; the SDK appends ``/{api_version}/models/...``."""
        return self.url

    def _add_routes(self, app: web.Application) -> None:
        app.router.add_post("/{version:v1|v1beta|v1alpha}/models/{target}", self._dispatch)

    def _authorized(self, request: web.Request) -> bool:
        return self.api_key in (request.headers.get("x-goog-api-key"), request.query.get("key"))

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        model, _, action = request.match_info["target"].rpartition(":")
        if action == "generateContent":
            return await self._serve_generation(self.adapter, request, model=model, stream=False)
        if action == "streamGenerateContent":
            if request.query.get("alt") == "sse":
                return await self._serve_generation(self.adapter, request, model=model, stream=True)
            return await self._serve_simple(
                self.adapter,
                request,
                lambda _: _raise(
                    self.adapter.make_error(400, "Only alt=sse streaming is supported by this server.")
                ),
            )
        if action == "countTokens":

            def count(body: Mapping[str, Any]) -> dict[str, Any]:
                request_body = mapping_or_empty(_get(body, "generateContentRequest")) or body
                neutral = self.adapter.parse(request_body, request.path, {}, model)
                tokens = max(1, neutral.estimated_input_tokens())
                return {
                    "totalTokens": tokens,
                    "promptTokensDetails": [{"modality": "TEXT", "tokenCount": tokens}],
                }

            return await self._serve_simple(self.adapter, request, count)
        return await self._serve_simple(
            self.adapter,
            request,
            lambda _: _raise(
                self.adapter.make_error(404, f"Method '{action}' is not found for models/{model}.")
            ),
        )


def _raise(error: WireError) -> Any:
    raise error
