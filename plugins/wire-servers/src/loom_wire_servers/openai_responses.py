"""OpenAI Responses API: ``POST /v1/responses`` (JSON and SSE)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from .neutral import NeutralMessage, NeutralRequest, ToolResult, ToolSpec
from .openai_errors import OpenAIErrorMixin
from .protocol import SSEEvent, WireError, new_id, split_fragments, split_text, text_of
from .script import Reply, ToolCall, Usage
from .server import mapping_or_empty

__all__ = ["ResponsesAdapter"]

_REMEMBERED_RESPONSES = 10_000
_INCOMPLETE = {"max_tokens": "max_output_tokens", "content_filter": "content_filter"}


class ResponsesAdapter(OpenAIErrorMixin):
    """Parses and renders the Responses protocol; remembers call ids per response id."""

    name = "openai-responses"

    def __init__(self) -> None:
        self._calls_by_response: dict[str, set[str]] = {}

    def parse(
        self, body: Mapping[str, Any], path: str, headers: Mapping[str, str], model: str | None
    ) -> NeutralRequest:
        system = [text_of(body.get("instructions"))] if isinstance(body.get("instructions"), str) else []
        messages: list[NeutralMessage] = []
        raw_input = body.get("input")
        items = [{"role": "user", "content": raw_input}] if isinstance(raw_input, str) else raw_input or []
        for item in map(mapping_or_empty, items if isinstance(items, list) else []):
            kind = item.get("type", "message")
            if kind == "function_call":
                call = _call_from_item(item)
                if messages and messages[-1].role == "assistant":
                    last = messages.pop()
                    messages.append(
                        NeutralMessage(
                            "assistant",
                            last.text,
                            tool_calls=(*last.tool_calls, call),
                            thinking=last.thinking,
                        )
                    )
                else:
                    messages.append(NeutralMessage("assistant", tool_calls=(call,)))
            elif kind == "function_call_output":
                result = ToolResult(str(item.get("call_id", "")), text_of(item.get("output")))
                if messages and messages[-1].role == "tool":
                    previous = messages.pop()
                    messages.append(NeutralMessage("tool", tool_results=(*previous.tool_results, result)))
                else:
                    messages.append(NeutralMessage("tool", tool_results=(result,)))
            elif kind == "message":
                role = item.get("role")
                if role in ("system", "developer"):
                    system.append(text_of(item.get("content")))
                elif role == "assistant":
                    messages.append(NeutralMessage("assistant", text_of(item.get("content"))))
                else:
                    messages.append(NeutralMessage("user", text_of(item.get("content"))))
        tools = tuple(
            ToolSpec(
                str(t.get("name", "")), str(t.get("description") or ""), mapping_or_empty(t.get("parameters"))
            )
            for t in map(mapping_or_empty, body.get("tools") or [])
            if t.get("type") == "function"
        )
        max_tokens = body.get("max_output_tokens")
        return NeutralRequest(
            protocol=self.name,
            model=str(body.get("model") or ""),
            messages=tuple(messages),
            system="\n".join(system) if system else None,
            tools=tools,
            stream=bool(body.get("stream")),
            body=body,
            path=path,
            headers=headers,
            max_tokens=max_tokens if isinstance(max_tokens, int) else None,
            response_format=mapping_or_empty(mapping_or_empty(body.get("text")).get("format")) or None,
        )

    def validate(self, request: NeutralRequest) -> None:
        body = request.body
        if not body.get("model"):
            raise self.make_error(
                400, "Missing required parameter: 'model'.", param="model", code="missing_required_parameter"
            )
        known: set[str] = set()
        previous = body.get("previous_response_id")
        if previous:
            if previous not in self._calls_by_response:
                raise self.make_error(
                    400,
                    f"Previous response with id '{previous}' not found.",
                    param="previous_response_id",
                    code="previous_response_not_found",
                )
            known |= self._calls_by_response[previous]
        raw_input = body.get("input")
        for item in map(mapping_or_empty, raw_input if isinstance(raw_input, list) else []):
            if item.get("type") == "function_call":
                known.add(str(item.get("call_id")))
            elif item.get("type") == "function_call_output" and str(item.get("call_id")) not in known:
                raise self.make_error(
                    400,
                    f"No tool call found for function call output with call_id {item.get('call_id')}.",
                    param="input",
                )

    def render_json(self, request: NeutralRequest, reply: Reply, usage: Usage) -> dict[str, Any]:
        response = self._shell(request)
        output = [item for item, _ in self._output_items(reply)]
        self._remember(response["id"], output)
        return self._finish(response, reply, output, usage)

    def render_events(self, request: NeutralRequest, reply: Reply, usage: Usage) -> list[SSEEvent]:
        response = self._shell(request)
        payloads: list[tuple[dict[str, Any], bool]] = [
            ({"type": "response.created", "response": {**response, "status": "in_progress"}}, False),
            ({"type": "response.in_progress", "response": {**response, "status": "in_progress"}}, False),
        ]
        output: list[dict[str, Any]] = []
        for index, (item, pieces) in enumerate(self._output_items(reply)):
            where = {"item_id": item["id"], "output_index": index}
            payloads.append(
                ({"type": "response.output_item.added", "output_index": index, "item": _opening(item)}, False)
            )
            if item["type"] == "reasoning":
                part: dict[str, Any] = {"type": "summary_text", "text": ""}
                text = item["summary"][0]["text"]
                payloads.append(
                    (
                        {
                            "type": "response.reasoning_summary_part.added",
                            **where,
                            "summary_index": 0,
                            "part": part,
                        },
                        False,
                    )
                )
                payloads.extend(
                    (
                        {
                            "type": "response.reasoning_summary_text.delta",
                            **where,
                            "summary_index": 0,
                            "delta": p,
                        },
                        False,
                    )
                    for p in pieces
                )
                payloads.append(
                    (
                        {
                            "type": "response.reasoning_summary_text.done",
                            **where,
                            "summary_index": 0,
                            "text": text,
                        },
                        False,
                    )
                )
                payloads.append(
                    (
                        {
                            "type": "response.reasoning_summary_part.done",
                            **where,
                            "summary_index": 0,
                            "part": {**part, "text": text},
                        },
                        False,
                    )
                )
            elif item["type"] == "message":
                part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
                text = item["content"][0]["text"]
                at = {**where, "content_index": 0}
                payloads.append(({"type": "response.content_part.added", **at, "part": part}, False))
                payloads.extend(
                    ({"type": "response.output_text.delta", **at, "delta": p, "logprobs": []}, False)
                    for p in pieces
                )
                payloads.append(
                    ({"type": "response.output_text.done", **at, "text": text, "logprobs": []}, False)
                )
                payloads.append(
                    ({"type": "response.content_part.done", **at, "part": {**part, "text": text}}, False)
                )
            else:
                payloads.extend(
                    ({"type": "response.function_call_arguments.delta", **where, "delta": p}, False)
                    for p in pieces
                )
                done = {
                    "type": "response.function_call_arguments.done",
                    **where,
                    "arguments": item["arguments"],
                    "name": item["name"],
                }
                payloads.append((done, False))
            payloads.append(
                ({"type": "response.output_item.done", "output_index": index, "item": item}, False)
            )
            output.append(item)
        self._remember(response["id"], output)
        final = self._finish(response, reply, output, usage)
        payloads.append(({"type": f"response.{final['status']}", "response": final}, True))
        return [
            SSEEvent({**payload, "sequence_number": number}, event=str(payload["type"]), terminal=terminal)
            for number, (payload, terminal) in enumerate(payloads)
        ]

    def stream_error_event(self, error: WireError, sequence_number: int) -> SSEEvent:
        detail = error.body["error"]
        data = {
            "type": "error",
            "code": detail.get("code") or detail.get("type"),
            "message": detail["message"],
            "param": detail.get("param"),
            "sequence_number": sequence_number,
        }
        return SSEEvent(data, event="error")

    def context_overflow(self, request: NeutralRequest, tokens: int | None, limit: int | None) -> WireError:
        return self.make_error(
            400,
            "Your input exceeds the context window of this model. Please adjust your input and try again.",
            param="input",
            code="context_length_exceeded",
        )

    def _output_items(self, reply: Reply) -> list[tuple[dict[str, Any], list[str]]]:
        """Completed output items, each with the pieces it is streamed in."""
        items: list[tuple[dict[str, Any], list[str]]] = []
        if reply.thinking is not None:
            summary = [{"type": "summary_text", "text": reply.thinking}]
            items.append(
                (
                    {"id": new_id("rs_", 32), "type": "reasoning", "summary": summary},
                    split_text(reply.thinking, reply.chunk_size),
                )
            )
        if reply.text:
            content = [{"type": "output_text", "text": reply.text, "annotations": [], "logprobs": []}]
            message = {
                "id": new_id("msg_", 32),
                "type": "message",
                "status": "completed",
                "role": "assistant",
                "content": content,
            }
            items.append((message, split_text(reply.text, reply.chunk_size)))
        for call in reply.tool_calls:
            item = {
                "id": new_id("fc_", 32),
                "type": "function_call",
                "status": "completed",
                "arguments": call.arguments_json,
                "call_id": call.id or new_id("call_"),
                "name": call.name,
            }
            items.append((item, split_fragments(call.arguments_json)))
        return items

    def _remember(self, response_id: str, output: list[dict[str, Any]]) -> None:
        if len(self._calls_by_response) >= _REMEMBERED_RESPONSES:
            del self._calls_by_response[next(iter(self._calls_by_response))]  # forget the oldest
        self._calls_by_response[response_id] = {o["call_id"] for o in output if o["type"] == "function_call"}

    def _shell(self, request: NeutralRequest) -> dict[str, Any]:
        body = request.body
        return {
            "id": new_id("resp_", 40),
            "object": "response",
            "created_at": int(time.time()),
            "status": "in_progress",
            "background": False,
            "error": None,
            "incomplete_details": None,
            "instructions": body.get("instructions"),
            "max_output_tokens": body.get("max_output_tokens"),
            "max_tool_calls": None,
            "model": request.model,
            "output": [],
            "parallel_tool_calls": body.get("parallel_tool_calls", True),
            "previous_response_id": body.get("previous_response_id"),
            "reasoning": {"effort": None, "summary": None},
            "store": body.get("store", True),
            "temperature": body.get("temperature", 1.0),
            "text": body.get("text") or {"format": {"type": "text"}},
            "tool_choice": body.get("tool_choice", "auto"),
            "tools": body.get("tools") or [],
            "top_p": body.get("top_p", 1.0),
            "truncation": "disabled",
            "usage": None,
            "user": None,
            "metadata": body.get("metadata") or {},
        }

    def _finish(
        self, response: dict[str, Any], reply: Reply, output: list[dict[str, Any]], usage: Usage
    ) -> dict[str, Any]:
        reason = _INCOMPLETE.get(reply.effective_stop_reason)
        return {
            **response,
            "status": "incomplete" if reason else "completed",
            "incomplete_details": {"reason": reason} if reason else None,
            "completed_at": None if reason else int(time.time()),
            "output": output,
            "usage": {
                "input_tokens": usage.input_tokens,
                "input_tokens_details": {
                    "cached_tokens": usage.cache_read_tokens,
                    "cache_write_tokens": usage.cache_write_tokens,
                },
                "output_tokens": usage.output_tokens,
                "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
                "total_tokens": usage.total_tokens,
            },
        }


def _opening(item: dict[str, Any]) -> dict[str, Any]:
    """The in-progress form of an output item, as sent in ``response.output_item.added``."""
    if item["type"] == "reasoning":
        return {**item, "summary": []}
    if item["type"] == "message":
        return {**item, "status": "in_progress", "content": []}
    return {**item, "status": "in_progress", "arguments": ""}


def _call_from_item(item: Mapping[str, Any]) -> ToolCall:
    arguments = item.get("arguments")
    call = ToolCall(
        str(item.get("name", "")),
        arguments if isinstance(arguments, str) else "{}",
        str(item.get("call_id", "")),
    )
    parsed = call.parsed_arguments
    return ToolCall(call.name, parsed, call.id) if parsed is not None else call
