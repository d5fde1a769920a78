"""OpenAI Chat Completions: ``POST /v1/chat/completions`` (JSON and SSE)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from .neutral import NeutralMessage, NeutralRequest, ToolResult, ToolSpec
from .openai_errors import OpenAIErrorMixin
from .protocol import SSEEvent, WireError, new_id, split_fragments, split_text, text_of
from .script import Reply, ToolCall, Usage
from .server import mapping_or_empty

__all__ = ["ChatCompletionsAdapter"]

_FINISH = {
    "end_turn": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
    "stop_sequence": "stop",
    "content_filter": "content_filter",
}
_CONTEXT_WINDOW = 128_000


class ChatCompletionsAdapter(OpenAIErrorMixin):
    """Parses and renders the Chat Completions protocol."""

    name = "openai-chat"

    def parse(
        self, body: Mapping[str, Any], path: str, headers: Mapping[str, str], model: str | None
    ) -> NeutralRequest:
        system: list[str] = []
        messages: list[NeutralMessage] = []
        raw_messages = body.get("messages")
        for raw in map(mapping_or_empty, raw_messages if isinstance(raw_messages, list) else []):
            role = raw.get("role")
            if role in ("system", "developer"):
                system.append(text_of(raw.get("content")))
            elif role == "assistant":
                calls = tuple(_tool_call(mapping_or_empty(c)) for c in raw.get("tool_calls") or [])
                messages.append(NeutralMessage("assistant", text_of(raw.get("content")), tool_calls=calls))
            elif role in ("tool", "function"):
                result = ToolResult(
                    str(raw.get("tool_call_id") or "") or None, text_of(raw.get("content")), raw.get("name")
                )
                if messages and messages[-1].role == "tool":
                    previous = messages.pop()
                    messages.append(NeutralMessage("tool", tool_results=(*previous.tool_results, result)))
                else:
                    messages.append(NeutralMessage("tool", tool_results=(result,)))
            else:
                messages.append(NeutralMessage("user", text_of(raw.get("content"))))
        tools = []
        for tool in map(mapping_or_empty, body.get("tools") or []):
            function = mapping_or_empty(tool.get("function"))
            tools.append(
                ToolSpec(
                    str(function.get("name", "")),
                    str(function.get("description") or ""),
                    mapping_or_empty(function.get("parameters")),
                )
            )
        max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
        return NeutralRequest(
            protocol=self.name,
            model=str(body.get("model") or ""),
            messages=tuple(messages),
            system="\n".join(system) if system else None,
            tools=tuple(tools),
            stream=bool(body.get("stream")),
            body=body,
            path=path,
            headers=headers,
            max_tokens=max_tokens if isinstance(max_tokens, int) else None,
            response_format=mapping_or_empty(body.get("response_format")) or None,
        )

    def validate(self, request: NeutralRequest) -> None:
        body = request.body
        if not body.get("model"):
            raise self.make_error(400, "you must provide a model parameter")
        messages = body.get("messages")
        if not isinstance(messages, list):
            raise self.make_error(
                400,
                "Missing required parameter: 'messages'.",
                param="messages",
                code="missing_required_parameter",
            )
        if not messages:
            raise self.make_error(
                400,
                "Invalid 'messages': empty array. Expected an array with minimum length 1, "
                "but got an empty array instead.",
                param="messages",
                code="empty_array",
            )
        fmt = request.response_format
        if fmt and fmt.get("type") == "json_schema" and not isinstance(fmt.get("json_schema"), Mapping):
            raise self.make_error(
                400,
                "Missing required parameter: 'response_format.json_schema'.",
                param="response_format.json_schema",
                code="missing_required_parameter",
            )
        self._validate_tool_messages(messages)

    def _validate_tool_messages(self, messages: list[Any]) -> None:
        open_ids: set[str] | None = None  # ids of the assistant tool_calls awaiting answers
        pending: list[str] = []
        opened_at = 0
        for index, raw in enumerate(map(mapping_or_empty, messages)):
            role = raw.get("role")
            if role == "tool":
                call_id = raw.get("tool_call_id")
                if open_ids is None:
                    raise self.make_error(
                        400,
                        "Invalid parameter: messages with role 'tool' must be a response to a preceeding "
                        "message with 'tool_calls'.",
                        param=f"messages.[{index}].role",
                    )
                if call_id not in open_ids:
                    raise self.make_error(
                        400,
                        f"Invalid parameter: 'tool_call_id' of '{call_id}' not found in "
                        "'tool_calls' of previous message.",
                        param=f"messages.[{index}].tool_call_id",
                    )
                if call_id in pending:
                    pending.remove(call_id)
                continue
            if pending:
                raise self.make_error(
                    400,
                    "An assistant message with 'tool_calls' must be followed by tool messages responding to "
                    "each 'tool_call_id'. The following tool_call_ids did not have response messages: "
                    + ", ".join(pending),
                    param=f"messages.[{opened_at}].role",
                )
            open_ids = None
            calls = raw.get("tool_calls") if role == "assistant" else None
            if calls:
                pending = [str(mapping_or_empty(c).get("id")) for c in calls]
                open_ids, opened_at = set(pending), index

    def render_json(self, request: NeutralRequest, reply: Reply, usage: Usage) -> dict[str, Any]:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": reply.text if reply.text or not reply.tool_calls else None,
            "refusal": None,
            "annotations": [],
        }
        if reply.tool_calls:
            message["tool_calls"] = [
                {
                    "id": _call_id(c),
                    "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments_json},
                }
                for c in reply.tool_calls
            ]
        return {
            **self._shell(request, "chat.completion"),
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": _FINISH[reply.effective_stop_reason],
                }
            ],
            "usage": _usage(usage),
        }

    def render_events(self, request: NeutralRequest, reply: Reply, usage: Usage) -> list[SSEEvent]:
        shell = self._shell(request, "chat.completion.chunk")
        include_usage = bool(mapping_or_empty(request.body.get("stream_options")).get("include_usage"))
        if include_usage:
            shell["usage"] = None

        def chunk(delta: dict[str, Any], finish: str | None = None, terminal: bool = False) -> SSEEvent:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            return SSEEvent({**shell, "choices": [choice]}, terminal=terminal)

        events = [chunk({"role": "assistant", "content": "", "refusal": None})]
        events.extend(chunk({"content": piece}) for piece in split_text(reply.text, reply.chunk_size))
        for position, call in enumerate(reply.tool_calls):
            head = {"index": position, "id": _call_id(call), "type": "function"}
            events.append(chunk({"tool_calls": [{**head, "function": {"name": call.name, "arguments": ""}}]}))
            events.extend(
                chunk({"tool_calls": [{"index": position, "function": {"arguments": fragment}}]})
                for fragment in split_fragments(call.arguments_json)
            )
        events.append(chunk({}, _FINISH[reply.effective_stop_reason], terminal=True))
        if include_usage:
            events.append(SSEEvent({**shell, "choices": [], "usage": _usage(usage)}, terminal=True))
        events.append(SSEEvent("[DONE]", terminal=True))
        return events

    def context_overflow(self, request: NeutralRequest, tokens: int | None, limit: int | None) -> WireError:
        limit = limit or _CONTEXT_WINDOW
        tokens = tokens if tokens is not None else limit + max(1, request.estimated_input_tokens())
        return self.make_error(
            400,
            f"This model's maximum context length is {limit} tokens. However, your messages resulted in "
            f"{tokens} tokens. Please reduce the length of the messages.",
            param="messages",
            code="context_length_exceeded",
        )

    def _shell(self, request: NeutralRequest, kind: str) -> dict[str, Any]:
        return {
            "id": new_id("chatcmpl-", 29),
            "object": kind,
            "created": int(time.time()),
            "model": request.model,
            "service_tier": "default",
            "system_fingerprint": "fp_loomwire",
        }


def _tool_call(raw: Mapping[str, Any]) -> ToolCall:
    function = mapping_or_empty(raw.get("function"))
    arguments = function.get("arguments")
    call = ToolCall(
        str(function.get("name", "")), arguments if isinstance(arguments, str) else "{}", raw.get("id")
    )
    parsed = call.parsed_arguments
    return ToolCall(call.name, parsed, call.id) if parsed is not None else call


def _call_id(call: ToolCall) -> str:
    return call.id or new_id("call_")


def _usage(usage: Usage) -> dict[str, Any]:
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cache_read_tokens, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": usage.reasoning_tokens,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }
