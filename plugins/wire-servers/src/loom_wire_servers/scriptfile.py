"""Scripts as JSON: ``load_script`` turns a list of plain objects into Reply/Fault items.

Each entry is either a reply::

    {"text": "hi", "thinking": "...", "stop_reason": "end_turn",
     "tool_calls": [{"name": "read", "arguments": {"path": "a"}, "id": "call_1"}],
     "usage": {"input_tokens": 10, "output_tokens": 2, "cache_read_tokens": 0}}

or a fault, named by ``"fault"`` with the matching ``Fault`` factory's arguments::

    {"fault": "status", "status": 429, "retry_after": 1.5}
    {"fault": "context_overflow", "tokens": 210000, "limit": 200000}
    {"fault": "reset_mid_stream", "after_events": 2, "reply": {"text": "..."}}
    {"fault": "truncated_stream"}
    {"fault": "slow_first_byte", "seconds": 2, "reply": {"text": "late"}}
    {"fault": "stream_error", "status": 529, "after_events": 1}
    {"fault": "disconnect"}

``arguments`` given as a string is sent verbatim (malformed JSON included).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .script import Fault, Reply, ScriptItem, ToolCall, Usage

__all__ = ["load_script", "parse_item"]

_REPLY_KEYS = {"text", "tool_calls", "thinking", "usage", "stop_reason", "thinking_signature", "chunk_size"}


def load_script(source: str | Path | list[Any]) -> list[ScriptItem]:
    """Load a script from a JSON file path, a JSON text, or an already-parsed list."""
    data: Any = source
    if isinstance(source, Path) or (isinstance(source, str) and not source.lstrip().startswith("[")):
        data = json.loads(Path(source).read_text(encoding="utf-8"))
    elif isinstance(source, str):
        data = json.loads(source)
    if not isinstance(data, list):
        raise ValueError("a script must be a JSON array of reply/fault objects")
    return [parse_item(entry, index) for index, entry in enumerate(data)]


def parse_item(entry: Any, index: int = 0) -> ScriptItem:
    """One script entry (a JSON object) as a :class:`Reply` or :class:`Fault`."""
    if not isinstance(entry, Mapping):
        raise ValueError(f"script entry {index} must be an object, not {type(entry).__name__}")
    if "fault" in entry:
        return _fault(entry, index)
    unknown = set(entry) - _REPLY_KEYS
    if unknown:
        raise ValueError(f"script entry {index} has unknown keys: {', '.join(sorted(unknown))}")
    return _reply(entry)


def _reply(entry: Mapping[str, Any]) -> Reply:
    usage = entry.get("usage")
    return Reply(
        text=entry.get("text", ""),
        tool_calls=[
            ToolCall(str(c["name"]), c.get("arguments", {}), c.get("id")) for c in entry.get("tool_calls", [])
        ],
        thinking=entry.get("thinking"),
        usage=Usage(**usage) if usage else None,
        stop_reason=entry.get("stop_reason"),
        thinking_signature=entry.get("thinking_signature"),
        chunk_size=entry.get("chunk_size"),
    )


def _fault(entry: Mapping[str, Any], index: int) -> Fault:
    kind = entry["fault"]
    reply = _reply(entry["reply"]) if isinstance(entry.get("reply"), Mapping) else None
    if kind == "status":
        return Fault.status(
            int(entry["status"]),
            entry.get("message"),
            retry_after=entry.get("retry_after"),
            error_type=entry.get("error_type"),
            code=entry.get("code"),
            should_retry=entry.get("should_retry"),
            headers=entry.get("headers"),
        )
    if kind == "context_overflow":
        return Fault.context_overflow(tokens=entry.get("tokens"), limit=entry.get("limit"))
    if kind == "reset_mid_stream":
        return Fault.reset_mid_stream(int(entry.get("after_events", 1)), reply=reply)
    if kind == "truncated_stream":
        return Fault.truncated_stream(reply=reply, drop_events=entry.get("drop_events"))
    if kind == "slow_first_byte":
        return Fault.slow_first_byte(float(entry["seconds"]), reply=reply)
    if kind == "stream_error":
        return Fault.stream_error(
            int(entry.get("status", 529)),
            entry.get("message"),
            after_events=int(entry.get("after_events", 1)),
            error_type=entry.get("error_type"),
            reply=reply,
        )
    if kind == "disconnect":
        return Fault.disconnect()
    raise ValueError(f"script entry {index}: unknown fault {kind!r}")
