"""Provider-neutral requests ⇄ OpenAI Chat Completions payloads.

Towards the API: the system prompt is the first ``system`` message; tool
results become one ``tool`` message each, right after the assistant message
holding the calls; tool call arguments that never parsed are sent back as the
model wrote them. Thinking blocks are not sent (Chat Completions has no field
for them). From the API: text, refusals, tool calls (arguments that are not a
JSON object keep their raw text), ``reasoning_content`` that
OpenAI-compatible servers add, finish reason and usage.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from loom.errors import ProviderError
from loom.messages import (
    ContentBlock,
    ImageBlock,
    Message,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)
from loom.requests import ModelRequest, StopReason, StreamDelta, ToolSpec, Usage

OnDelta = Callable[[StreamDelta], Awaitable[None]]

_FINISH: dict[str, StopReason] = {
    "stop": "end_turn",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "length": "max_tokens",
    "content_filter": "refusal",
}


def tool_call(call_id: str | None, name: str, arguments: str | None) -> ToolCallBlock:
    """A tool call block from argument JSON text; text that is not a JSON
    object is kept in ``raw_arguments`` with empty ``arguments``."""
    call_id = call_id or f"call_{uuid.uuid4().hex[:24]}"
    raw = arguments or ""
    try:
        parsed = json.loads(raw) if raw.strip() else {}
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        return ToolCallBlock(id=call_id, name=name, arguments=parsed)
    return ToolCallBlock(id=call_id, name=name, arguments={}, raw_arguments=raw)


def arguments_text(call: ToolCallBlock) -> str:
    """The arguments as the model wrote them (raw when they never parsed)."""
    if call.raw_arguments is not None and not call.arguments:
        return call.raw_arguments
    return json.dumps(call.arguments, ensure_ascii=False)


def image_url(block: ImageBlock) -> str:
    """A URL for an image block (a data URL for inline images)."""
    return block.url or f"data:{block.media_type};base64,{block.data or ''}"


def schema_format(schema: dict[str, Any]) -> dict[str, Any]:
    """``name``/``schema``/``strict`` of a JSON-schema output format.

    ``strict`` is on when the schema closes its objects
    (``additionalProperties: false``), which strict mode requires.
    """
    name = re.sub(r"[^a-zA-Z0-9_-]", "_", str(schema.get("title") or "response"))[:64]
    return {"name": name, "schema": schema,
            "strict": schema.get("additionalProperties") is False}


def _user_content(blocks: list[ContentBlock]) -> str | list[dict[str, Any]] | None:
    parts: list[dict[str, Any]] = []
    for block in blocks:
        if isinstance(block, TextBlock) and block.text:
            parts.append({"type": "text", "text": block.text})
        elif isinstance(block, ImageBlock):
            parts.append({"type": "image_url", "image_url": {"url": image_url(block)}})
    if not parts:
        return None
    if all(p["type"] == "text" for p in parts):
        return "".join(p["text"] for p in parts)
    return parts


def convert_message(message: Message) -> list[dict[str, Any]]:
    """The Chat Completions messages for one neutral message (none, one, or
    one per tool result followed by any user content)."""
    if message.role == "system":
        return [{"role": "system", "content": message.text_content}]
    if message.role == "assistant":
        calls = message.tool_calls
        text = message.text_content
        if not text and not calls:
            return []
        item: dict[str, Any] = {"role": "assistant", "content": text or None}
        if calls:
            item["tool_calls"] = [
                {"id": c.id, "type": "function",
                 "function": {"name": c.name, "arguments": arguments_text(c)}}
                for c in calls]
        return [item]
    out: list[dict[str, Any]] = [
        {"role": "tool", "tool_call_id": result.call_id, "content": result.content}
        for result in message.tool_results]
    content = _user_content(list(message.content))
    if content is not None:
        out.append({"role": "user", "content": content})
    return out


def system_message(request: ModelRequest) -> dict[str, Any] | None:
    """The leading ``system`` message for the request's system prompt, if any."""
    return {"role": "system", "content": request.system} if request.system.strip() else None


def convert_messages(request: ModelRequest) -> list[dict[str, Any]]:
    """Chat Completions ``messages`` for a neutral request."""
    system = system_message(request)
    out: list[dict[str, Any]] = [system] if system is not None else []
    for message in request.messages:
        out.extend(convert_message(message))
    return out


def tool_param(tool: ToolSpec) -> dict[str, Any]:
    """The ``tools`` entry declaring one tool."""
    return {"type": "function", "function": {
        "name": tool.name, "description": tool.description, "parameters": tool.parameters}}


def request_options(request: ModelRequest, *, max_tokens_param: str) -> dict[str, Any]:
    """The parameters besides ``model``, ``messages`` and ``tools``: output
    limit, temperature, response format and streaming."""
    options: dict[str, Any] = {max_tokens_param: request.max_tokens}
    if request.temperature is not None:
        options["temperature"] = request.temperature
    if request.response_schema is not None:
        options["response_format"] = {"type": "json_schema",
                                      "json_schema": schema_format(request.response_schema)}
    if request.stream:
        options["stream"] = True
        options["stream_options"] = {"include_usage": True}
    return options


