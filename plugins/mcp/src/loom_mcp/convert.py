"""MCP ↔ Loom: tool names, effects from annotations, content blocks as text."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from typing import Any

import mcp_types as types
from loom.requests import Effect

from loom_mcp.settings import ServerSettings

#: Effects of a tool the server says nothing about (the MCP defaults: not read-only,
#: destructive, open world).
CAUTIOUS: frozenset[Effect] = frozenset({Effect.MUTATE, Effect.DESTROY, Effect.NETWORK})
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
MAX_TOOL_NAME = 64

#: Called as ``attach(name, data, media_type)`` to keep binary content as an artifact.
Attach = Callable[[str, bytes, str], Any]


def loom_tool_name(server: str, tool: str, namespace: bool) -> str:
    """The Loom name of a server tool: provider-safe characters, ``server_`` prefix if asked."""
    name = _UNSAFE.sub("_", tool)
    if namespace:
        name = f"{server}_{name}"
    return name[:MAX_TOOL_NAME]


def effects_for(tool: types.Tool, settings: ServerSettings) -> frozenset[Effect]:
    """What running ``tool`` may do, for the harness.

    Explicit ``effects`` settings win; then the tool's annotations (when
    trusted); then the cautious default.
    """
    override = settings.effects.get(tool.name, settings.effects.get("*"))
    if override is not None:
        return frozenset(override)
    hints = tool.annotations
    if hints is None or not settings.trust_annotations:
        return CAUTIOUS
    effects: set[Effect] = set()
    if hints.read_only_hint:
        effects.add(Effect.READ)
    else:
        effects.add(Effect.MUTATE)
        if hints.destructive_hint is not False:
            effects.add(Effect.DESTROY)
    if hints.open_world_hint is not False:
        effects.add(Effect.NETWORK)
    return frozenset(effects)


def input_schema(tool: types.Tool) -> dict[str, Any]:
    """The tool's JSON schema, always an object schema."""
    schema = dict(tool.input_schema or {})
    schema.setdefault("type", "object")
    if schema.get("type") == "object":
        schema.setdefault("properties", {})
    return schema


def describe(tool: types.Tool, server: str) -> str:
    """The description the model sees (the server's, or a fallback naming the server)."""
    text = (tool.description or "").strip()
    title = tool.title or (tool.annotations.title if tool.annotations else None)
    if not text:
        text = f"{title or tool.name} (a tool of MCP server {server!r})"
    return text


def _size(data: str) -> int:
    try:
        return len(base64.b64decode(data, validate=False))
    except (binascii.Error, ValueError):
        return len(data)


def _binary(kind: str, data: str, media_type: str, attach: Attach | None, index: int) -> str:
    size = _size(data)
    note = f"[{kind} {media_type}, {size} bytes"
    if attach is not None:
        extension = media_type.rsplit("/", 1)[-1].split(";")[0] or "bin"
        name = f"mcp-{kind}-{index}.{extension}"
        try:
            attach(name, base64.b64decode(data), media_type)
            note += f", attached to the run as {name}"
        except (binascii.Error, ValueError):
            pass
    return note + "]"


def block_text(block: Any, attach: Attach | None = None, index: int = 0) -> str:
    """One MCP content block as text (binary content is summarised and attached)."""
    if isinstance(block, types.TextContent):
        return block.text
    if isinstance(block, types.ImageContent):
        return _binary("image", block.data, block.mime_type, attach, index)
    if isinstance(block, types.AudioContent):
        return _binary("audio", block.data, block.mime_type, attach, index)
    if isinstance(block, types.ResourceLink):
        about = f": {block.description}" if block.description else ""
        mime = f" ({block.mime_type})" if block.mime_type else ""
        return f"[resource link {block.name} {block.uri}{mime}{about}]"
    if isinstance(block, types.EmbeddedResource):
        return resource_text(block.resource)
    return json.dumps(block.model_dump(mode="json", by_alias=True, exclude_none=True))


def resource_text(contents: types.TextResourceContents | types.BlobResourceContents) -> str:
    """One resource's contents as text (binary content is summarised)."""
    if isinstance(contents, types.TextResourceContents):
        return f"[resource {contents.uri}]\n{contents.text}"
    mime = contents.mime_type or "application/octet-stream"
    return f"[resource {contents.uri}: {mime}, {_size(contents.blob)} bytes of binary data]"


def result_text(result: types.CallToolResult, attach: Attach | None = None) -> str:
    """A tool result's content blocks joined as text; structured content when there is no text."""
    parts = [block_text(block, attach, i) for i, block in enumerate(result.content)]
    has_text = any(isinstance(b, types.TextContent) for b in result.content)
    if result.structured_content is not None and not has_text:
        parts.append(json.dumps(result.structured_content, ensure_ascii=False))
    return "\n".join(parts)


def prompt_text(result: types.GetPromptResult) -> str:
    """A prompt's messages as text, one ``role:`` section per message."""
    lines = [f"[prompt: {result.description}]"] if result.description else []
    for message in result.messages:
        lines.append(f"{message.role}: {block_text(message.content)}")
    return "\n\n".join(lines)
