"""Provider-neutral requests ⇄ OpenAI Responses API payloads.

Requests are stateless (``store=False``; the whole conversation is sent every
time): the system prompt goes to ``instructions``, tool calls become
``function_call`` items and tool results ``function_call_output`` items,
paired by ``call_id`` (the neutral tool call id). Thinking blocks are not
sent back. From the API: output text, refusals, function calls, reasoning
summaries (as thinking blocks carrying any encrypted content as their
signature), status and usage.
"""

from __future__ import annotations

from typing import Any

from loom.errors import ContextOverflowError, ProviderError
from loom.messages import ContentBlock, ImageBlock, Message, TextBlock, ThinkingBlock
from loom.requests import ModelRequest, StopReason, StreamDelta, ToolSpec, Usage

from loom_provider_openai.chat import OnDelta, arguments_text, image_url, schema_format, tool_call
from loom_provider_openai.errors import is_overflow

_INCOMPLETE: dict[str, StopReason] = {"max_output_tokens": "max_tokens",
                                      "content_filter": "refusal"}


def _user_item(blocks: list[Any]) -> dict[str, Any] | None:
    parts: list[dict[str, Any]] = []
    for block in blocks:
        if isinstance(block, TextBlock) and block.text:
            parts.append({"type": "input_text", "text": block.text})
        elif isinstance(block, ImageBlock):
            parts.append({"type": "input_image", "image_url": image_url(block)})
    if not parts:
        return None
    if all(p["type"] == "input_text" for p in parts):
        return {"role": "user", "content": "".join(p["text"] for p in parts)}
    return {"role": "user", "content": parts}


def convert_item(message: Message) -> list[dict[str, Any]]:
    """The Responses ``input`` items for one neutral message."""
    if message.role == "system":
        return [{"role": "system", "content": message.text_content}]
    items: list[dict[str, Any]] = []
    if message.role == "assistant":
        if message.text_content:
            items.append({"role": "assistant", "content": message.text_content})
        items.extend({"type": "function_call", "call_id": c.id, "name": c.name,
                      "arguments": arguments_text(c)} for c in message.tool_calls)
        return items
    items.extend({"type": "function_call_output", "call_id": r.call_id,
                  "output": r.content} for r in message.tool_results)
    user = _user_item(list(message.content))
    if user is not None:
        items.append(user)
    return items


def convert_input(request: ModelRequest) -> list[dict[str, Any]]:
    """Responses ``input`` items for a neutral request."""
    items: list[dict[str, Any]] = []
    for message in request.messages:
        items.extend(convert_item(message))
    return items


def tool_param(tool: ToolSpec) -> dict[str, Any]:
    """The ``tools`` entry declaring one function tool."""
    return {"type": "function", "name": tool.name, "description": tool.description,
            "parameters": tool.parameters, "strict": False}


def request_options(request: ModelRequest) -> dict[str, Any]:
    """The parameters besides ``model``, ``input`` and ``tools``."""
    options: dict[str, Any] = {"max_output_tokens": request.max_tokens, "store": False}
    if request.system.strip():
        options["instructions"] = request.system
    if request.temperature is not None:
        options["temperature"] = request.temperature
    if request.response_schema is not None:
        options["text"] = {"format": {"type": "json_schema",
                                      **schema_format(request.response_schema)}}
    if request.stream:
        options["stream"] = True
    return options


def build_params(request: ModelRequest, *, model: str) -> dict[str, Any]:
    """Keyword arguments for ``client.responses.create``."""
    params: dict[str, Any] = {"model": model, "input": convert_input(request)}
    if request.tools:
        params["tools"] = [tool_param(t) for t in request.tools]
    params.update(request_options(request))
    return params


def usage_from(usage: Any) -> Usage:
    """Neutral usage: ``input_tokens`` counts prompt tokens not read from the cache."""
    if usage is None:
        return Usage()
    details = usage.input_tokens_details
    cached = (details.cached_tokens or 0) if details else 0
    written = (getattr(details, "cache_write_tokens", 0) or 0) if details else 0
    return Usage(input_tokens=max(0, usage.input_tokens - cached),
                 output_tokens=usage.output_tokens, cached_tokens=cached,
                 cache_write_tokens=written)


def failure(error: Any, provider: str) -> ProviderError:
    """The typed error for a failed response or an ``error`` stream event."""
    code = getattr(error, "code", None)
    message = getattr(error, "message", None) or "the response failed"
    text = f"{provider}: response failed{' (' + str(code) + ')' if code else ''}: {message}"
    if is_overflow(code, message):
        return ContextOverflowError(text, provider=provider)
    retryable = code in (None, "server_error", "rate_limit_exceeded")
    return ProviderError(text, provider=provider, retryable=retryable)


def parse_response(response: Any, provider: str) -> tuple[list[ContentBlock], StopReason]:
    """Neutral content and stop reason of a ``Response``."""
    if response.status == "failed":
        raise failure(response.error, provider)
    blocks: list[ContentBlock] = []
    refused = has_calls = False
    for item in response.output:
        kind = getattr(item, "type", "")
        if kind == "message":
            for part in item.content:
                if part.type == "output_text":
                    blocks.append(TextBlock(text=part.text))
                elif part.type == "refusal":
                    refused = True
                    blocks.append(TextBlock(text=part.refusal))
        elif kind == "function_call":
            has_calls = True
            blocks.append(tool_call(item.call_id, item.name, item.arguments))
        elif kind == "reasoning":
            texts = [s.text for s in item.summary] or [c.text for c in item.content or []]
            blocks.append(ThinkingBlock(text="\n".join(texts),
                                        signature=item.encrypted_content or None))
    if response.status == "incomplete":
        reason = response.incomplete_details.reason if response.incomplete_details else None
        stop: StopReason = _INCOMPLETE.get(reason or "", "other")
    else:
        stop = "refusal" if refused else "tool_use" if has_calls else "end_turn"
    return blocks, stop


class ResponsesStream:
    """Follows a Responses event stream, forwarding fragments; keeps the final response."""

    def __init__(self, on_delta: OnDelta | None, provider: str) -> None:
        self.on_delta = on_delta
        self.provider = provider
        self.calls: dict[str, tuple[str, str]] = {}  # item id -> (call id, name)
        self.final: Any = None

    async def _emit(self, kind: str, text: str, call: tuple[str, str] | None = None) -> None:
        if self.on_delta is not None and text:
            await self.on_delta(StreamDelta(kind=kind, text=text,  # type: ignore[arg-type]
                                            call_id=call[0] if call else None,
                                            name=call[1] if call else None))

    async def feed(self, event: Any) -> None:
        """Take one stream event."""
        kind = getattr(event, "type", "")
        if kind == "response.output_item.added" and event.item.type == "function_call":
            self.calls[event.item.id or event.item.call_id] = (event.item.call_id, event.item.name)
        elif kind in ("response.output_text.delta", "response.refusal.delta"):
            await self._emit("text", event.delta)
        elif kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
            await self._emit("thinking", event.delta)
        elif kind == "response.function_call_arguments.delta":
            await self._emit("tool_call", event.delta, self.calls.get(event.item_id))
        elif kind in ("response.completed", "response.incomplete", "response.failed"):
            self.final = event.response
        elif kind == "error":
            raise failure(event, self.provider)
