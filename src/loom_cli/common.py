"""Helpers shared by the commands: configuration, stage checks, profiles, display."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

from loom.config import LoomConfig, load_config
from loom.errors import did_you_mean
from loom.events import Event
from loom.plugins import PluginManager
from loom.profile import BUILTIN_PRESETS, AgentProfile
from pydantic import ValidationError

#: ``[stages]`` key → the registry stage its names refer to.
STAGE_KEYS: dict[str, str] = {
    "provider": "provider",
    "fallback": "provider",
    "compression": "compression",
    "store": "store",
    "sensors": "sensors",
    "event_sinks": "event_sinks",
    "tool_sources": "tool_sources",
    "evolution": "evolution",
}

#: Entry-point name of the plugin whose formatter the progress display uses.
CONSOLE_PLUGIN = "events-console"


def config_from(args: argparse.Namespace) -> LoomConfig:
    """The configuration named by ``--config`` (or found as usual)."""
    return load_config(getattr(args, "config", None))


def check_stages(manager: PluginManager, config: LoomConfig) -> None:
    """Every name in ``[stages]`` must name an installed record (ConfigError otherwise)."""
    stages = config.stages
    for key, stage in STAGE_KEYS.items():
        value = getattr(stages, key)
        names = [value] if isinstance(value, str) else list(value or [])
        if key == "store" and value == "none":  # persistence turned off
            continue
        records = manager.records(stage)
        for name in names:
            if name not in records:
                raise config.error(
                    f"no {stage} record named {name!r}{did_you_mean(name, records)}; "
                    f"installed: {', '.join(sorted(records)) or 'none'}", f"stages.{key}")


def build_profile(config: LoomConfig, manager: PluginManager, preset: str | None = None,
                  **overrides: Any) -> AgentProfile:
    """The agent profile: preset, then ``[profile]`` values, then ``overrides``.

    Plugin presets come from ``manager`` (so blocked plugins stay unimported).
    """
    values = dict(config.data.profile)
    configured = values.pop("preset", "default")
    name = preset or configured
    base = BUILTIN_PRESETS.get(name)
    plugin_presets = {n: dict(getattr(r, "values", {}))
                      for n, r in manager.records("presets").items()}
    if base is None:
        base = plugin_presets.get(name)
    if base is None:
        known = sorted(BUILTIN_PRESETS) + sorted(plugin_presets)
        message = f"unknown preset {name!r}{did_you_mean(name, known)}; known: {', '.join(known)}"
        if preset:
            raise config.error(message + " (from --preset)", "profile.preset")
        raise config.error(message, "profile.preset")
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return AgentProfile(**{"name": name, **base, **values, **given})
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise config.error(f"{err['msg']} (got {err.get('input')!r})", f"profile.{loc}") from None


def use_color(stream: Any) -> bool:
    """Colour when ``stream`` is a terminal and ``NO_COLOR`` is not set."""
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def make_formatter(manager: PluginManager | None, verbosity: int, *,
                   show_output: bool = False) -> Callable[[Event], str | None]:
    """The console plugin's formatter when that plugin is loaded, else a plain one.

    A blocked console plugin is never imported: the plain formatter is used.
    """
    color = use_color(sys.stderr)
    info = manager.infos.get(CONSOLE_PLUGIN) if manager is not None else None
    if info is not None and info.status == "loaded":
        try:
            from loom_events_console.format import EventFormatter
        except ImportError:
            pass
        else:
            return EventFormatter(verbosity, color=color, show_output=show_output).format
    return _plain_formatter(verbosity, show_output)


def _plain_formatter(verbosity: int, show_output: bool) -> Callable[[Event], str | None]:
    quiet = {"reason.delta", "reason.started", "step.finished", "reason.finished"}
    essential = {"run.started", "run.finished", "run.stopping", "approval.requested",
                 "approval.resolved", "plugin.error", "provider.error"}

    def format_event(event: Event) -> str | None:
        if verbosity < 2 and event.kind in quiet:
            return None
        if verbosity < 1 and event.kind not in essential:
            return None
        data = {k: v for k, v in event.data.items() if show_output or k != "output"}
        return f"[{event.seq}] {event.kind} {data}"

    return format_event


def event_json(event: Event) -> str:
    """One event as a JSON line."""
    import json

    return json.dumps(event.model_dump(), ensure_ascii=False, default=str)
