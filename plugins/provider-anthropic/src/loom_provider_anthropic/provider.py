"""``AnthropicProvider``: Loom's provider protocol on the official ``anthropic`` SDK."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Unpack

import anthropic
from loom.errors import ProviderError
from loom.messages import ContentBlock, Message, TextBlock, ThinkingBlock
from loom.requests import ModelRequest, ModelResponse, StreamDelta
from loom_provider_common.provider import ProviderOptions, SDKProvider

from loom_provider_anthropic.errors import classify_error
from loom_provider_anthropic.mapping import (
    PROVIDER,
    REDACTED,
    build_params,
    content_from,
    stop_reason,
    tool_call,
    usage_from,
)
from loom_provider_anthropic.pricing import TABLE
from loom_provider_anthropic.settings import DEFAULT_MODEL, AnthropicSettings

OnDelta = Callable[[StreamDelta], Awaitable[None]]


class AnthropicProvider(SDKProvider[anthropic.AsyncAnthropic, AnthropicSettings]):
    """Calls the Anthropic Messages API (JSON or SSE streaming).

    ``api_key=None`` (or ``...``) and ``base_url=None`` leave them to the SDK,
    which reads ``ANTHROPIC_API_KEY`` and ``ANTHROPIC_BASE_URL``. ``timeout`` is
    in seconds; ``max_retries`` is the SDK's own retry count (0: retrying is
    the retry plugin's job). ``prices`` overrides the default price table
    (model → :class:`ModelPrice` or a dict of its fields). Every SDK error is
    raised as a typed :class:`~loom.errors.ProviderError`; cancelling the
    awaiting task aborts the HTTP request. ``context_window`` overrides the model's window
    (these keywords: :class:`~loom_provider_common.provider.ProviderOptions`).
    """

    settings_type = AnthropicSettings
    price_table = TABLE
    default_model = DEFAULT_MODEL
    default_name = PROVIDER

    def __init__(self, *, prompt_caching: bool = True, thinking: str | int | None = None,
                 **options: Unpack[ProviderOptions]) -> None:
        super().__init__(**options)
        self.prompt_caching = prompt_caching
        self.thinking = thinking

    def __repr__(self) -> str:
        return f"<AnthropicProvider model={self.model!r}>"

    def _new_client(self) -> anthropic.AsyncAnthropic:
        return anthropic.AsyncAnthropic(**self._client_options())

    def _close_client(self, client: anthropic.AsyncAnthropic) -> Awaitable[None]:
        return client.close()

    async def complete(self, request: ModelRequest, *,
                       on_delta: OnDelta | None = None) -> ModelResponse:
        """Answer one neutral request; stream (calling ``on_delta``) when ``request.stream``."""
        model = request.model or self.model
        if isinstance(self.thinking, int) and self.thinking >= request.max_tokens:
            raise ProviderError(
                f"{self.name}: the thinking budget ({self.thinking}) must be below max_tokens "
                f"({request.max_tokens}); lower [settings.{self.name}] thinking or raise "
                "the profile's max_tokens_per_call", provider=self.name)
        params = build_params(request, model=model, caching=self.prompt_caching,
                              thinking=self.thinking)
        with self._typed_errors(classify_error):
            if request.stream:
                response = await self._stream(params, on_delta)
            else:
                message = await self.client().messages.create(**params)
                response = self._response(message)
        usage = self._with_cost(response.usage, response.model or model, model)
        return response.model_copy(update={"usage": usage})

    def _response(self, message: Any) -> ModelResponse:
        content = content_from(message.content)
        has_calls = any(getattr(b, "type", "") == "tool_use" for b in message.content)
        u = message.usage
        return ModelResponse(
            message=self._message(content),
            stop_reason=stop_reason(message.stop_reason, has_calls),
            usage=usage_from(u.input_tokens, u.output_tokens, u.cache_read_input_tokens,
                             u.cache_creation_input_tokens),
            model=str(message.model), provider=self.name,
            raw={"id": message.id, "stop_reason": message.stop_reason})

    def _message(self, content: list[ContentBlock]) -> Message:
        return Message(role="assistant", content=content, meta={"provider": PROVIDER})

    async def _stream(self, params: dict[str, Any], on_delta: OnDelta | None) -> ModelResponse:
        state = _StreamState(on_delta)
        stream = await self.client().messages.create(**params, stream=True)
        async with stream:
            async for event in stream:
                await state.feed(event)
        if not state.finished:
            raise ProviderError(
                f"{self.name}: the response stream ended before message_stop (truncated)",
                provider=self.name, retryable=True)
        return ModelResponse(
            message=self._message(state.content()),
            stop_reason=stop_reason(state.stop_reason, state.has_calls),
            usage=usage_from(*state.usage), model=state.model, provider=self.name,
            raw={"id": state.message_id, "stop_reason": state.stop_reason})


class _StreamState:
    """Assembles a message from Anthropic's SSE events, forwarding fragments."""

    def __init__(self, on_delta: OnDelta | None) -> None:
        self.on_delta = on_delta
        self.blocks: dict[int, dict[str, Any]] = {}
        self.usage: list[int | None] = [0, 0, 0, 0]  # input, output, cache read, cache write
        self.stop_reason: str | None = None
        self.finished = False
        self.model = ""
        self.message_id = ""

    @property
    def has_calls(self) -> bool:
        return any(b["type"] == "tool_use" for b in self.blocks.values())

    async def _emit(self, kind: str, text: str, block: dict[str, Any]) -> None:
        if self.on_delta is not None and text:
            await self.on_delta(StreamDelta(kind=kind, text=text,  # type: ignore[arg-type]
                                            call_id=block.get("id"), name=block.get("name")))

    async def feed(self, event: Any) -> None:
        kind = event.type
        if kind == "message_start":
            message = event.message
            self.model, self.message_id = str(message.model), message.id
            u = message.usage
            self.usage = [u.input_tokens, u.output_tokens, u.cache_read_input_tokens,
                          u.cache_creation_input_tokens]
        elif kind == "content_block_start":
            cb = event.content_block
            block: dict[str, Any] = {"type": cb.type, "text": "", "signature": ""}
            if cb.type == "text":
                block["text"] = cb.text
            elif cb.type == "thinking":
                block["text"], block["signature"] = cb.thinking, cb.signature or ""
            elif cb.type == "redacted_thinking":
                block["signature"] = REDACTED + cb.data
            elif cb.type == "tool_use":
                block.update(id=cb.id, name=cb.name)
            self.blocks[event.index] = block
        elif kind == "content_block_delta":
            await self._delta(self.blocks.setdefault(event.index, {"type": "text", "text": "",
                                                                   "signature": ""}), event.delta)
        elif kind == "message_delta":
            self.stop_reason = event.delta.stop_reason
            u = event.usage
            self.usage[1] = u.output_tokens
            for slot, value in ((0, u.input_tokens), (2, u.cache_read_input_tokens),
                                (3, u.cache_creation_input_tokens)):
                if value is not None:
                    self.usage[slot] = value
        elif kind == "message_stop":
            self.finished = True

    async def _delta(self, block: dict[str, Any], delta: Any) -> None:
        kind = delta.type
        if kind == "text_delta":
            block["text"] += delta.text
            await self._emit("text", delta.text, block)
        elif kind == "thinking_delta":
            block["text"] += delta.thinking
            await self._emit("thinking", delta.thinking, block)
        elif kind == "signature_delta":
            block["signature"] += delta.signature
        elif kind == "input_json_delta":
            block["text"] += delta.partial_json
            await self._emit("tool_call", delta.partial_json, block)

    def content(self) -> list[ContentBlock]:
        out: list[ContentBlock] = []
        for _, block in sorted(self.blocks.items()):
            if block["type"] == "text" and block["text"]:
                out.append(TextBlock(text=block["text"]))
            elif block["type"] in ("thinking", "redacted_thinking"):
                out.append(ThinkingBlock(text=block["text"], signature=block["signature"] or None))
            elif block["type"] == "tool_use":
                out.append(tool_call(block["id"], block["name"], block["text"]))
        return out
