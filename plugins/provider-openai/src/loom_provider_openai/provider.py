"""``OpenAIProvider``: Loom's provider protocol on the official ``openai`` SDK."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Literal, Unpack

import openai
from loom.errors import ProviderError
from loom.messages import ContentBlock
from loom.requests import ModelRequest, ModelResponse, StopReason, Usage
from loom_provider_common.provider import ProviderOptions, SDKProvider
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import Response, ResponseStreamEvent

from loom_provider_openai import chat, responses, wire
from loom_provider_openai.chat import OnDelta, assistant
from loom_provider_openai.errors import classify_error
from loom_provider_openai.pricing import TABLE
from loom_provider_openai.settings import DEFAULT_MODEL, OpenAISettings

Api = Literal["chat", "responses"]

#: Request options of ``chat.completions.create``: bearer-token authentication.
_BEARER: openai.RequestOptions = {"security": {"bearer_auth": True}}


class OpenAIProvider(SDKProvider[openai.AsyncOpenAI, OpenAISettings]):
    """Calls OpenAI's Chat Completions (``api="chat"``) or Responses API.

    ``base_url`` points it at any OpenAI-compatible server (vLLM, llama.cpp,
    Ollama...); ``None`` leaves it to the SDK (``OPENAI_BASE_URL``, else
    OpenAI). ``api_key=None`` (or ``...``) reads ``OPENAI_API_KEY``. ``timeout``
    is in seconds; ``max_retries`` is the SDK's own retry count (0: retrying
    is the retry plugin's job). ``prices`` overrides the default price table
    (model → :class:`ModelPrice` or a dict of its fields). Every SDK error is
    raised as a typed :class:`~loom.errors.ProviderError`; cancelling the
    awaiting task aborts the HTTP request. ``context_window`` overrides the model's window
    (these keywords: :class:`~loom_provider_common.provider.ProviderOptions`).
    """

    settings_type = OpenAISettings
    price_table = TABLE
    default_model = DEFAULT_MODEL
    default_name = "openai"

    def __init__(
        self,
        *,
        api: Api = "chat",
        max_tokens_param: Literal["max_completion_tokens", "max_tokens"] | None = None,
        **options: Unpack[ProviderOptions],
    ) -> None:
        if api not in ("chat", "responses"):
            raise ValueError(f"api must be 'chat' or 'responses', not {api!r}")
        super().__init__(**options)
        self.api: Api = api
        self.max_tokens_param = max_tokens_param or (
            "max_tokens" if self.base_url else "max_completion_tokens")
        self._bodies = wire.RequestBodies()

    def __repr__(self) -> str:
        return f"<OpenAIProvider api={self.api!r} model={self.model!r}>"

    def _new_client(self) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(**self._client_options())

    def _close_client(self, client: openai.AsyncOpenAI) -> Awaitable[None]:
        return client.close()

    async def complete(self, request: ModelRequest, *,
                       on_delta: OnDelta | None = None) -> ModelResponse:
        """Answer one neutral request; stream (calling ``on_delta``) when ``request.stream``."""
        model = request.model or self.model
        with self._typed_errors(classify_error):
            if self.api == "responses":
                blocks, stop, usage, served = await self._responses(request, model, on_delta)
            else:
                blocks, stop, usage, served = await self._chat(request, model, on_delta)
        served = served or model
        return ModelResponse(
            message=assistant(blocks, self.name, self.api), stop_reason=stop,
            usage=self._with_cost(usage, served, model),
            model=served, provider=self.name)

    async def _chat(self, request: ModelRequest, model: str, on_delta: OnDelta | None
                    ) -> tuple[list[ContentBlock], StopReason, Usage, str]:
        # The body is built from cached per-message JSON (see wire.py) and sent
        # through the SDK client's own request path.
        body = self._bodies.chat(request, model=model, max_tokens_param=self.max_tokens_param)
        client = self.client()
        if not request.stream:
            raw = await client.post("/chat/completions", cast_to=bytes, content=body,
                                    options=_BEARER)
            return wire.parse_completion_json(raw, self.name)
        state = chat.ChatStream(on_delta)
        stream = await client.post(
            "/chat/completions", cast_to=ChatCompletion, content=body, options=_BEARER,
            stream=True, stream_cls=openai.AsyncStream[ChatCompletionChunk])
        async with stream:
            async for chunk in stream:
                await state.feed(chunk)
        if state.finish is None:
            raise ProviderError(
                f"{self.name}: the response stream ended before its finish reason (truncated)",
                provider=self.name, retryable=True)
        blocks, stop = state.result()
        return blocks, stop, chat.usage_from(state.usage), state.model

    async def _responses(self, request: ModelRequest, model: str, on_delta: OnDelta | None
                         ) -> tuple[list[ContentBlock], StopReason, Usage, str]:
        body = self._bodies.responses(request, model=model)
        client = self.client()
        if not request.stream:
            result = await client.post("/responses", cast_to=Response, content=body,
                                       options=_BEARER)
        else:
            state = responses.ResponsesStream(on_delta, self.name)
            stream = await client.post(
                "/responses", cast_to=Response, content=body, options=_BEARER, stream=True,
                stream_cls=openai.AsyncStream[ResponseStreamEvent])
            async with stream:
                async for event in stream:
                    await state.feed(event)
            if state.final is None:
                raise ProviderError(
                    f"{self.name}: the response stream ended before response.completed "
                    "(truncated)", provider=self.name, retryable=True)
            result = state.final
        blocks, stop = responses.parse_response(result, self.name)
        return blocks, stop, responses.usage_from(result.usage), str(result.model or "")
