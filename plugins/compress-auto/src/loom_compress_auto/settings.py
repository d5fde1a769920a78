"""``[settings.auto]``."""

from __future__ import annotations

from loom_compress_common.settings import LevelSettings
from pydantic import Field


class AutoSettings(LevelSettings):
    """Options of the auto level.

    ``use_model``: ask the run's model for the summary (false: build it
    without a model); ``summary_max_tokens``: the summary's output limit;
    ``transcript_fraction``: the share of the budget the transcript sent to
    the model may take; ``recent_files`` / ``recent_file_chars``: how many
    recently read files are re-added after the summary, and how much of each;
    ``read_tools``: tools whose output is a file's content;
    ``ledger_fraction``: the fact ledger's size limit as a share of the budget.
    """

    threshold: float = Field(default=0.9, ge=0.0, le=4.0)
    use_model: bool = True
    summary_max_tokens: int = Field(default=2000, ge=100)
    transcript_fraction: float = Field(default=0.4, gt=0.0, le=0.9)
    recent_files: int = Field(default=3, ge=0)
    recent_file_chars: int = Field(default=3000, ge=0)
    read_tools: list[str] = Field(
        default_factory=lambda: ["read_file", "read", "cat", "view", "view_file", "open_file", "read_text"]
    )
    ledger_fraction: float = Field(default=0.1, gt=0.0, le=0.5)
