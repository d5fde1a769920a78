"""Request bodies built incrementally; Chat Completions answers read as plain JSON.

An agent sends its whole conversation on every call, and all but the newest
messages were sent before. Each neutral message is immutable, so its wire
JSON is rendered once and kept while the message lives (cached by identity,
dropped when the message is garbage); a request body is those fragments
joined. The body is byte for byte what ``client.chat.completions.create``
(or ``client.responses.create``) sends for the same parameters (its key
order, compact separators, UTF-8),
and it goes out through the same SDK client (``AsyncOpenAI.post``), so base
URL, authentication, headers, timeouts, retries and error types stay the
SDK's. What is skipped is the SDK re-walking every message of the history
against its typed parameter definitions on every call.

A non-streamed Chat Completions answer is read from its JSON into neutral
blocks directly, without building the SDK's response models.
"""

from __future__ import annotations

import datetime
import json
import weakref
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import pydantic
from loom.errors import ProviderError
from loom.messages import ContentBlock, Message, TextBlock, ThinkingBlock
from loom.requests import ModelRequest, StopReason, ToolSpec, Usage

from loom_provider_openai import chat, responses

_T = TypeVar("_T")

#: The order in which ``chat.completions.create`` writes the parameters Loom uses.
CHAT_KEY_ORDER = ("model", "stream", "messages", "max_completion_tokens", "max_tokens",
                  "response_format", "stream_options", "temperature", "tools")
#: The same for ``responses.create``.
RESPONSES_KEY_ORDER = ("model", "stream", "input", "instructions", "max_output_tokens", "store",
                       "temperature", "text", "tools")


def _default(value: Any) -> Any:
    # What the SDK's own encoder accepts besides plain JSON values.
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump(mode="json", exclude_unset=True, by_alias=True)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False,
                           default=_default).encode


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON, encoded the way the SDK encodes request bodies."""
    return _encode(value).encode()


class FragmentCache(Generic[_T]):
    """Rendered bytes of immutable objects, kept while each object lives.

    Entries are keyed by identity and hold a weak reference, so a message
    that is dropped (a finished run, a compressed history) takes its entry
    with it; objects that cannot be weakly referenced are rendered each time.
    """

    def __init__(self, render: Callable[[_T], bytes]) -> None:
        self._render = render
        self._entries: dict[int, tuple[weakref.ref[Any], bytes]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, obj: _T) -> bytes:
        """The rendering of ``obj`` (computed on first use)."""
        key = id(obj)
        hit = self._entries.get(key)
        if hit is not None and hit[0]() is obj:
            return hit[1]
        value = self._render(obj)
        entries = self._entries

        def forget(ref: weakref.ref[Any], key: int = key) -> None:
            current = entries.get(key)
            if current is not None and current[0] is ref:
                del entries[key]

        try:
            entries[key] = (weakref.ref(obj, forget), value)
        except TypeError:  # not weakly referenceable: do not cache
            pass
        return value


def _items(convert: Callable[[Message], list[dict[str, Any]]]) -> Callable[[Message], bytes]:
    def render(message: Message) -> bytes:
        return b",".join([dumps(item) for item in convert(message)])

    return render


def _tool(convert: Callable[[ToolSpec], dict[str, Any]]) -> Callable[[ToolSpec], bytes]:
    def render(tool: ToolSpec) -> bytes:
        return dumps(convert(tool))

    return render


def _object(fields: dict[str, list[bytes]], order: tuple[str, ...]) -> bytes:
    """A JSON object from encoded values (each a list of parts), keys in
    ``order`` (others after them); one join, so the body is copied once."""
    keys = [k for k in order if k in fields] + [k for k in fields if k not in order]
    parts = [b"{"]
    for key in keys:
        parts.append(dumps(key) + b":" if len(parts) == 1 else b"," + dumps(key) + b":")
        parts.extend(fields[key])
    parts.append(b"}")
    return b"".join(parts)


def _list(head: list[bytes], cache: FragmentCache[Any], objects: list[Any]) -> list[bytes]:
    """The parts of a JSON array: ``head`` items, then each object's cached fragment."""
    parts = [b"["]
    for item in head:
        parts += (item, b",")
    get = cache.get
    for obj in objects:
        part = get(obj)
        if part:
            parts += (part, b",")
    if len(parts) > 1:
        parts[-1] = b"]"
    else:
        parts.append(b"]")
    return parts


