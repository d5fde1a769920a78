"""Provider classes, resolved from installed plugins by name.

``from loom.providers import AnthropicProvider`` finds the provider record
whose ``class_name`` is ``AnthropicProvider`` among the installed plugins and
imports only that class (no other provider SDK is imported).
"""

from __future__ import annotations

import importlib
from typing import Any

from loom.errors import did_you_mean


def _provider_classes() -> dict[str, str]:
    from loom.config import load_config
    from loom.plugins import PluginManager

    manager = PluginManager(load_config()).load()  # honours [plugins] disable
    out: dict[str, str] = {}
    for record in manager.records("provider").values():
        name = getattr(record, "class_name", "")
        target = getattr(record, "cls", "") or (record.factory if isinstance(record.factory, str) else "")
        if name and target:
            out[name] = target
    return out


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    classes = _provider_classes()
    if name not in classes:
        raise ImportError(
            f"no installed provider plugin exports {name!r}{did_you_mean(name, classes)}; "
            f"available: {', '.join(sorted(classes)) or 'none (pip install a loom-provider-* package)'}"
        )
    module, _, attr = classes[name].partition(":")
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(_provider_classes())
