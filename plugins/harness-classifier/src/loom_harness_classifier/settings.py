"""``[settings.harness-classifier]``: thresholds and switches of tier 1."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

#: The ``[settings.<name>]`` table tier 1 reads.
SETTINGS_NAME = "harness-classifier"


class ClassifierSettings(BaseModel):
    """Settings of the speculative classifier.

    ``deny_at``: a risk at or above it is denied by tier 1 (clearly
    destructive actions and escalation attempts score 0.9 and more).
    ``speculative``: classify the tool calls of each model response as soon
    as their arguments are known — while the response streams, or when it
    arrives — before the Act phase. ``scan_tool_output``: look for
    instructions to change the mode or approve actions in tool output.
    ``emit_events``: emit a ``harness-classifier.classified`` event for
    ``"all"`` calls, for ``"risky"`` ones (risk at least ``risky_at``, or
    denied: the default) or for ``"none"``. The verdicts of the tiers are
    events whatever this says.
    ``second_opinion``: also ask a model (``second_opinion_provider``, or
    the run's provider) about calls whose risk is in
    [``second_opinion_from``, ``deny_at``); it can only raise the risk.
    """

    model_config = ConfigDict(extra="forbid")

    deny_at: float = Field(default=0.9, ge=0.5, le=1.0)
    speculative: bool = True
    scan_tool_output: bool = True
    emit_events: Literal["all", "risky", "none"] = "risky"
    risky_at: float = Field(default=0.6, ge=0.0, le=1.0)
    second_opinion: bool = False
    second_opinion_provider: str | None = None
    second_opinion_from: float = Field(default=0.4, ge=0.0, le=1.0)
    second_opinion_timeout: float = Field(default=20.0, gt=0)


_DEFAULT = ClassifierSettings()


def settings_of(run: Any) -> ClassifierSettings:
    """The validated settings of ``run`` (defaults when there is no table)."""
    settings = run.settings(SETTINGS_NAME)
    return settings if isinstance(settings, ClassifierSettings) else _DEFAULT