class RequestBodies:
    """Builds request bodies from cached per-message and per-tool fragments,
    for Chat Completions (:meth:`chat`) and the Responses API (:meth:`responses`)."""

    def __init__(self) -> None:
        self.chat_messages: FragmentCache[Message] = FragmentCache(_items(chat.convert_message))
        self.chat_tools: FragmentCache[ToolSpec] = FragmentCache(_tool(chat.tool_param))
        self.input_items: FragmentCache[Message] = FragmentCache(_items(responses.convert_item))
        self.response_tools: FragmentCache[ToolSpec] = FragmentCache(_tool(responses.tool_param))

    def chat(self, request: ModelRequest, *, model: str, max_tokens_param: str) -> bytes:
        """The Chat Completions body for ``request`` (``chat.build_params``, encoded)."""
        system = chat.system_message(request)
        fields = {"model": [dumps(model)], "messages": _list(
            [dumps(system)] if system is not None else [], self.chat_messages, request.messages)}
        if request.tools:
            fields["tools"] = _list([], self.chat_tools, request.tools)
        for key, value in chat.request_options(request, max_tokens_param=max_tokens_param).items():
            fields[key] = [dumps(value)]
        return _object(fields, CHAT_KEY_ORDER)

    def responses(self, request: ModelRequest, *, model: str) -> bytes:
        """The Responses API body for ``request`` (``responses.build_params``, encoded)."""
        fields = {"model": [dumps(model)],
                  "input": _list([], self.input_items, request.messages)}
        if request.tools:
            fields["tools"] = _list([], self.response_tools, request.tools)
        for key, value in responses.request_options(request).items():
            fields[key] = [dumps(value)]
        return _object(fields, RESPONSES_KEY_ORDER)


def _text(value: Any) -> str:
    """Message content as text (a list of content parts is joined)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(str(p.get("text") or "") for p in value if isinstance(p, dict))
    return ""


def usage_from_json(usage: Any) -> Usage:
    """Neutral usage from a ``usage`` object: ``input_tokens`` counts prompt
    tokens not read from the cache."""
    if not isinstance(usage, dict):
        return Usage()
    details = usage.get("prompt_tokens_details")
    details = details if isinstance(details, dict) else {}
    cached = int(details.get("cached_tokens") or 0)
    written = int(details.get("cache_write_tokens") or 0)
    return Usage(input_tokens=max(0, int(usage.get("prompt_tokens") or 0) - cached),
                 output_tokens=int(usage.get("completion_tokens") or 0), cached_tokens=cached,
                 cache_write_tokens=written)


def parse_completion_json(raw: bytes, provider: str
                          ) -> tuple[list[ContentBlock], StopReason, Usage, str]:
    """Neutral content, stop reason, usage and served model of a ``ChatCompletion`` body."""
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ProviderError(f"{provider}: the response is not valid JSON ({exc}); "
                            f"it starts with {raw[:120]!r}", provider=provider,
                            retryable=True) from None
    choices = data.get("choices") if isinstance(data, dict) else None
    if not choices or not isinstance(choices[0], dict):
        error = data.get("error") if isinstance(data, dict) else None
        why = f": {error.get('message') or error}" if isinstance(error, dict) else ""
        raise ProviderError(f"{provider}: the response has no choices{why}", provider=provider)
    choice = choices[0]
    message = choice.get("message") or {}
    blocks: list[ContentBlock] = []
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    if isinstance(reasoning, str) and reasoning:
        blocks.append(ThinkingBlock(text=reasoning))
    if text := _text(message.get("content")):
        blocks.append(TextBlock(text=text))
    refusal = message.get("refusal")
    if refusal:
        blocks.append(TextBlock(text=str(refusal)))
    calls = [c for c in message.get("tool_calls") or []
             if isinstance(c, dict) and c.get("type", "function") == "function"]
    for call in calls:
        function = call.get("function") or {}
        arguments = function.get("arguments")
        if arguments is not None and not isinstance(arguments, str):
            arguments = json.dumps(arguments, ensure_ascii=False)
        blocks.append(chat.tool_call(call.get("id"), str(function.get("name") or ""), arguments))
    stop = chat.stop_reason(choice.get("finish_reason"), bool(calls), bool(refusal))
    return blocks, stop, usage_from_json(data.get("usage")), str(data.get("model") or "")
