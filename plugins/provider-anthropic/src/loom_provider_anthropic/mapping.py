"""Provider-neutral requests ⇄ Anthropic Messages API payloads.

Towards Anthropic:

- tool results (``tool`` messages) become ``tool_result`` blocks in a user
  message, and consecutive messages of one role are merged, so roles
  alternate as the API requires;
- tool call ids keep their value; characters the API refuses are replaced by
  ``_`` (the same way for a call and its result, so pairing survives);
- thinking blocks are sent back only when they came from Anthropic (they carry
  a signature the API verifies); thinking from another provider is dropped;
- with prompt caching on, ``cache_control`` marks the end of the system prompt,
  of the first ``stable_prefix_blocks`` messages, and of the conversation.

From Anthropic: text, thinking (with its signature; redacted thinking is kept
as a thinking block whose signature starts with ``redacted:``), tool calls
(arguments that are not a JSON object keep their raw text), stop reason, usage.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from loom.messages import (
    ContentBlock,
    ImageBlock,
    Message,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
    ToolResultBlock,
)
from loom.requests import ModelRequest, StopReason, Usage

PROVIDER = "anthropic"
REDACTED = "redacted:"
_EPHEMERAL = {"type": "ephemeral"}
_STOP: dict[str, StopReason] = {
    "end_turn": "end_turn",
    "tool_use": "tool_use",
    "max_tokens": "max_tokens",
    "stop_sequence": "stop_sequence",
    "refusal": "refusal",
    "model_context_window_exceeded": "max_tokens",
}
_BAD_ID = re.compile(r"[^a-zA-Z0-9_-]")


def wire_id(call_id: str) -> str:
    """A tool call id in the characters the API accepts (unchanged when valid)."""
    if not call_id:
        return "toolu_" + hashlib.sha256(b"empty").hexdigest()[:20]
    return _BAD_ID.sub("_", call_id)


def _block(block: ContentBlock, own: bool) -> dict[str, Any] | None:
    if isinstance(block, TextBlock):
        return {"type": "text", "text": block.text} if block.text.strip() else None
    if isinstance(block, ToolCallBlock):
        return {"type": "tool_use", "id": wire_id(block.id), "name": block.name,
                "input": dict(block.arguments)}
    if isinstance(block, ToolResultBlock):
        result: dict[str, Any] = {"type": "tool_result", "tool_use_id": wire_id(block.call_id)}
        if block.content:
            result["content"] = block.content
        if block.is_error:
            result["is_error"] = True
        return result
    if isinstance(block, ImageBlock):
        if block.data is not None:
            source = {"type": "base64", "media_type": block.media_type, "data": block.data}
        else:
            source = {"type": "url", "url": block.url or ""}
        return {"type": "image", "source": source}
    if isinstance(block, ThinkingBlock):
        if not own or not block.signature:
            return None
        if block.signature.startswith(REDACTED):
            return {"type": "redacted_thinking", "data": block.signature[len(REDACTED):]}
        return {"type": "thinking", "thinking": block.text, "signature": block.signature}
    return None


def _mark(message: dict[str, Any], position: int | None = None) -> None:
    """Put a cache breakpoint on a block of ``message`` (the last one that may hold it)."""
    blocks = message["content"]
    candidates = range(len(blocks) - 1 if position is None else position, -1, -1)
    for index in candidates:
        if blocks[index]["type"] not in ("thinking", "redacted_thinking"):
            blocks[index] = {**blocks[index], "cache_control": _EPHEMERAL}
            return


def convert_messages(messages: list[Message], *, caching: bool = False,
                     stable_prefix: int = 0) -> tuple[list[dict[str, Any]], list[str]]:
    """Anthropic ``messages`` for neutral ones, and system text found among them."""
    wire: list[dict[str, Any]] = []
    extra_system: list[str] = []
    ends: list[tuple[int, int]] = []  # where each neutral message's last block landed
    for message in messages:
        if message.role == "system":
            extra_system.append(message.text_content)
            ends.append(ends[-1] if ends else (-1, -1))
            continue
        own = message.meta.get("provider") == PROVIDER
        blocks = [b for b in (_block(x, own) for x in message.content) if b is not None]
        if message.role != "assistant":
            blocks = [b for b in blocks if b["type"] not in ("thinking", "redacted_thinking",
                                                              "tool_use")]
        role = "assistant" if message.role == "assistant" else "user"
        if blocks:
            if wire and wire[-1]["role"] == role:
                wire[-1]["content"].extend(blocks)
            else:
                wire.append({"role": role, "content": blocks})
            ends.append((len(wire) - 1, len(wire[-1]["content"]) - 1))
        else:
            ends.append(ends[-1] if ends else (-1, -1))
    if wire and wire[0]["role"] != "user":
        wire.insert(0, {"role": "user", "content": [{"type": "text", "text": "(continued)"}]})
        ends = [(w + 1, b) if w >= 0 else (w, b) for w, b in ends]
    if caching and wire:
        if 0 < stable_prefix <= len(ends) and ends[stable_prefix - 1][0] >= 0:
            index, position = ends[stable_prefix - 1]
            _mark(wire[index], position)
        _mark(wire[-1])
    return wire, extra_system


def build_params(request: ModelRequest, *, model: str, caching: bool,
                 thinking: str | int | None) -> dict[str, Any]:
    """Keyword arguments for ``client.messages.create`` (without ``stream``)."""
    messages, extra_system = convert_messages(
        request.messages, caching=caching, stable_prefix=request.stable_prefix_blocks)
    params: dict[str, Any] = {"model": model, "max_tokens": request.max_tokens,
                              "messages": messages}
    system: list[dict[str, Any]] = []
    if request.system.strip():
        system.append({"type": "text", "text": request.system})
        if caching:
            system[0]["cache_control"] = _EPHEMERAL
    system.extend({"type": "text", "text": t} for t in extra_system if t.strip())
    if system:
        params["system"] = system
    if request.tools:
        tools = [{"name": t.name, "description": t.description, "input_schema": t.parameters}
                 for t in request.tools]
        if caching and not system:
            tools[-1]["cache_control"] = _EPHEMERAL
        params["tools"] = tools
    if request.response_schema is not None:
        params["output_config"] = {"format": {"type": "json_schema",
                                              "schema": request.response_schema}}
    if thinking == "adaptive":
        params["thinking"] = {"type": "adaptive"}
    elif isinstance(thinking, int):
        params["thinking"] = {"type": "enabled", "budget_tokens": thinking}
    return params


def tool_call(call_id: str, name: str, arguments: Any) -> ToolCallBlock:
    """A tool call block; arguments that are not a JSON object keep their raw text."""
    if isinstance(arguments, dict):
        return ToolCallBlock(id=call_id, name=name, arguments=arguments)
    raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
    try:
        parsed = json.loads(raw) if raw.strip() else {}
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        return ToolCallBlock(id=call_id, name=name, arguments=parsed)
    return ToolCallBlock(id=call_id, name=name, arguments={}, raw_arguments=raw)


def content_from(blocks: list[Any]) -> list[ContentBlock]:
    """Neutral blocks for the content blocks of an Anthropic message."""
    out: list[ContentBlock] = []
    for block in blocks:
        kind = getattr(block, "type", "")
        if kind == "text":
            out.append(TextBlock(text=block.text))
        elif kind == "thinking":
            out.append(ThinkingBlock(text=block.thinking, signature=block.signature or None))
        elif kind == "redacted_thinking":
            out.append(ThinkingBlock(text="", signature=REDACTED + block.data))
        elif kind == "tool_use":
            out.append(tool_call(block.id, block.name, block.input))
    return out


def stop_reason(value: str | None, has_calls: bool) -> StopReason:
    """The neutral stop reason for Anthropic's."""
    if value is None:
        return "tool_use" if has_calls else "end_turn"
    return _STOP.get(value, "other")


def usage_from(input_tokens: int | None, output_tokens: int | None,
               cache_read: int | None, cache_write: int | None) -> Usage:
    """Neutral usage: ``input_tokens`` counts every prompt token not read from the cache."""
    write = cache_write or 0
    return Usage(input_tokens=(input_tokens or 0) + write, output_tokens=output_tokens or 0,
                 cached_tokens=cache_read or 0, cache_write_tokens=write)
