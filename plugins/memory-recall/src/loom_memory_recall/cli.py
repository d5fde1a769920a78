"""``loom memory list|add|search|forget``: the memories agents recall, from the command line.

The database and the embedder come from ``[settings.memory]`` of the
configuration (``--config``, or the nearest ``loom.toml``). Exit codes
follow the ``loom`` command: 0 success, 2 a usage or configuration error or
an unknown memory id.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from typing import Any

from loom.config import load_config

from loom_memory_recall.errors import RecallError
from loom_memory_recall.items import MemoryItem
from loom_memory_recall.service import SETTINGS_NAME
from loom_memory_recall.settings import MemorySettings

OK, INVALID = 0, 2


def cmd_memory(args: argparse.Namespace) -> int:
    """Run one ``loom memory`` subcommand."""
    command = getattr(args, "memory_command", None)
    if command is None:
        print("loom memory: choose list, add, search or forget (see loom memory --help)",
              file=sys.stderr)
        return INVALID
    config = load_config(getattr(args, "config", None))
    settings = config.validate_settings(SETTINGS_NAME, MemorySettings)
    assert isinstance(settings, MemorySettings)
    from loom_memory_recall.api import MemoryAPI

    try:
        with MemoryAPI.from_settings(settings) as memory:
            if command == "list":
                _show(memory.recent(args.limit, kind=args.kind, tag=args.tag), args.json)
            elif command == "add":
                item = memory.add(args.text, tags=args.tag or [], author="user",
                                  source=args.source or "added with loom memory add")
                print(json.dumps(_json(item)) if args.json else f"kept as memory {item.id}")
            elif command == "search":
                hits = memory.search(args.query, args.k)
                if args.json:
                    print(json.dumps([{**_json(h.item), "score": round(h.score, 4)} for h in hits]))
                for hit in [] if args.json else hits:
                    print(f"{hit.score:5.2f}  {hit.item.line()}")
            elif command == "forget":
                item = memory.forget(args.memory_id)
                print(f"forgot memory {item.id}: {item.text}")
    except RecallError as exc:
        print(f"loom memory: {exc}", file=sys.stderr)
        return INVALID
    return OK


def _json(item: MemoryItem) -> dict[str, Any]:
    return {**asdict(item), "tags": list(item.tags)}


def _show(items: list[MemoryItem], as_json: bool) -> None:
    if as_json:
        print(json.dumps([_json(item) for item in items]))
        return
    if not items:
        print("no memories")
    for item in items:
        print(item.line())
