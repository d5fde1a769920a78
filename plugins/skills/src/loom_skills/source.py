"""The skills tool source: progressive loading of skills into a run.

At run start only each skill's name and description go into the skill
partition (``run.window.skills``). The agent opens a skill with
``open_skill(name)``: its instructions are returned and appended to the
skill partition, and the tools of its ``tools.py`` are registered for the rest
of the run. ``read_skill_resource`` reads one of its files on demand and
``run_skill_script`` runs one of its scripts (an ``execute`` effect, so the
harness judges it like any other command).
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from loom.errors import ToolError, did_you_mean
from loom.records import ToolRecord
from loom.tools import tool

from loom_skills.discovery import discover
from loom_skills.files import read_resource, run_script
from loom_skills.settings import SETTINGS_NAME, SkillsSettings
from loom_skills.skill import Skill

#: First line of the catalog entry in the skill partition.
CATALOG_HEADER = ("Skills you can open with open_skill(name); each loads instructions, files and "
                  "tools for one kind of task:")
#: Prefix of the skill partition entry of an opened skill.
OPENED_PREFIX = "## Skill: "
#: Names of the tools this source provides.
TOOL_NAMES = ("open_skill", "read_skill_resource", "run_skill_script")


@dataclass(frozen=True)
class SkillTool(ToolRecord):
    """A tool record that knows the :class:`SkillSource` it came from."""

    source: Any = None


def load_tools(skill: Skill) -> list[ToolRecord]:
    """Import the skill's ``tools.py`` and return its tool records, in definition order."""
    path = skill.tools_file
    if path is None:
        return []
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:8]
    module_name = f"loom_skill_tools_{skill.name.replace('-', '_')}_{digest}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ToolError(f"cannot import {path}")
    module: ModuleType = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(module_name, None)
        raise ToolError(f"the tools.py of skill {skill.name!r} failed to import ({path}): "
                        f"{type(exc).__name__}: {exc}") from None
    return [value for value in vars(module).values() if isinstance(value, ToolRecord)]


