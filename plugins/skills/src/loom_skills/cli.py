"""``loom skills`` (list the skills a run would see) and ``loom skills new NAME`` (scaffold one).

Exit codes follow the ``loom`` command: 0 success, 2 an invalid skill or a
usage error (the message names the file and the field).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from loom.config import load_config
from loom.errors import ConfigError

from loom_skills.discovery import Discovery, discover
from loom_skills.settings import SETTINGS_NAME, SkillsSettings
from loom_skills.skill import MAX_NAME, NAME_PATTERN, SKILL_FILE, TOOLS_FILE

OK, INVALID = 0, 2

_SKILL_TEMPLATE = """---
name: {name}
description: {description}
---
# {title}

Write here what the agent should do when this skill applies, step by step.
The agent reads this only after it opens the skill with open_skill("{name}").

- Put reference documents next to this file; the agent reads them with
  read_skill_resource("{name}", "reference.md").
- Put scripts in scripts/; the agent runs them with
  run_skill_script("{name}", "scripts/check.py", ["arg"]).
- Put @tool functions in tools.py; they become tools when the skill is opened.
"""

_TOOLS_TEMPLATE = '''"""Tools of the {name} skill: registered when the agent opens the skill."""

from loom.tools import tool


@tool(effects={{"read"}})
def {function}_example(text: str) -> str:
    """Describe what this tool does, for the model.

    Args:
        text: what the tool works on.
    """
    return text
'''


def list_skills(settings: SkillsSettings | None = None, workspace: Path | None = None) -> Discovery:
    """The skills a run in ``workspace`` would see, and the errors of invalid ones."""
    return discover(settings or SkillsSettings(), (workspace or Path.cwd()).resolve())


def scaffold(name: str, root: Path | None = None, *, description: str = "",
             with_tools: bool = False) -> Path:
    """Create ``root/NAME/SKILL.md`` (root defaults to ``.loom/skills``); returns the folder.

    Raises ConfigError for an invalid name or an existing folder.
    """
    if not NAME_PATTERN.match(name) or len(name) > MAX_NAME:
        raise ConfigError(f"{name!r} is not a valid skill name: use lowercase letters, digits and "
                          f"single hyphens, at most {MAX_NAME} characters", key="name")
    folder = (root or Path(".loom") / "skills") / name
    if folder.exists():
        raise ConfigError("a skill folder already exists here; choose another name", file=str(folder))
    folder.mkdir(parents=True)
    text = description.strip() or f"TODO: say what {name} does and when the agent should open it."
    (folder / SKILL_FILE).write_text(_SKILL_TEMPLATE.format(
        name=name, description=json.dumps(text), title=name.replace("-", " ").capitalize()),
        encoding="utf-8")
    (folder / "scripts").mkdir()
    if with_tools:
        (folder / TOOLS_FILE).write_text(
            _TOOLS_TEMPLATE.format(name=name, function=name.replace("-", "_")), encoding="utf-8")
    return folder


def _settings(args: argparse.Namespace) -> SkillsSettings:
    config = load_config(getattr(args, "config", None))
    settings = config.validate_settings(SETTINGS_NAME, SkillsSettings)
    assert isinstance(settings, SkillsSettings)
    return settings


def _rows(found: Discovery) -> list[dict[str, Any]]:
    return [{"name": s.name, "description": s.description, "folder": str(s.folder),
             "origin": s.origin, "tools": s.tools_file is not None, "scripts": s.scripts()}
            for s in found.skills.values()]


def cmd_skills(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """``loom skills [--json]`` and ``loom skills new NAME [--dir DIR] [--tools]``."""
    out = out or sys.stdout
    err = err or sys.stderr
    if getattr(args, "skills_command", None) == "new":
        try:
            folder = scaffold(args.name, Path(args.dir) if args.dir else None,
                              description=args.description or "", with_tools=args.tools)
        except ConfigError as exc:
            print(f"loom: {exc}", file=err)
            return INVALID
        print(f"created {folder / SKILL_FILE}", file=out)
        return OK
    settings = _settings(args)
    found = list_skills(settings)
    rows = _rows(found)
    if getattr(args, "json", False):
        print(json.dumps({"skills": rows, "errors": [str(e) for e in found.errors]}, indent=2), file=out)
    elif rows:
        width = max(len(r["name"]) for r in rows)
        for row in rows:
            summary = " ".join(row["description"].split())
            summary = summary if len(summary) <= 70 else summary[:67] + "..."
            print(f"{row['name']:<{width}}  {summary}  ({row['origin']})", file=out)
    else:
        print("no skills found (looked in: " + ", ".join(settings.paths)
              + ", and the loom.skills entry points)", file=out)
    for error in found.errors:
        print(f"loom: invalid skill: {error}", file=err)
    return INVALID if found.errors else OK
