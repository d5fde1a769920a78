"""``loom runs`` and ``loom show RUN``: read past runs from the store plugin.

The store is the :class:`~loom.records.StoreRecord` named by ``[stages] store``
(or the only one installed), built as the kernel builds it for persistence.
These commands use four methods of the kernel's store contract
(``loom.store.RunStore``): ``open()``, ``list_runs(limit)`` (run infos with
``run_id``, ``status``, ``goal``, ``created_at``), ``load_run(run_id)`` (a
stored run with its ``events``, or None) and ``close()``. Without a store
plugin they say so and exit with code 3.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Mapping
from typing import Any

from loom.config import LoomConfig
from loom.errors import LoomError, PluginError
from loom.events import Event
from loom.plugins import PluginManager

from loom_cli import exitcodes
from loom_cli.common import check_stages, config_from, event_json, make_formatter

NO_STORE = ("no store plugin is installed: `loom {command}` reads past runs from a plugin that "
            "registers a store (hook loom_register_stores); install one and select it with "
            "[stages] store in loom.toml")
STORE_OFF = ('the store is turned off ([stages] store = "none"): `loom {command}` has no past '
             "runs to read")
_METHODS = ("open", "close", "list_runs", "load_run")


class NoStore(Exception):
    """No store is installed or selected; the message says which."""


def open_store(manager: PluginManager, config: LoomConfig, command: str) -> tuple[str, Any]:
    """Build the selected store (not yet opened)."""
    records = manager.records("store")
    name = config.stages.store
    if name == "none":
        raise NoStore(STORE_OFF.format(command=command))
    if name is None:
        if not records:
            raise NoStore(NO_STORE.format(command=command))
        if len(records) > 1:
            raise config.error(f"several stores are installed ({', '.join(sorted(records))}); "
                               "choose one", "stages.store")
        name = next(iter(records))
    record = manager.record("store", name)
    try:
        factory = record.load_factory()
        settings = manager.settings_for(record.name)
        store = factory(settings) if record.settings is not None else factory()
    except Exception as exc:
        raise PluginError(f"store {name!r} could not be built: {type(exc).__name__}: {exc}",
                          plugin=record.plugin) from exc
    missing = [m for m in _METHODS if not callable(getattr(store, m, None))]
    if missing:
        raise PluginError(f"store {name!r} (plugin {record.plugin!r}) lacks "
                          f"{', '.join(m + '()' for m in missing)} of the store contract",
                          plugin=record.plugin)
    return name, store


async def _with_store(store: Any, name: str, plugin: str, action: Any) -> Any:
    try:
        await store.open()
    except Exception as exc:
        raise PluginError(f"store {name!r} could not be opened: {type(exc).__name__}: {exc}",
                          plugin=plugin) from exc
    try:
        return await action(store)
    finally:
        await store.close()


def _field(item: Any, key: str) -> Any:
    return item.get(key) if isinstance(item, Mapping) else getattr(item, key, None)


def _when(stamp: Any) -> str:
    if isinstance(stamp, int | float) and stamp:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(stamp)))
    return "-"


def _store_for(args: argparse.Namespace, command: str) -> tuple[PluginManager, str, Any] | int:
    config = config_from(args)
    manager = PluginManager(config).load()
    check_stages(manager, config)
    try:
        name, store = open_store(manager, config, command)
    except NoStore as exc:
        print(f"loom: {exc}", file=sys.stderr)
        return exitcodes.PLUGIN
    return manager, name, store


def cmd_runs(args: argparse.Namespace) -> int:
    """List past runs, newest first."""
    found = _store_for(args, "runs")
    if isinstance(found, int):
        return found
    manager, name, store = found
    plugin = manager.record("store", name).plugin

    async def read(s: Any) -> list[Any]:
        return list(await s.list_runs(args.limit) or [])

    runs = asyncio.run(_with_store(store, name, plugin, read))[: args.limit]
    rows = [{key: _field(r, key) for key in ("run_id", "status", "created_at", "goal", "reason",
                                             "error", "parent_id")} for r in runs]
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
    elif not rows:
        print(f"no runs stored yet (store {name!r})")
    else:
        print(f"{'RUN':<18}  {'STATUS':<10}  {'CREATED':<19}  GOAL")
        for row in rows:
            goal = " ".join(str(row["goal"] or "").split())
            if row["parent_id"]:
                goal = f"(sub-agent of {row['parent_id']}) {goal}"
            print(f"{row['run_id']!s:<18}  {row['status']!s:<10}  {_when(row['created_at']):<19}"
                  f"  {goal[:70]}")
    return exitcodes.OK


def _stored_run(args: argparse.Namespace, command: str) -> tuple[PluginManager, Any] | int:
    """The plugin manager and the stored run ``args.run_id``, or an exit code (said on stderr)."""
    found = _store_for(args, command)
    if isinstance(found, int):
        return found
    manager, name, store = found
    plugin = manager.record("store", name).plugin

    async def read(s: Any) -> Any:
        return await s.load_run(args.run_id)

    stored = asyncio.run(_with_store(store, name, plugin, read))
    if stored is None:
        print(f"loom: no run {args.run_id!r} in store {name!r} (see `loom runs`)", file=sys.stderr)
        return exitcodes.USAGE
    return manager, stored


def cmd_replay(args: argparse.Namespace) -> int:
    """Replay a stored run offline and compare its events with the recording."""
    try:
        from loom_memory_sqlite.replay import comparable, replay
    except ModuleNotFoundError:
        print("loom: replay needs the loom-memory-sqlite distribution", file=sys.stderr)
        return exitcodes.PLUGIN
    found = _stored_run(args, "replay")
    if isinstance(found, int):
        return found
    _, stored = found
    try:
        config = config_from(args)
        document = config.data.model_dump(exclude_none=True)
        replayed = asyncio.run(replay(stored, config=document, entry_points=True))
    except LoomError as exc:
        print(f"loom: replay diverged: {exc}", file=sys.stderr)
        return exitcodes.RUN_FAILED
    same = comparable(replayed.events) == comparable(stored.events)
    print(f"replayed {args.run_id}: {replayed.result.status}, {len(replayed.events)} events, "
          f"{'identical to' if same else 'different from'} the recording "
          f"({len(stored.events)} events)")
    if replayed.result.output:
        print(replayed.result.output)
    return exitcodes.OK if same else exitcodes.RUN_FAILED


def cmd_context(args: argparse.Namespace) -> int:
    """Chart a stored run's context pressure and compression events."""
    try:
        from loom_compress_common.dashboard import render_html, render_terminal
    except ModuleNotFoundError:
        print("loom: the context dashboard needs the loom-compress-common distribution",
              file=sys.stderr)
        return exitcodes.PLUGIN
    found = _stored_run(args, "context")
    if isinstance(found, int):
        return found
    _, stored = found
    events = list(_field(stored, "events") or [])
    print(render_terminal(events))
    if args.html:
        from pathlib import Path

        Path(args.html).write_text(render_html(events, title=f"Context of run {args.run_id}"))
        print(f"wrote {args.html}")
    return exitcodes.OK


def cmd_show(args: argparse.Namespace) -> int:
    """Print the events of one stored run."""
    found = _stored_run(args, "show")
    if isinstance(found, int):
        return found
    manager, stored = found
    events = [e if isinstance(e, Event) else Event.model_validate(e)
              for e in _field(stored, "events") or []]
    format_event = make_formatter(manager, 2 + args.verbose, show_output=True)
    for event in events:
        line = event_json(event) if args.json else format_event(event)
        if line is not None:
            print(line)
    return exitcodes.OK