class SkillSource:
    """Discovers skills for one run and serves the three skill tools."""

    def __init__(self, settings: SkillsSettings | None = None) -> None:
        self.settings = settings or SkillsSettings()
        self.skills: dict[str, Skill] = {}
        self.opened: dict[str, list[str]] = {}
        self.workspace = Path.cwd()

    @classmethod
    def from_settings(cls, settings: SkillsSettings | None) -> SkillSource:
        """The record factory: built with the validated ``[settings.skills]``."""
        return cls(settings)

    # ------------------------------------------------------------ tool source

    async def list_tools(self) -> list[ToolRecord]:
        """``open_skill``, ``read_skill_resource`` and ``run_skill_script``.

        They are withdrawn again at run start when no skill is found.
        """
        source = self

        @tool(name="open_skill", effects={"read"}, timeout=60)
        async def open_skill(name: str, run: Any = None) -> str:
            """Open a skill: load its instructions, list its files and scripts, and make its tools
            available for the rest of the run. Open a skill before doing the kind of task it covers.

            Args:
                name: the skill's name, as listed in the Skills section.
            """
            return await source.open(name, run)

        @tool(name="read_skill_resource", effects={"read"}, timeout=30)
        def read_skill_resource(name: str, path: str) -> str:
            """Read one file of a skill (a reference document, a template, an example).

            Args:
                name: the skill's name.
                path: the file's path relative to the skill folder, as listed by open_skill.
            """
            return read_resource(source.skill(name), path, source.settings.resource_cap)

        @tool(name="run_skill_script", effects={"execute"}, timeout=None)
        async def run_skill_script(name: str, script: str, args: list[str] | None = None) -> str:
            """Run one of a skill's scripts in the workspace; returns its exit code and output.

            Args:
                name: the skill's name.
                script: the script's path relative to the skill folder (e.g. scripts/check.py).
                args: command-line arguments for the script.
            """
            settings = source.settings
            return await run_script(source.skill(name), script, list(args or []),
                                    cwd=source.workspace, timeout=settings.script_timeout,
                                    cap=settings.output_cap)

        return [SkillTool(name=r.name, factory=r.factory, spec=r.spec, description=r.description,
                          source=self)
                for r in (open_skill, read_skill_resource, run_skill_script)]

    async def close(self) -> None:
        """Nothing to release: skills hold no process or connection."""

    # ------------------------------------------------------------- the run

    async def attach(self, run: Any) -> None:
        """Discover skills for ``run`` and put their catalog into the skill partition.

        Invalid skills are reported as ``skills.invalid`` events naming the
        file and the field; without any valid skill the three skill tools are
        withdrawn. On a resumed run, skills opened before are opened again.
        """
        self.workspace = Path(run.runtime.workspace)
        found = discover(self.settings, self.workspace)
        for error in found.errors:
            await run.emit("skills.invalid", file=error.file or "", field=error.key or "",
                           error=str(error))
        self.skills = found.skills
        if not self.skills:
            self._withdraw(run)
            return
        catalog = "\n".join([CATALOG_HEADER, *(s.catalog_line() for s in self.skills.values())])
        kept = [entry for entry in run.window.skills if not entry.startswith(CATALOG_HEADER)]
        run.window.skills = [catalog, *kept]
        await run.emit("skills.available", skills=sorted(self.skills))
        for entry in kept:
            if entry.lstrip().startswith(OPENED_PREFIX):
                name = entry.lstrip()[len(OPENED_PREFIX):].split("\n", 1)[0].strip()
                if name in self.skills and name not in self.opened:
                    self._register_tools(self.skills[name], run)

    def _withdraw(self, run: Any) -> None:
        ours = {name for name, record in run.tools.items()
                if isinstance(record, SkillTool) and record.source is self}
        for name in ours:
            del run.tools[name]
        run.window.tools = [spec for spec in run.window.tools if spec.name not in ours]

    def skill(self, name: str) -> Skill:
        """A discovered skill by name, or a ToolError listing the known ones."""
        skill = self.skills.get(name)
        if skill is None:
            known = ", ".join(sorted(self.skills)) or "none"
            raise ToolError(f"no skill named {name!r}{did_you_mean(name, self.skills)}; skills: {known}")
        return skill

    async def open(self, name: str, run: Any) -> str:
        """Open a skill in ``run`` (see :func:`open_skill`); returns what the model reads."""
        skill = self.skill(name)
        if name in self.opened:
            return (f"Skill {name!r} is already open; its instructions are in the Skills section.\n\n"
                    + self._describe(skill))
        tools = self._register_tools(skill, run)
        run.window.skills = [*run.window.skills, f"\n{OPENED_PREFIX}{name}\n{skill.instructions}"]
        await run.emit("skills.opened", skill=name, tools=tools, folder=str(skill.folder))
        return self._describe(skill)

    def _register_tools(self, skill: Skill, run: Any) -> list[str]:
        records = load_tools(skill)
        allowed = run.profile.tools
        for record in records:
            existing = run.tools.get(record.name)
            if existing is not None:
                raise ToolError(f"skill {skill.name!r} defines tool {record.name!r}, but a tool of that "
                                f"name already comes from {existing.plugin or 'another source'!r}; "
                                "rename the skill's tool")
        added: list[str] = []
        specs = list(run.window.tools)
        for record in records:
            if allowed is not None and record.name not in allowed:
                continue
            assert record.spec is not None
            spec = record.spec.model_copy(update={"source": f"skill:{skill.name}"})
            owned = ToolRecord(name=record.name, factory=record.factory, spec=spec,
                               description=record.description, plugin=f"{SETTINGS_NAME}:{skill.name}")
            run.tools[record.name] = owned
            specs.append(spec)
            added.append(record.name)
        run.window.tools = specs
        self.opened[skill.name] = added
        return added

    def _describe(self, skill: Skill) -> str:
        parts = [f"# Skill {skill.name}", skill.instructions or "(this skill has no instructions)"]
        files = [r for r in skill.resources() if not r.startswith("scripts/")]
        if files:
            parts.append("Files (read with read_skill_resource): " + ", ".join(files))
        if skill.scripts():
            parts.append("Scripts (run with run_skill_script): " + ", ".join(skill.scripts()))
        if self.opened.get(skill.name):
            parts.append("Tools now available: " + ", ".join(self.opened[skill.name]))
        if skill.allowed_tools:
            parts.append("Tools this skill expects to use: " + ", ".join(skill.allowed_tools))
        return "\n\n".join(parts)
