"""Agent profiles: who the agent is and the limits it runs within."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from loom.errors import ConfigError, did_you_mean

Mode = Literal["DEFAULT", "PLAN", "AUTO"]

#: Modes from the most to the least restrictive.
MODE_ORDER: tuple[Mode, ...] = ("PLAN", "DEFAULT", "AUTO")

DEFAULT_SYSTEM = (
    "You are a careful autonomous agent. Work towards the goal step by step, "
    "use the tools you are given when they help, and answer plainly when done."
)

BUILTIN_PRESETS: dict[str, dict[str, Any]] = {
    "default": {},
    "readonly": {
        "mode": "PLAN",
        "system_prompt": DEFAULT_SYSTEM + " You may only read and propose; you change nothing.",
    },
    "autonomous": {"mode": "AUTO", "max_steps": 200},
    "quick": {"max_steps": 8, "max_tokens_per_call": 1024},
}


class AgentProfile(BaseModel):
    """Everything that shapes one agent: instructions, mode, tools and budgets.

    Budgets (``max_steps``, ``max_total_tokens``, ``max_wall_seconds``,
    ``max_usd``) are enforced by loop plugins through ``loom_should_stop``;
    ``max_steps`` is also a last-resort guard in the loop skeleton.
    """

    model_config = ConfigDict(extra="forbid")

    name: str = "default"
    system_prompt: str = DEFAULT_SYSTEM
    model: str | None = None
    mode: Mode = "DEFAULT"
    tools: list[str] | None = None
    max_steps: int = Field(default=50, ge=1)
    max_tokens_per_call: int = 4096
    max_total_tokens: int | None = None
    max_wall_seconds: float | None = None
    max_usd: float | None = None
    temperature: float | None = None
    stream: bool = False
    window_tokens: int | None = None
    output_reserve: int = 8192
    context_cap: int | None = None
    protected_turns: int = 2
    approval_timeout: float | None = None
    approval_timeout_decision: Literal["deny", "allow"] = "deny"
    fallback: list[str] = Field(default_factory=list)

    @classmethod
    def from_preset(cls, name: str = "default", **overrides: Any) -> AgentProfile:
        """A profile from a named preset (built-in or registered by a plugin).

        Built-in presets: ``default``, ``readonly`` (PLAN mode), ``autonomous``
        (AUTO mode), ``quick`` (few, short steps).
        """
        values = BUILTIN_PRESETS.get(name)
        if values is None:
            values = _plugin_presets().get(name)
        if values is None:
            known = sorted(BUILTIN_PRESETS) + sorted(_plugin_presets())
            raise ConfigError(f"unknown preset {name!r}{did_you_mean(name, known)}; "
                              f"known: {', '.join(known)}", key="profile.preset")
        return cls(**{"name": name, **values, **overrides})


def stricter_mode(a: Mode, b: Mode) -> Mode:
    """The more restrictive of two modes (PLAN < DEFAULT < AUTO)."""
    return a if MODE_ORDER.index(a) <= MODE_ORDER.index(b) else b


def _smaller(parent: Any, child: Any) -> Any:
    """The tighter of two optional limits (None means unlimited)."""
    if parent is None:
        return child
    return parent if child is None else min(parent, child)


def narrow(parent: AgentProfile, child: AgentProfile | None = None) -> AgentProfile:
    """A sub-agent's profile: ``child`` (or the parent's), never wider than ``parent``.

    The mode is the stricter of the two; the tools are a subset of the
    parent's (when the parent names its tools); step, token, time and cost
    budgets are at most the parent's; a parent that denies on approval
    timeout makes the child deny too. Everything else (instructions, model,
    window) may differ. The kernel applies this to every run started with a
    parent, whatever plugin starts it.
    """
    if child is None:
        return parent.model_copy()
    tools = child.tools
    if parent.tools is not None:
        allowed = set(parent.tools)
        tools = [t for t in (parent.tools if tools is None else tools) if t in allowed]
    decision = child.approval_timeout_decision
    if parent.approval_timeout_decision == "deny":
        decision = "deny"
    return child.model_copy(update={
        "mode": stricter_mode(child.mode, parent.mode),
        "tools": tools,
        "max_steps": min(child.max_steps, parent.max_steps),
        "max_total_tokens": _smaller(parent.max_total_tokens, child.max_total_tokens),
        "max_wall_seconds": _smaller(parent.max_wall_seconds, child.max_wall_seconds),
        "max_usd": _smaller(parent.max_usd, child.max_usd),
        "approval_timeout_decision": decision,
    })


def _plugin_presets() -> dict[str, dict[str, Any]]:
    from loom.config import load_config
    from loom.plugins import PluginManager

    manager = PluginManager(load_config()).load()  # honours [plugins] disable
    return {name: dict(getattr(rec, "values", {})) for name, rec in manager.records("presets").items()}
