"""A Loom veto plugin: deny tool calls whose name and arguments match patterns."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

from loom.hookspecs import hookimpl
from loom.records import SettingsRecord
from loom.verdicts import ProposedAction, Verdict
from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from loom.run import Run

NAME = "deny-pattern"


class DenyPatternSettings(BaseModel):
    """The ``[settings.deny-pattern]`` table."""

    tools: list[str] = Field(default_factory=list, description="tool name patterns to check")
    arguments: str = Field(default="*", description="pattern one argument value must match")


@hookimpl
def loom_register_settings() -> list[SettingsRecord]:
    """Declare the settings model for ``[settings.deny-pattern]``."""
    return [SettingsRecord(name=NAME, settings=DenyPatternSettings)]


@hookimpl(tryfirst=True)
def loom_veto(action: ProposedAction, run: Run) -> Verdict | None:
    """Deny a call when its tool name and one argument value match the patterns."""
    settings: DenyPatternSettings = run.settings(NAME)
    for pattern in settings.tools:
        if not fnmatchcase(action.tool, pattern):
            continue
        values = [str(value) for value in action.arguments.values()] or [""]
        if any(fnmatchcase(value, settings.arguments) for value in values):
            return Verdict.deny(
                f"tool {action.tool!r} with an argument matching {settings.arguments!r} "
                "is not allowed here",
                rule=pattern,
            )
    return None
