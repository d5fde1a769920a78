"""``GeminiProvider``: Loom's provider protocol on the official ``google-genai`` SDK."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, Unpack

import httpx2
from google import genai
from google.genai import types
from loom.errors import ProviderError
from loom.messages import Message
from loom.requests import ModelRequest, ModelResponse, StreamDelta, Usage
from loom_provider_common.provider import ProviderOptions, SDKProvider

from loom_provider_gemini.errors import classify_error
from loom_provider_gemini.mapping import PROVIDER, PartsAssembler, build_config, stop_reason, usage_from
from loom_provider_gemini.pricing import TABLE
from loom_provider_gemini.settings import DEFAULT_MODEL, GeminiSettings

OnDelta = Callable[[StreamDelta], Awaitable[None]]


class GeminiProvider(SDKProvider[genai.Client, GeminiSettings]):
    """Calls the Gemini Developer API (``generateContent``, streamed or not).

    ``api_key=None`` (or ``...``) reads ``GOOGLE_API_KEY`` / ``GEMINI_API_KEY``;
    ``base_url`` (through the SDK's ``http_options``) points it at another
    endpoint, such as a local test server. ``timeout`` is in seconds;
    ``max_retries`` is the SDK's own retry count (0: retrying is the retry
    plugin's job). ``prices`` overrides the default price table (model →
    :class:`ModelPrice` or a dict of its fields). Every SDK error is raised as
    a typed :class:`~loom.errors.ProviderError`; cancelling the awaiting task
    aborts the HTTP request. ``context_window`` overrides the model's window
    (these keywords: :class:`~loom_provider_common.provider.ProviderOptions`).
    """

    settings_type = GeminiSettings
    price_table = TABLE
    default_model = DEFAULT_MODEL
    default_name = PROVIDER

    def __init__(self, *, thinking_budget: int | None = None, include_thoughts: bool = False,
                 **options: Unpack[ProviderOptions]) -> None:
        super().__init__(**options)
        self.thinking_budget = thinking_budget
        self.include_thoughts = include_thoughts

    def __repr__(self) -> str:
        return f"<GeminiProvider model={self.model!r}>"

    def _new_client(self) -> genai.Client:
        retry = (types.HttpRetryOptions(attempts=self.max_retries + 1)
                 if self.max_retries else None)
        # httpx2, like the other SDKs, even when aiohttp is installed: one
        # transport to classify errors for, closed by ``aclose``.
        options = types.HttpOptions(base_url=self.base_url, timeout=int(self.timeout * 1000),
                                    retry_options=retry,
                                    async_client_args={"transport": httpx2.AsyncHTTPTransport()})
        try:
            return genai.Client(api_key=self.api_key, http_options=options)
        except ValueError as exc:
            raise ProviderError(
                f"{self.name}: {exc} (pass api_key, set [settings.{self.name}] api_key, "
                "or set GEMINI_API_KEY)", provider=self.name) from None

    def _close_client(self, client: genai.Client) -> Awaitable[None]:
        return client.aio.aclose()

    async def complete(self, request: ModelRequest, *,
                       on_delta: OnDelta | None = None) -> ModelResponse:
        """Answer one neutral request; stream (calling ``on_delta``) when ``request.stream``."""
        model = request.model or self.model
        contents, config = build_config(request, thinking_budget=self.thinking_budget,
                                        include_thoughts=self.include_thoughts)
        models = self.client().aio.models
        assembler = PartsAssembler()
        with self._typed_errors(classify_error):
            if request.stream:
                finish, usage, served = await self._stream(
                    await models.generate_content_stream(model=model, contents=contents,
                                                         config=config),
                    assembler, on_delta)
            else:
                response = await models.generate_content(model=model, contents=contents,
                                                         config=config)
                finish, usage, served = self._take(response, assembler)
        served = served or model
        blocks = assembler.content()
        return ModelResponse(
            message=Message(role="assistant", content=blocks, meta={"provider": PROVIDER}),
            stop_reason=stop_reason(finish, assembler.calls > 0),
            usage=self._with_cost(usage, served, model),
            model=served, provider=self.name)

    def _take(self, response: types.GenerateContentResponse, assembler: PartsAssembler
              ) -> tuple[str | None, Usage, str]:
        """Feed one (whole or streamed) response into ``assembler``."""
        finish: str | None = None
        candidates = response.candidates or []
        if not candidates and response.prompt_feedback and response.prompt_feedback.block_reason:
            reason = str(response.prompt_feedback.block_reason.value)
            assembler.blocks.append({"kind": "text", "text": f"(prompt blocked: {reason})",
                                     "signature": None})
            finish = "SAFETY"
        for candidate in candidates[:1]:
            for part in (candidate.content.parts or []) if candidate.content else []:
                assembler.add(part, response.response_id)
            if candidate.finish_reason is not None:
                finish = str(candidate.finish_reason.value)
                if finish == "MALFORMED_FUNCTION_CALL":
                    assembler.malformed(candidate.finish_message, response.response_id)
        return finish, usage_from(response.usage_metadata), response.model_version or ""

    async def _stream(self, chunks: Any, assembler: PartsAssembler,
                      on_delta: OnDelta | None) -> tuple[str | None, Usage, str]:
        finish: str | None = None
        usage, served = Usage(), ""
        async for chunk in chunks:
            for candidate in (chunk.candidates or [])[:1]:
                for part in (candidate.content.parts or []) if candidate.content else []:
                    for kind, text, call in assembler.add(part, chunk.response_id):
                        if on_delta is not None and text:
                            await on_delta(StreamDelta(
                                kind=kind, text=text, call_id=call.id if call else None,
                                name=call.name if call else None))
                if candidate.finish_reason is not None:
                    finish = str(candidate.finish_reason.value)
                    if finish == "MALFORMED_FUNCTION_CALL":
                        call = assembler.malformed(candidate.finish_message, chunk.response_id)
                        if on_delta is not None:
                            await on_delta(StreamDelta(kind="tool_call", call_id=call.id,
                                                       name=call.name,
                                                       text=call.raw_arguments
                                                       or json.dumps(call.arguments)))
            if not chunk.candidates and chunk.prompt_feedback and chunk.prompt_feedback.block_reason:
                finish = self._take(chunk, assembler)[0]
            if chunk.usage_metadata is not None:
                usage = usage_from(chunk.usage_metadata)
            served = chunk.model_version or served
        if finish is None:
            raise ProviderError(
                f"{self.name}: the response stream ended without a finish reason (truncated)",
                provider=self.name, retryable=True)
        return finish, usage, served
