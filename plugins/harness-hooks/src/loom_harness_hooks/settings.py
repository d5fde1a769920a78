"""``[settings.harness-hooks]``: the user's hook commands and callables."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: The ``[settings.<name>]`` table tier 2 reads.
SETTINGS_NAME = "harness-hooks"

When = Literal["before_tool", "after_tool", "run_start", "run_stop"]
OnError = Literal["deny", "ask"]
CALLABLE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


class HookSpec(BaseModel):
    """One hook: when it runs, for which tools, and what runs.

    Exactly one of ``command`` (an argument list, run without a shell in
    the workspace, given the event as JSON on standard input) and
    ``callable`` (``"package.module:function"``, given the event as a dict)
    must be set. ``match`` is a glob on the tool name (tool hooks only).
    ``timeout`` and ``on_error`` override the table-wide values.
    """

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    match: str = "*"
    when: When = "before_tool"
    command: list[str] | None = None
    callable: str | None = None
    timeout: float | None = Field(default=None, gt=0)
    on_error: OnError | None = None

    @model_validator(mode="after")
    def _one_target(self) -> HookSpec:
        if (self.command is None) == (self.callable is None):
            raise ValueError("a hook needs exactly one of command (a list of arguments) or "
                             "callable (\"module:function\")")
        if self.command is not None and (not self.command or not all(self.command)):
            raise ValueError("command must be a non-empty list of non-empty arguments, "
                             "e.g. [\"python3\", \"hooks/check.py\"]")
        if self.callable is not None and not CALLABLE.match(self.callable):
            raise ValueError(f"callable {self.callable!r} must look like \"package.module:function\"")
        return self

    @property
    def label(self) -> str:
        """The hook's name, or what it runs."""
        if self.name:
            return self.name
        return self.callable or " ".join(self.command or [])[:60]


class HooksSettings(BaseModel):
    """Settings of the hook policy.

    ``timeout`` (seconds) is how long a hook may take; a hook that crashes,
    hangs past its timeout or cannot be started decides ``on_error``
    (``"deny"``, the default, or ``"ask"``). An answer that is not a valid
    allow is never read as an allow.
    """

    model_config = ConfigDict(extra="forbid")

    hooks: list[HookSpec] = Field(default_factory=list)
    timeout: float = Field(default=10.0, gt=0)
    on_error: OnError = "deny"

    def for_event(self, when: str, tool: str | None = None) -> list[HookSpec]:
        """The hooks of one event (matching ``tool`` for tool events), in order."""
        from fnmatch import fnmatchcase

        return [h for h in self.hooks
                if h.when == when and (tool is None or fnmatchcase(tool, h.match))]


_DEFAULT = HooksSettings()


def settings_of(run: Any) -> HooksSettings:
    """The validated settings of ``run`` (no hooks when there is no table)."""
    settings = run.settings(SETTINGS_NAME)
    return settings if isinstance(settings, HooksSettings) else _DEFAULT
