"""``[settings.tools-builtin]``: limits of the built-in tools."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

#: The ``[settings.<name>]`` table these tools read.
SETTINGS_NAME = "tools-builtin"


class BuiltinToolsSettings(BaseModel):
    """Limits of the built-in tools.

    ``shell_timeout`` is the default time a shell command may take, in
    seconds (a call may ask for less or more, up to ``shell_max_timeout``);
    a command that runs over is killed with its whole process group.
    ``output_cap`` is the number of characters of output a shell command,
    ``grep`` or ``glob`` returns. ``max_file_bytes`` is the largest file
    ``read`` and ``grep`` open. ``shell`` is the shell program commands run
    with (as ``shell -c command``), in the workspace root.
    """

    model_config = ConfigDict(extra="forbid")

    shell_timeout: float = Field(default=30.0, gt=0)
    shell_max_timeout: float = Field(default=600.0, gt=0)
    output_cap: int = Field(default=30_000, ge=100)
    max_file_bytes: int = Field(default=2_000_000, ge=1)
    max_results: int = Field(default=1_000, ge=1)
    shell: str = "/bin/sh"


def settings_of(run: Any) -> BuiltinToolsSettings:
    """The validated settings of ``run`` (defaults when there is no table)."""
    settings = run.settings(SETTINGS_NAME) if run is not None else None
    return settings if isinstance(settings, BuiltinToolsSettings) else BuiltinToolsSettings()
