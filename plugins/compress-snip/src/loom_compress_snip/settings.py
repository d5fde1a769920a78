"""``[settings.snip]``."""

from __future__ import annotations

from loom_compress_common.settings import LevelSettings
from pydantic import Field


class SnipSettings(LevelSettings):
    """Options of the snip level.

    ``read_tools`` are the tools whose output is a file's content (an older
    read of the same path is superseded by a newer one);
    ``min_duplicate_chars`` is the smallest output stubbed as a duplicate;
    ``max_output_tokens`` is where an output counts as oversized, and
    ``preview_chars`` how much of it stays; ``noise_min_lines`` is the fewest
    progress lines worth removing; ``ledger_fraction`` caps the fact ledger
    at that share of the budget.
    """

    threshold: float = Field(default=0.5, ge=0.0, le=4.0)
    read_tools: list[str] = Field(
        default_factory=lambda: ["read_file", "read", "cat", "view", "view_file", "open_file", "read_text"]
    )
    min_duplicate_chars: int = Field(default=200, ge=1)
    max_output_tokens: int = Field(default=4000, ge=100)
    preview_chars: int = Field(default=1200, ge=0)
    noise_min_lines: int = Field(default=8, ge=1)
    ledger_fraction: float = Field(default=0.1, gt=0.0, le=0.5)
