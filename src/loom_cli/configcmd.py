"""``loom config check``: validate configuration and plugins, print the effective setup."""

from __future__ import annotations

import argparse
import json
import os
import re
from typing import Any

from loom.api import PROVIDER_KEYS
from loom.config import ENV_PREFIX, LoomConfig
from loom.plugins import PluginManager

from loom_cli import exitcodes
from loom_cli.common import build_profile, check_stages, config_from

_PROFILE_KEYS = ("name", "mode", "model", "max_steps", "max_total_tokens", "max_wall_seconds",
                 "max_usd", "max_tokens_per_call", "stream", "tools")


_SECRET = re.compile(r"(^|_)(key|secret|password|passwd|token|auth|credentials?)$", re.I)


def _value(value: Any, key: str = "") -> str:
    if value is None:
        return "(unset)"
    if _SECRET.search(key):
        return "(set, hidden)"
    return json.dumps(value, default=str)


def effective_provider(manager: PluginManager, config: LoomConfig) -> str:
    """Which provider ``loom run`` would use, and why."""
    records = manager.records("provider")
    if config.stages.provider:
        return f"{config.stages.provider} (from [stages] provider)"
    for env, name in PROVIDER_KEYS:
        if os.environ.get(env) and name in records:
            return f"{name} (because {env} is set)"
    if len(records) == 1:
        return f"{next(iter(records))} (the only provider installed)"
    if not records:
        return "none: no provider plugin is installed (`loom run` exits with code 4)"
    return (f"none selected among {', '.join(sorted(records))}: set [stages] provider or an "
            "API key (`loom run` exits with code 4)")


def _stage_line(manager: PluginManager, key: str, stage: str, value: Any, default: str) -> str:
    if value is None or value == []:
        installed = sorted(manager.records(stage))
        return f"  {key}: {default}" + (f" (installed: {', '.join(installed)})"
                                        if installed else " (none installed)")
    shown = ", ".join(value) if isinstance(value, list) else str(value)
    return f"  {key}: {shown}"


def describe(manager: PluginManager, config: LoomConfig) -> list[str]:
    """The effective configuration as lines of text."""
    lines = [f"configuration: {config.source or 'none found (defaults)'}"]
    env = sorted(n for n in os.environ if n.startswith(ENV_PREFIX) and "__" in n)
    if env:
        lines.append(f"environment overrides: {', '.join(env)}")
    plugins = config.plugins
    lines.append("plugins:")
    for status in ("loaded", "blocked", "not enabled"):
        names = sorted(i.name for i in manager.infos.values() if i.status == status)
        lines.append(f"  {status}: {', '.join(names) or 'none'}")
    for key in ("disable", "enable", "require", "paths", "modules"):
        value = getattr(plugins, key)
        if value:
            lines.append(f"  [plugins] {key} = {_value(value)}")
    stages = config.stages
    lines.append("stages:")
    lines.append(f"  provider: {effective_provider(manager, config)}")
    lines.append(f"  model: {stages.model or '(provider default)'}")
    if stages.fallback:
        lines.append(f"  fallback: {', '.join(stages.fallback)}")
    lines.append(_stage_line(manager, "compression", "compression", stages.compression,
                             "every installed level, lowest threshold first"))
    lines.append(_stage_line(manager, "store", "store", stages.store,
                             "the only installed store (none when there are several)"))
    lines.append(_stage_line(manager, "sensors", "sensors", stages.sensors, "every installed"))
    lines.append(_stage_line(manager, "event_sinks", "event_sinks", stages.event_sinks, "none"))
    lines.append(_stage_line(manager, "tool_sources", "tool_sources", stages.tool_sources,
                             "every installed"))
    lines.append(_stage_line(manager, "evolution", "evolution", stages.evolution,
                             "every installed"))
    profile = build_profile(config, manager)
    lines.append("profile:")
    for key in _PROFILE_KEYS:
        lines.append(f"  {key} = {_value(getattr(profile, key))}")
    lines.append("settings:")
    owners = {}
    for records in manager.registry.values():
        for record in records.values():
            if record.settings is not None:
                owners[record.name] = record.plugin
    if not owners:
        lines.append("  (no plugin declares settings)")
    for name in sorted(owners):
        settings = manager.settings_for(name)
        where = config.source.name if config.source else "the environment"
        source = where if name in config.settings else "defaults"
        lines.append(f"  [settings.{name}] (plugin {owners[name]}, from {source})")
        for key, value in settings.model_dump().items():
            lines.append(f"    {key} = {_value(value, key)}")
    return lines


def cmd_config_check(args: argparse.Namespace) -> int:
    """Validate and print the effective configuration."""
    config = config_from(args)
    manager = PluginManager(config).load()
    check_stages(manager, config)
    print("\n".join(describe(manager, config)))
    print("configuration OK")
    return exitcodes.OK
