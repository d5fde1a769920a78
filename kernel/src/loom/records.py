"""Named registration records that plugins return from ``register`` hooks.

Records are small and frozen. ``factory`` may be a callable or an import
string ``"package.module:attribute"`` so that a plugin's entry-point module
stays import-light: heavy dependencies (provider SDKs) load only when the
record is used. ``plugin`` is filled in by the plugin manager.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from pydantic import BaseModel

from loom.requests import ToolSpec


@dataclass(frozen=True)
class Record:
    """Base of every record: a name unique within its stage, and a factory.

    ``settings`` is the pydantic model validating ``[settings.<name>]``.
    """

    name: str
    factory: Callable[..., Any] | str | None = None
    settings: type[BaseModel] | None = None
    description: str = ""
    plugin: str = ""
    distribution: str = ""

    def load_factory(self) -> Callable[..., Any]:
        """Resolve ``factory`` (importing it when given as a string)."""
        if self.factory is None:
            raise TypeError(f"record {self.name!r} has no factory")
        if isinstance(self.factory, str):
            module, _, attr = self.factory.partition(":")
            obj: Any = importlib.import_module(module)
            for part in attr.split("."):
                obj = getattr(obj, part)
            return obj  # type: ignore[no-any-return]
        return self.factory

    def owned_by(self, plugin: str, distribution: str) -> Record:
        """A copy naming the plugin and distribution that registered it."""
        return replace(self, plugin=plugin, distribution=distribution)


@dataclass(frozen=True)
class ProviderRecord(Record):
    """A model provider.

    The factory builds a provider object (given the validated settings when
    ``settings`` is set). ``class_name`` is the name :mod:`loom.providers`
    exports (e.g. ``"AnthropicProvider"``) and ``cls`` the import string of
    that class, imported only when asked for.
    """

    class_name: str = ""
    cls: str = ""


@dataclass(frozen=True)
class CompressorRecord(Record):
    """A context compression level.

    ``threshold`` is the default pressure at which it runs; ``trigger`` is
    ``"pressure"`` (Observe phase), ``"overflow"`` (on a provider's context
    overflow error) or ``"renewal"`` (when nothing else relieved pressure).
    """

    threshold: float = 1.0
    trigger: Literal["pressure", "overflow", "renewal"] = "pressure"


@dataclass(frozen=True)
class ToolRecord(Record):
    """One tool: its spec, and ``factory`` is its handler.

    The handler is called as ``handler(arguments: dict, run)`` and returns (or
    awaits to) a string, a JSON-able value or a ToolResultBlock; raising makes
    an error result the model sees.
    """

    spec: ToolSpec | None = None

    @property
    def handler(self) -> Callable[..., Any]:
        """The callable that runs the tool."""
        return self.load_factory()


@dataclass(frozen=True)
class ToolSourceRecord(Record):
    """A source of tools discovered at session start (MCP server, skills).

    The factory returns an object with ``async list_tools() -> list[ToolRecord]``
    and optionally ``async close()``.
    """


@dataclass(frozen=True)
class SensorRecord(Record):
    """A background sensor; the factory returns an object with
    ``async start(run)``, ``poll() -> list[str]`` and ``async stop()``."""


@dataclass(frozen=True)
class StoreRecord(Record):
    """A durable store for sessions, runs, events, approvals and artifacts."""


@dataclass(frozen=True)
class MemoryRecord(Record):
    """A memory kind (session, working, semantic, persistent)."""


@dataclass(frozen=True)
class EventSinkRecord(Record):
    """An event sink; the factory returns an object with ``handle(event)``."""


@dataclass(frozen=True)
class EvolutionRecord(Record):
    """A learning strategy (E1–E4)."""


@dataclass(frozen=True)
class SettingsRecord(Record):
    """Declares the settings model for the ``[settings.<name>]`` table."""


@dataclass(frozen=True)
class PresetRecord(Record):
    """A named agent profile preset; ``values`` are AgentProfile fields."""

    values: dict[str, Any] = field(default_factory=dict)


#: Register hook name → the stage name its records belong to.
REGISTER_HOOKS: dict[str, str] = {
    "loom_register_providers": "provider",
    "loom_register_compressors": "compression",
    "loom_register_tools": "tools",
    "loom_register_tool_sources": "tool_sources",
    "loom_register_sensors": "sensors",
    "loom_register_stores": "store",
    "loom_register_memories": "memory",
    "loom_register_event_sinks": "event_sinks",
    "loom_register_evolution_strategies": "evolution",
    "loom_register_settings": "settings",
    "loom_register_presets": "presets",
}
