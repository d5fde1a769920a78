"""Loom: a plugin-first microkernel for autonomous LLM agents.

``import loom`` is deliberately light: it imports no plugin and no provider
SDK. The public API lives in :mod:`loom.api` (``AgentRuntime``,
``AgentProfile``); the hook contract in :mod:`loom.hookspecs`; plugin
helpers in :mod:`loom.records`, :mod:`loom.tools` and :mod:`loom.testing`.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "AgentRuntime": "loom.api",
    "AgentProfile": "loom.profile",
    "Run": "loom.run",
    "RunResult": "loom.run",
    "run_sync": "loom.api",
    "hookimpl": "loom.hookspecs",
    "tool": "loom.tools",
}

__all__ = ["__version__", *sorted(_LAZY)]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'loom' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
