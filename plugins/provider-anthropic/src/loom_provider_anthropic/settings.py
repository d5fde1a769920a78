"""``[settings.anthropic]``: validated configuration of the Anthropic provider."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from loom_provider_anthropic.pricing import ModelPrice

DEFAULT_MODEL = "claude-sonnet-4-6"


class AnthropicSettings(BaseModel):
    """Settings of the ``anthropic`` provider record.

    ``api_key`` and ``base_url`` default to the SDK's own environment variables
    (``ANTHROPIC_API_KEY``, ``ANTHROPIC_BASE_URL``). ``timeout`` is in seconds.
    ``max_retries`` is the SDK's own retry count, off by default because
    retrying is the retry plugin's job. ``prices`` overrides the default price
    table per model (USD per million tokens). ``prompt_caching`` places
    ``cache_control`` markers on the system prompt, the stable prefix and the
    end of the conversation. ``thinking`` turns extended thinking on: a budget
    in tokens (at least 1024, below the call's ``max_tokens``) or ``"adaptive"``.
    """

    model_config = ConfigDict(extra="forbid")

    api_key: str | None = None
    model: str = DEFAULT_MODEL
    base_url: str | None = None
    timeout: float = Field(default=600.0, gt=0)
    max_retries: int = Field(default=0, ge=0)
    prices: dict[str, ModelPrice] = Field(default_factory=dict)
    context_window: int | None = Field(default=None, gt=0)
    prompt_caching: bool = True
    thinking: Literal["adaptive"] | int | None = None

    @field_validator("thinking")
    @classmethod
    def _budget(cls, value: str | int | None) -> str | int | None:
        if isinstance(value, int) and value < 1024:
            raise ValueError("a thinking budget must be at least 1024 tokens")
        return value
