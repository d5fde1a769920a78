"""The settings every compression level shares."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class LevelSettings(BaseModel):
    """Base of each level's ``[settings.<level>]`` table: ``threshold`` is the
    pressure ρ (tokens in use / budget) at which the level runs. Unknown keys
    are rejected."""

    model_config = ConfigDict(extra="forbid")

    threshold: float = Field(default=1.0, ge=0.0, le=4.0)
