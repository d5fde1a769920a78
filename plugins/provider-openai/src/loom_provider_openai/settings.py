"""``[settings.openai]``: validated configuration of the OpenAI provider."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from loom_provider_openai.pricing import ModelPrice

DEFAULT_MODEL = "gpt-5-mini"


class OpenAISettings(BaseModel):
    """Settings of the ``openai`` provider record.

    ``api`` chooses Chat Completions (``"chat"``, what OpenAI-compatible
    servers such as vLLM, llama.cpp and Ollama speak) or the Responses API
    (``"responses"``). ``api_key`` and ``base_url`` default to the SDK's
    ``OPENAI_API_KEY`` and ``OPENAI_BASE_URL``. ``timeout`` is in seconds;
    ``max_retries`` is the SDK's own retry count, off by default because
    retrying is the retry plugin's job. ``prices`` overrides the default
    price table per model (USD per million tokens). ``max_tokens_param``
    names the Chat Completions output limit field: ``max_completion_tokens``
    for OpenAI itself, ``max_tokens`` (the default when ``base_url`` is set)
    for servers that only know the older name.
    """

    model_config = ConfigDict(extra="forbid")

    api_key: str | None = None
    model: str = DEFAULT_MODEL
    base_url: str | None = None
    api: Literal["chat", "responses"] = "chat"
    timeout: float = Field(default=600.0, gt=0)
    max_retries: int = Field(default=0, ge=0)
    prices: dict[str, ModelPrice] = Field(default_factory=dict)
    context_window: int | None = Field(default=None, gt=0)
    max_tokens_param: Literal["max_completion_tokens", "max_tokens"] | None = None
