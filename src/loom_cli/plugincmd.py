"""``loom plugins``: every plugin, its status, stages, hooks, records and code."""

from __future__ import annotations

import argparse
import importlib.util
import json
from typing import Any

from loom.hookspecs import HOOK_STAGES
from loom.plugins import PluginInfo, PluginManager

from loom_cli import exitcodes
from loom_cli.common import config_from

_ORIGINS = {"path": "(local file)", "module": "(module)", "object": "(in code)"}


def plugin_rows(manager: PluginManager) -> list[dict[str, Any]]:
    """One row per plugin, for the table and ``--json``."""
    rows = []
    for info in sorted(manager.infos.values(), key=lambda i: (i.origin != "entry-point", i.name)):
        stages = {HOOK_STAGES[h] for h in info.hooks if h in HOOK_STAGES}
        stages.update(r.split(":", 1)[0] for r in info.records)
        rows.append({
            "plugin": info.name,
            "distribution": info.distribution or _ORIGINS.get(info.origin, info.origin),
            "version": info.version,
            "status": info.status,
            "stages": sorted(stages),
            "hooks": list(info.hooks),
            "records": list(info.records),
            "location": info.location or _unimported_location(info),
            "origin": info.origin,
            "target": info.target,
        })
    return rows


def _unimported_location(info: PluginInfo) -> str:
    """Where a plugin's code lives, found without importing it."""
    top = info.target.split(":", 1)[0].split(".", 1)[0]
    if not top:
        return ""
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return ""
    if spec is None:
        return ""
    return spec.origin or ", ".join(spec.submodule_search_locations or [])


def _table(rows: list[dict[str, Any]]) -> str:
    headers = ["PLUGIN", "DISTRIBUTION", "VERSION", "STATUS", "STAGES"]
    cells = [[r["plugin"], r["distribution"], r["version"] or "-", r["status"],
              ", ".join(r["stages"]) or "-"] for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]

    def line(values: list[str]) -> str:
        return "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

    out = [line(headers)]
    for row, values in zip(rows, cells, strict=True):
        out.append(line(values))
        if row["status"] == "loaded":
            hooks = ", ".join(h.removeprefix("loom_") for h in row["hooks"]) or "none"
            out.append(f"    hooks:   {hooks}")
            out.append(f"    records: {', '.join(row['records']) or 'none'}")
        else:
            out.append(f"    hooks:   not imported ({row['status']}); entry point {row['target']}")
        out.append(f"    code:    {row['location'] or 'unknown'}")
    loaded = sum(r["status"] == "loaded" for r in rows)
    out.append("")
    out.append(f"{len(rows)} plugin(s), {loaded} loaded, {len(rows) - loaded} not loaded")
    return "\n".join(out)


def cmd_plugins(args: argparse.Namespace) -> int:
    """Print the plugin table (or JSON)."""
    manager = PluginManager(config_from(args)).load()
    rows = plugin_rows(manager)
    if args.json:
        print(json.dumps(rows, indent=2))
    elif not rows:
        print("no plugins installed")
    else:
        print(_table(rows))
    return exitcodes.OK
