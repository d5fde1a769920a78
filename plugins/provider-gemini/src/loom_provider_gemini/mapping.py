"""Provider-neutral requests ⇄ Gemini ``generateContent`` payloads.

Towards Gemini: assistant messages become ``model`` contents, tool results
``functionResponse`` parts of a ``user`` content (named after the call they
answer, with its id), and consecutive contents of one role are merged.
Thinking from Gemini comes back as it was: thought parts, and thought
signatures on the part that carried them. Thinking from another provider is
dropped.

From Gemini: text, thought summaries (``ThinkingBlock``), thought signatures
(an empty ``ThinkingBlock`` whose ``signature`` is the base64 signature, just
before the part that carried it), function calls. A call without an id gets
a stable one derived from the response id, its position, name and
arguments. A ``MALFORMED_FUNCTION_CALL`` finish becomes a tool call whose raw
arguments are what the model wrote, so the run can tell the model.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from typing import Any, Literal

from google.genai import types
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

PROVIDER = "gemini"
DeltaKind = Literal["text", "thinking", "tool_call"]
Fragment = tuple[DeltaKind, str, ToolCallBlock | None]
_REFUSALS = {"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "LANGUAGE",
             "IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION"}
_MALFORMED = re.compile(r"(?:default_api\.)?([A-Za-z_][\w.-]*)\((.*)\)\s*$", re.DOTALL)


def _user_part(block: ContentBlock, names: dict[str, str]) -> types.Part | None:
    if isinstance(block, TextBlock):
        return types.Part(text=block.text) if block.text else None
    if isinstance(block, ToolResultBlock):
        key = "error" if block.is_error else "output"
        return types.Part(function_response=types.FunctionResponse(
            id=block.call_id, name=block.name or names.get(block.call_id, ""),
            response={key: block.content}))
    if isinstance(block, ImageBlock):
        if block.data is not None:
            return types.Part(inline_data=types.Blob(mime_type=block.media_type,
                                                     data=base64.b64decode(block.data)))
        return types.Part(file_data=types.FileData(file_uri=block.url,
                                                   mime_type=block.media_type))
    return None


def _model_parts(message: Message, names: dict[str, str]) -> list[types.Part]:
    own = message.meta.get("provider") == PROVIDER
    parts: list[types.Part] = []
    signature: bytes | None = None
    for block in message.content:
        part: types.Part | None = None
        if isinstance(block, ThinkingBlock):
            if own and block.text:
                part = types.Part(text=block.text, thought=True)
            if own and block.signature:
                signature = base64.b64decode(block.signature)
            if part is None:
                continue
        elif isinstance(block, TextBlock) and block.text:
            part = types.Part(text=block.text)
        elif isinstance(block, ToolCallBlock):
            names[block.id] = block.name
            part = types.Part(function_call=types.FunctionCall(
                id=block.id, name=block.name, args=dict(block.arguments)))
        if part is None:
            continue
        if signature is not None:
            part.thought_signature, signature = signature, None
        parts.append(part)
    return parts


def convert_contents(messages: list[Message]) -> tuple[list[types.Content], list[str]]:
    """Gemini ``contents`` for neutral messages, and system text found among them."""
    contents: list[types.Content] = []
    extra_system: list[str] = []
    names: dict[str, str] = {}
    for message in messages:
        if message.role == "system":
            extra_system.append(message.text_content)
            continue
        if message.role == "assistant":
            role, parts = "model", _model_parts(message, names)
        else:
            role = "user"
            parts = [p for p in (_user_part(b, names) for b in message.content) if p is not None]
        if not parts:
            continue
        if contents and contents[-1].role == role:
            (contents[-1].parts or []).extend(parts)
        else:
            contents.append(types.Content(role=role, parts=parts))
    return contents, extra_system


def build_config(request: ModelRequest, *, thinking_budget: int | None,
                 include_thoughts: bool) -> tuple[list[types.Content], types.GenerateContentConfig]:
    """``contents`` and ``config`` for ``client.aio.models.generate_content``."""
    contents, extra_system = convert_contents(request.messages)
    system = "\n\n".join(s for s in [request.system, *extra_system] if s.strip())
    config = types.GenerateContentConfig(max_output_tokens=request.max_tokens,
                                         temperature=request.temperature)
    if system:
        config.system_instruction = system
    if request.tools:
        config.tools = [types.Tool(function_declarations=[
            types.FunctionDeclaration(name=t.name, description=t.description,
                                      parameters_json_schema=t.parameters)
            for t in request.tools])]
        config.automatic_function_calling = types.AutomaticFunctionCallingConfig(disable=True)
    if request.response_schema is not None:
        config.response_mime_type = "application/json"
        config.response_json_schema = request.response_schema
    if thinking_budget is not None or include_thoughts:
        config.thinking_config = types.ThinkingConfig(thinking_budget=thinking_budget,
                                                      include_thoughts=include_thoughts or None)
    return contents, config


def call_id(response_id: str | None, index: int, name: str, args: Any) -> str:
    """A stable id for a function call that came without one."""
    if not response_id:
        return f"call_{uuid.uuid4().hex[:24]}"
    seed = f"{response_id}:{index}:{name}:{json.dumps(args, sort_keys=True, default=str)}"
    return "call_" + hashlib.sha256(seed.encode()).hexdigest()[:24]


class PartsAssembler:
    """Builds neutral blocks from Gemini parts, streamed or not, in order."""

    def __init__(self) -> None:
        self.blocks: list[dict[str, Any]] = []
        self.calls = 0

    def add(self, part: types.Part, response_id: str | None) -> list[Fragment]:
        """Take one part; returns the fragments to stream as ``(kind, text, call)``."""
        out: list[Fragment] = []
        signature = part.thought_signature
        if part.thought and part.text is not None:
            self._text("thinking", part.text, signature)
            return [("thinking", part.text, None)]
        if signature:
            self.blocks.append({"kind": "thinking", "text": "",
                                "signature": base64.b64encode(signature).decode()})
        if part.function_call is not None:
            fc = part.function_call
            args = dict(fc.args or {})
            name = fc.name or ""
            block = ToolCallBlock(id=fc.id or call_id(response_id, self.calls, name, args),
                                  name=name, arguments=args)
            self.calls += 1
            self.blocks.append({"kind": "call", "block": block})
            out.append(("tool_call", json.dumps(args), block))
        elif part.text:
            self._text("text", part.text, None)
            out.append(("text", part.text, None))
        return out

    def _text(self, kind: str, text: str, signature: bytes | None) -> None:
        last = self.blocks[-1] if self.blocks else None
        if last is not None and last["kind"] == kind and not last.get("signature"):
            last["text"] += text
        else:
            self.blocks.append({"kind": kind, "text": text, "signature": None})
        if signature:
            self.blocks[-1]["signature"] = base64.b64encode(signature).decode()

    def malformed(self, message: str | None, response_id: str | None) -> ToolCallBlock:
        """A tool call standing for a ``MALFORMED_FUNCTION_CALL`` finish."""
        text = (message or "").split(":", 1)[-1].strip()
        match = _MALFORMED.search(text)
        if match:
            name, raw = match.group(1), match.group(2)
        else:
            name = "malformed_function_call"
            raw = text or "(Gemini reported MALFORMED_FUNCTION_CALL without details)"
        block = ToolCallBlock(id=call_id(response_id, self.calls, name, raw), name=name,
                              arguments={}, raw_arguments=raw)
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            block = block.model_copy(update={"arguments": parsed, "raw_arguments": None})
        self.calls += 1
        self.blocks.append({"kind": "call", "block": block})
        return block

    def content(self) -> list[ContentBlock]:
        """The neutral content blocks assembled so far."""
        out: list[ContentBlock] = []
        for item in self.blocks:
            if item["kind"] == "call":
                out.append(item["block"])
            elif item["kind"] == "thinking":
                out.append(ThinkingBlock(text=item["text"], signature=item["signature"]))
            elif item["text"]:
                out.append(TextBlock(text=item["text"]))
        return out


def stop_reason(finish: str | None, has_calls: bool) -> StopReason:
    """The neutral stop reason for a Gemini finish reason."""
    if has_calls:
        return "tool_use"
    if finish in (None, "STOP", "FINISH_REASON_UNSPECIFIED"):
        return "end_turn"
    if finish == "MAX_TOKENS":
        return "max_tokens"
    return "refusal" if finish in _REFUSALS else "other"


def usage_from(meta: types.GenerateContentResponseUsageMetadata | None) -> Usage:
    """Neutral usage: ``input_tokens`` counts prompt tokens not read from the cache;
    thoughts count as output."""
    if meta is None:
        return Usage()
    cached = meta.cached_content_token_count or 0
    prompt = (meta.prompt_token_count or 0) + (meta.tool_use_prompt_token_count or 0)
    return Usage(input_tokens=max(0, prompt - cached), cached_tokens=cached,
                 output_tokens=(meta.candidates_token_count or 0) + (meta.thoughts_token_count or 0))
