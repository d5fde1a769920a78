"""Finding skills: configured folders, then the ``loom.skills`` entry points.

An entry point's value names a package (``"my_pkg.skills"``: its folder) or an
attribute holding a folder path (``"my_pkg:SKILLS_DIR"``). A folder with a
``SKILL.md`` is one skill; any other folder holds one skill per sub-folder.
"""

from __future__ import annotations

import importlib.metadata
import types
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loom.errors import ConfigError

from loom_skills.settings import SkillsSettings
from loom_skills.skill import SKILL_FILE, Skill, parse_skill

#: The entry-point group through which distributions provide skills.
ENTRY_POINT_GROUP = "loom.skills"


@dataclass
class Discovery:
    """What discovery found: valid skills by name, and one error per invalid skill."""

    skills: dict[str, Skill] = field(default_factory=dict)
    errors: list[ConfigError] = field(default_factory=list)

    def add(self, skill: Skill) -> None:
        """Keep a skill unless another one already has its name (then record an error)."""
        other = self.skills.get(skill.name)
        if other is not None:
            self.errors.append(ConfigError(
                f"field 'name': skill {skill.name!r} is defined twice: in {other.origin} and in "
                f"{skill.origin}; rename one, or hide one with [settings.skills] disable",
                file=str(skill.skill_file), key="name"))
            return
        self.skills[skill.name] = skill


def _folders(root: Path) -> Iterable[tuple[Path, ConfigError | None]]:
    if (root / SKILL_FILE).is_file():
        yield root, None
        return
    for child in sorted(root.iterdir()):
        if not child.is_dir() or child.name.startswith((".", "_")):
            continue
        if (child / SKILL_FILE).is_file():
            yield child, None
        else:
            yield child, ConfigError(f"skill folder has no {SKILL_FILE}", file=str(child))


def _scan(root: Path, origin: str, found: Discovery) -> None:
    for folder, problem in _folders(root):
        if problem is not None:
            found.errors.append(problem)
            continue
        try:
            found.add(parse_skill(folder, origin=origin or str(folder)))
        except ConfigError as exc:
            found.errors.append(exc)


def resolve_path(raw: str, workspace: Path) -> Path:
    """A configured folder: ``~`` expanded, relative paths read from the workspace."""
    path = Path(raw).expanduser()
    return path if path.is_absolute() else workspace / path


def entry_point_folder(value: Any) -> Path:
    """The folder an entry point's loaded value designates."""
    if isinstance(value, types.ModuleType):
        locations = list(getattr(value, "__path__", []) or [])
        if locations:
            return Path(locations[0])
        if value.__file__:
            return Path(value.__file__).parent
    if isinstance(value, str | Path):
        return Path(value)
    if hasattr(value, "__fspath__"):
        return Path(value)
    raise TypeError(f"expected a package or a folder path, got {type(value).__name__}")


def discover(settings: SkillsSettings, workspace: Path) -> Discovery:
    """Every skill the settings point at, in order: configured folders, then entry points."""
    found = Discovery()
    for raw in settings.paths:
        root = resolve_path(raw, workspace)
        if root.is_dir():
            _scan(root, "", found)
    if settings.entry_points:
        for ep in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            dist = ep.dist.name if ep.dist else "unknown distribution"
            origin = f"entry point {ep.name!r} of {dist}"
            try:
                root = entry_point_folder(ep.load())
            except Exception as exc:
                found.errors.append(ConfigError(
                    f"skills entry point {ep.name!r} ({ep.value}) of {dist} failed to load: "
                    f"{type(exc).__name__}: {exc}"))
                continue
            if not root.is_dir():
                found.errors.append(ConfigError(
                    f"skills entry point {ep.name!r} of {dist} names a missing folder", file=str(root)))
                continue
            _scan(root, origin, found)
    for name in settings.disable:
        found.skills.pop(name, None)
    return found
