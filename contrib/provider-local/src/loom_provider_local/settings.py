"""Settings of the local provider (``[settings.local]``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class LocalSettings(BaseModel):
    """How the local model is loaded and asked.

    ``model_path`` defaults to the Gemma 3 270M GGUF shipped on PyPI, written
    once to ``cache_dir``. ``tool_choice``: ``"first-turn"`` forces a tool call
    while no tool has answered yet and then lets the model answer in text — a
    270M model rarely chooses tools on its own; ``"auto"`` and ``"required"``
    pass through to llama.cpp. ``answer_format``, when set, is the chat template
    used for turns without tools (the model's own, e.g. ``"gemma"``): those
    turns see the goal and the tool results as one plain user message, which
    a small base model follows far better than a function-calling transcript.
    """

    model_config = ConfigDict(extra="forbid")

    model_path: str | None = None
    cache_dir: str | None = None
    n_ctx: int = 4096
    n_threads: int | None = None
    chat_format: str = "chatml-function-calling"
    answer_format: str | None = "gemma"
    tool_choice: Literal["first-turn", "auto", "required"] = "first-turn"
    temperature: float = 0.0
    seed: int = 0
    max_tokens: int = 256
