"""``[settings.skills]``: where skills are looked for, and script limits."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

#: The ``[settings.<name>]`` table (and the tool source record) of this plugin.
SETTINGS_NAME = "skills"
#: Folders searched by default: the project's, then the user's.
DEFAULT_PATHS = (".loom/skills", "~/.loom/skills")


class SkillsSettings(BaseModel):
    """Settings of the skills plugin.

    ``paths`` are folders holding one sub-folder per skill (a folder that has
    a ``SKILL.md`` itself is one skill); relative paths are read from the
    run's workspace, ``~`` is the user's home. Missing folders are skipped.
    ``entry_points`` adds skills that installed distributions provide through
    the ``loom.skills`` entry-point group. ``disable`` hides skills by name.
    ``script_timeout`` (seconds) and ``output_cap`` (characters) bound
    ``run_skill_script``; ``resource_cap`` bounds ``read_skill_resource``.
    """

    model_config = ConfigDict(extra="forbid")

    paths: list[str] = Field(default_factory=lambda: list(DEFAULT_PATHS))
    entry_points: bool = True
    disable: list[str] = Field(default_factory=list)
    script_timeout: float = Field(default=120.0, gt=0)
    output_cap: int = Field(default=30_000, gt=0)
    resource_cap: int = Field(default=100_000, gt=0)