def build_params(request: ModelRequest, *, model: str, max_tokens_param: str) -> dict[str, Any]:
    """Keyword arguments for ``client.chat.completions.create``."""
    params: dict[str, Any] = {"model": model, "messages": convert_messages(request)}
    if request.tools:
        params["tools"] = [tool_param(t) for t in request.tools]
    params.update(request_options(request, max_tokens_param=max_tokens_param))
    return params


def usage_from(usage: Any) -> Usage:
    """Neutral usage: ``input_tokens`` counts prompt tokens not read from the cache."""
    if usage is None:
        return Usage()
    details = usage.prompt_tokens_details
    cached = (details.cached_tokens or 0) if details else 0
    written = (details.cache_write_tokens or 0) if details else 0
    return Usage(input_tokens=max(0, usage.prompt_tokens - cached),
                 output_tokens=usage.completion_tokens, cached_tokens=cached,
                 cache_write_tokens=written)


def stop_reason(finish: str | None, has_calls: bool, refused: bool) -> StopReason:
    """The neutral stop reason for a finish reason."""
    if refused:
        return "refusal"
    if has_calls:
        return "tool_use"
    return _FINISH.get(finish or "stop", "other")


def _reasoning(obj: Any) -> str:
    value = getattr(obj, "reasoning_content", None) or getattr(obj, "reasoning", None)
    return value if isinstance(value, str) else ""


def parse_completion(completion: Any, provider: str) -> tuple[list[ContentBlock], StopReason]:
    """Neutral content and stop reason of a ``ChatCompletion``."""
    if not completion.choices:
        raise ProviderError(f"{provider}: the response has no choices", provider=provider)
    choice = completion.choices[0]
    message = choice.message
    blocks: list[ContentBlock] = []
    if reasoning := _reasoning(message):
        blocks.append(ThinkingBlock(text=reasoning))
    if message.content:
        blocks.append(TextBlock(text=message.content))
    if message.refusal:
        blocks.append(TextBlock(text=message.refusal))
    calls = [c for c in message.tool_calls or [] if getattr(c, "type", "function") == "function"]
    blocks.extend(tool_call(c.id, c.function.name, c.function.arguments) for c in calls)
    return blocks, stop_reason(choice.finish_reason, bool(calls), bool(message.refusal))


class ChatStream:
    """Assembles a Chat Completions stream, forwarding each fragment."""

    def __init__(self, on_delta: OnDelta | None) -> None:
        self.on_delta = on_delta
        self.text = self.reasoning = self.refusal = ""
        self.calls: dict[int, dict[str, str]] = {}
        self.finish: str | None = None
        self.usage: Any = None
        self.model = ""

    async def _emit(self, kind: str, text: str, call: dict[str, str] | None = None) -> None:
        if self.on_delta is not None and text:
            await self.on_delta(StreamDelta(kind=kind, text=text,  # type: ignore[arg-type]
                                            call_id=call["id"] if call else None,
                                            name=call["name"] if call else None))

    async def feed(self, chunk: Any) -> None:
        """Take one ``ChatCompletionChunk``."""
        self.model = chunk.model or self.model
        if chunk.usage is not None:
            self.usage = chunk.usage
        for choice in chunk.choices[:1]:
            delta = choice.delta
            if reasoning := _reasoning(delta):
                self.reasoning += reasoning
                await self._emit("thinking", reasoning)
            if delta.content:
                self.text += delta.content
                await self._emit("text", delta.content)
            if delta.refusal:
                self.refusal += delta.refusal
                await self._emit("text", delta.refusal)
            for part in delta.tool_calls or []:
                call = self.calls.setdefault(part.index, {"id": "", "name": "", "arguments": ""})
                call["id"] = part.id or call["id"]
                if part.function is not None:
                    call["name"] = part.function.name or call["name"]
                    fragment = part.function.arguments or ""
                    call["arguments"] += fragment
                    await self._emit("tool_call", fragment, call)
            if choice.finish_reason:
                self.finish = choice.finish_reason

    def result(self) -> tuple[list[ContentBlock], StopReason]:
        """Neutral content and stop reason of the assembled message."""
        blocks: list[ContentBlock] = []
        if self.reasoning:
            blocks.append(ThinkingBlock(text=self.reasoning))
        if self.text or self.refusal:
            blocks.append(TextBlock(text=self.text + self.refusal))
        for _, call in sorted(self.calls.items()):
            blocks.append(tool_call(call["id"], call["name"], call["arguments"]))
        return blocks, stop_reason(self.finish, bool(self.calls), bool(self.refusal))


def assistant(blocks: list[ContentBlock], provider: str, api: str) -> Message:
    """The assistant message, annotated with where it came from."""
    return Message(role="assistant", content=blocks, meta={"provider": provider, "api": api})
