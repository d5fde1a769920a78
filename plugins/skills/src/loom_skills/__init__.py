"""In-house skills for Loom agents, loaded progressively.

A skill is a folder with a ``SKILL.md`` (YAML frontmatter with ``name`` and
``description``, then instructions) and optional files, scripts and a
``tools.py`` of ``@tool`` functions. Skills are found in the folders of
``[settings.skills] paths`` (default: the workspace's ``.loom/skills`` and
``~/.loom/skills``) and in installed distributions (entry-point group
``loom.skills``).

When a run starts only the names and descriptions are put in the skill
partition. The agent calls ``open_skill(name)`` to load a skill's
instructions and tools, ``read_skill_resource(name, path)`` to read one of
its files, and ``run_skill_script(name, script, args)`` to run one of its
scripts (an ``execute`` effect, judged by the harness like any command).
"""

from __future__ import annotations

from typing import Any

from loom.hookspecs import hookimpl
from loom.records import Record, ToolSourceRecord

from loom_skills.settings import SETTINGS_NAME, SkillsSettings

__all__ = ["SETTINGS_NAME", "SkillsSettings", "loom_register_tool_sources", "loom_run_started"]


@hookimpl
def loom_register_tool_sources() -> list[Record]:
    """Register the ``skills`` tool source (settings: ``[settings.skills]``)."""
    return [ToolSourceRecord(name=SETTINGS_NAME, settings=SkillsSettings,
                             factory="loom_skills.source:SkillSource.from_settings",
                             description="in-house skills: open_skill, read_skill_resource, "
                                         "run_skill_script")]


@hookimpl
async def loom_run_started(run: Any) -> None:
    """Put the skill catalog into the skill partition of a starting run."""
    from loom_skills.source import SkillSource, SkillTool

    sources = {id(r.source): r.source for r in list(run.tools.values())
               if isinstance(r, SkillTool) and isinstance(r.source, SkillSource)}
    for source in sources.values():
        await source.attach(run)
