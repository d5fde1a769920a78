"""``[settings.subagents]``: how deep, how many and how long sub-agents may run."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_INSTRUCTIONS = (
    "You are a sub-agent: another agent delegated this goal to you. Work on it with the tools "
    "you have; your final answer is returned to that agent as the result, so make it complete "
    "and self-contained (what you found or did, and anything left undone)."
)


class SubagentSettings(BaseModel):
    """Settings of the sub-agent manager.

    ``max_depth`` is how many levels of sub-agents may exist below a
    top-level run (1: sub-agents cannot delegate further). ``max_steps``
    is a sub-agent's step budget when the delegating model names none
    (always capped by the parent's). ``max_concurrent`` sub-agents of one
    parent run at once; more wait their turn. ``timeout`` (seconds, None
    for none) cancels a sub-agent that runs longer. ``instructions`` are
    appended to the sub-agent's system prompt.
    """

    model_config = ConfigDict(extra="forbid")

    max_depth: int = Field(default=2, ge=1, le=8)
    max_steps: int = Field(default=20, ge=1)
    max_concurrent: int = Field(default=4, ge=1)
    timeout: float | None = Field(default=1800.0, gt=0)
    instructions: str = DEFAULT_INSTRUCTIONS
