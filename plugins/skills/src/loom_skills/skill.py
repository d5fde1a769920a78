"""One skill: a folder with a ``SKILL.md`` (YAML frontmatter + instructions).

::

    my-skill/
        SKILL.md          ---\\nname: my-skill\\ndescription: ...\\n---\\n<instructions>
        tools.py          optional: @tool functions registered when the skill is opened
        scripts/          optional: scripts run through ``run_skill_script``
        reference.md      optional resources, read with ``read_skill_resource``

Frontmatter fields: ``name`` (lowercase letters, digits and hyphens, at most
64 characters, the folder's name with ``_`` read as ``-``), ``description``
(what the skill does and when to use it, at most 1024 characters), and
optionally ``allowed-tools`` (tool names the skill's instructions use, as a
list or a space/comma separated string), ``license``, ``compatibility`` and
``metadata`` (a mapping). Any problem is a :class:`~loom.errors.ConfigError`
naming the file, the line and the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]
from loom.errors import ConfigError, did_you_mean

SKILL_FILE = "SKILL.md"
TOOLS_FILE = "tools.py"
NAME_PATTERN = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
MAX_NAME = 64
MAX_DESCRIPTION = 1024
FIELDS = ("name", "description", "allowed-tools", "license", "compatibility", "metadata")
#: Files and folders that are part of the skill's machinery, not resources.
_NOT_RESOURCES = {SKILL_FILE, TOOLS_FILE, "__pycache__", ".DS_Store"}


@dataclass(frozen=True)
class Skill:
    """A parsed, valid skill. ``origin`` says where it was found (a folder or an entry point)."""

    name: str
    description: str
    instructions: str
    folder: Path
    allowed_tools: tuple[str, ...] = ()
    license: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    origin: str = ""

    @property
    def skill_file(self) -> Path:
        """The skill's ``SKILL.md``."""
        return self.folder / SKILL_FILE

    @property
    def tools_file(self) -> Path | None:
        """The skill's ``tools.py``, if it has one."""
        path = self.folder / TOOLS_FILE
        return path if path.is_file() else None

    def resources(self) -> list[str]:
        """Files in the skill folder other than SKILL.md and tools.py (POSIX paths, sorted)."""
        found = []
        for path in sorted(self.folder.rglob("*")):
            rel = path.relative_to(self.folder)
            if any(part in _NOT_RESOURCES or part.startswith(".") for part in rel.parts):
                continue
            if path.is_file():
                found.append(rel.as_posix())
        return found

    def scripts(self) -> list[str]:
        """Files under ``scripts/`` (POSIX paths relative to the skill folder)."""
        return [r for r in self.resources() if r.startswith("scripts/")]

    def catalog_line(self) -> str:
        """``- name: description``, the line shown before the skill is opened."""
        return f"- {self.name}: {' '.join(self.description.split())}"


def _line_of(text: str, key: str) -> int | None:
    """1-based line of ``key:`` in SKILL.md (the frontmatter starts at line 2)."""
    for number, line in enumerate(text.splitlines(), start=1):
        if re.match(rf"^{re.escape(key)}\s*:", line):
            return number
    return None


def split_frontmatter(text: str, path: Path) -> tuple[str, str]:
    """Split SKILL.md into (frontmatter YAML, body); errors name the file."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        raise ConfigError(
            "SKILL.md must start with a '---' line opening the YAML frontmatter "
            "(name and description)", file=str(path), line=1)
    for index in range(1, len(lines)):
        if lines[index].strip() == "---":
            return "".join(lines[1:index]), "".join(lines[index + 1:])
    raise ConfigError("the YAML frontmatter is not closed by a '---' line", file=str(path), line=1)


def parse_skill(folder: Path, *, origin: str = "") -> Skill:
    """Read and validate ``folder/SKILL.md``."""
    path = folder / SKILL_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"no {SKILL_FILE} in the skill folder", file=str(folder)) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"SKILL.md is not UTF-8 text ({exc.reason})", file=str(path)) from None
    head, body = split_frontmatter(text, path)
    try:
        data = yaml.safe_load(head)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"malformed YAML frontmatter: {problem}", file=str(path), line=line) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError("the frontmatter must be a mapping of fields (name: ..., description: ...)",
                          file=str(path), line=2)

    def fail(key: str, message: str) -> ConfigError:
        return ConfigError(f"field {key!r}: {message}", file=str(path), line=_line_of(text, key),
                           key=key)

    for key in data:
        if key not in FIELDS:
            raise fail(str(key), f"unknown field{did_you_mean(str(key), FIELDS)}; "
                                 f"allowed: {', '.join(FIELDS)}")
    name = data.get("name")
    if name is None:
        raise fail("name", "missing; every skill needs a name")
    if not isinstance(name, str) or not NAME_PATTERN.match(name) or len(name) > MAX_NAME:
        raise fail("name", f"{name!r} is not a valid skill name: use lowercase letters, digits and "
                           f"single hyphens, at most {MAX_NAME} characters")
    if folder.name.replace("_", "-") != name:
        raise fail("name", f"{name!r} does not match its folder name {folder.name!r}")
    description = data.get("description")
    if description is None:
        raise fail("description", "missing; say what the skill does and when to use it")
    if not isinstance(description, str) or not description.strip():
        raise fail("description", "must be non-empty text")
    if len(description) > MAX_DESCRIPTION:
        raise fail("description", f"is {len(description)} characters long; at most {MAX_DESCRIPTION}")
    allowed = data.get("allowed-tools")
    if allowed is None:
        tools: tuple[str, ...] = ()
    elif isinstance(allowed, str):
        tools = tuple(t for t in re.split(r"[\s,]+", allowed) if t)
    elif isinstance(allowed, list) and all(isinstance(t, str) and t for t in allowed):
        tools = tuple(allowed)
    else:
        raise fail("allowed-tools", "must be a list of tool names or a space-separated string")
    license_text = data.get("license", "")
    if not isinstance(license_text, str):
        raise fail("license", "must be text")
    metadata = data.get("metadata", {})
    if not isinstance(metadata, dict):
        raise fail("metadata", "must be a mapping")
    compatibility = data.get("compatibility")
    if compatibility is not None and not isinstance(compatibility, str):
        raise fail("compatibility", "must be text")
    return Skill(name=name, description=description.strip(), instructions=body.strip(),
                 folder=folder.resolve(), allowed_tools=tools, license=license_text,
                 metadata=dict(metadata), origin=origin or str(folder))
