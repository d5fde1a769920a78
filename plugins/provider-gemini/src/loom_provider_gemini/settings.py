"""``[settings.gemini]``: validated configuration of the Gemini provider."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from loom_provider_gemini.pricing import ModelPrice

DEFAULT_MODEL = "gemini-2.5-flash"


class GeminiSettings(BaseModel):
    """Settings of the ``gemini`` provider record (the Gemini Developer API).

    ``api_key`` defaults to the SDK's ``GOOGLE_API_KEY`` / ``GEMINI_API_KEY``
    and ``base_url`` to ``GOOGLE_GEMINI_BASE_URL`` (else Google's endpoint).
    ``timeout`` is in seconds; ``max_retries`` is the SDK's own retry count,
    off by default because retrying is the retry plugin's job. ``prices``
    overrides the default price table per model (USD per million tokens).
    ``thinking_budget`` sets the model's thinking budget in tokens (0 turns
    thinking off where the model allows it); ``include_thoughts`` asks for
    thought summaries.
    """

    model_config = ConfigDict(extra="forbid")

    api_key: str | None = None
    model: str = DEFAULT_MODEL
    base_url: str | None = None
    timeout: float = Field(default=600.0, gt=0)
    max_retries: int = Field(default=0, ge=0)
    prices: dict[str, ModelPrice] = Field(default_factory=dict)
    context_window: int | None = Field(default=None, gt=0)
    thinking_budget: int | None = Field(default=None, ge=-1)
    include_thoughts: bool = False
