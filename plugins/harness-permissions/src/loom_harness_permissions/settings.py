"""``[settings.harness-permissions]``: rules per project and per profile, and thresholds."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from loom_harness_permissions.rules import RuleSpec, RuleSyntaxError, parse_rule

#: The ``[settings.<name>]`` table tier 3 reads.
SETTINGS_NAME = "harness-permissions"

RuleEntry = str | RuleSpec


def _check(entries: list[RuleEntry]) -> list[RuleEntry]:
    for entry in entries:
        try:
            parse_rule(entry, "deny")
        except RuleSyntaxError as exc:
            raise ValueError(str(exc)) from None
    return entries


class RuleTable(BaseModel):
    """Allow, ask and deny rules (``"tool"``, ``"tool(pattern)"`` or a rule table)."""

    model_config = ConfigDict(extra="forbid")

    allow: list[RuleEntry] = Field(default_factory=list)
    ask: list[RuleEntry] = Field(default_factory=list)
    deny: list[RuleEntry] = Field(default_factory=list)

    _validate = field_validator("allow", "ask", "deny")(_check)


class PermissionsSettings(RuleTable):
    """Settings of the permission decision.

    ``allow``/``ask``/``deny`` apply to every run of the project;
    ``profiles.<name>`` adds rules for runs whose profile has that name.
    ``rules_file`` (relative to the workspace; empty to turn off) holds the
    rules saved from "always allow" approvals, and is read as project rules.
    ``ask_at``: a risk (from tier 1) at or above it is asked about even in
    AUTO mode and for reads in DEFAULT mode, unless an allow rule matches.
    """

    profiles: dict[str, RuleTable] = Field(default_factory=dict)
    rules_file: str = ".loom/permissions.toml"
    save_always: bool = True
    ask_at: float = Field(default=0.7, ge=0.0, le=1.0)


_DEFAULT = PermissionsSettings()


def settings_of(run: Any) -> PermissionsSettings:
    """The validated settings of ``run`` (defaults when there is no table)."""
    settings = run.settings(SETTINGS_NAME)
    return settings if isinstance(settings, PermissionsSettings) else _DEFAULT
