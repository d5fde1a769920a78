"""The plugin manager: a typed facade over pluggy.

Start-up, in order, so that nothing is half started when something is wrong:

1. discover entry points in group ``loom`` (metadata only, nothing imported);
2. check ``[plugins]`` names against what was discovered (did-you-mean);
3. block disabled plugins, then import and register the rest, then local
   plugin modules (``paths``/``modules``) and plugin objects given in code;
4. validate every implementation against the contract (unknown hook,
   wrong argument names, pluggy wrappers);
5. collect records from the ``register`` hooks (duplicates name both plugins);
6. validate ``[settings.*]`` with each plugin's settings model.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import importlib_metadata
import pluggy
from pydantic import BaseModel

from loom import hookspecs
from loom.config import LoomConfig, load_config
from loom.dispatch import Dispatcher
from loom.errors import (
    DuplicateRecordError,
    PluginLoadError,
    PluginValidationError,
    StageError,
    did_you_mean,
)
from loom.records import REGISTER_HOOKS, Record

ENTRY_POINT_GROUP = "loom"


@dataclass
class PluginInfo:
    """What ``loom plugins`` shows about one plugin."""

    name: str
    distribution: str = ""
    version: str = ""
    origin: str = "entry-point"
    target: str = ""
    status: str = "discovered"
    location: str = ""
    hooks: list[str] = field(default_factory=list)
    records: list[str] = field(default_factory=list)


class _LoomPluggyManager(pluggy.PluginManager):
    """pluggy manager that also accepts unmarked ``loom_*`` functions (like pytest)."""

    def parse_hookimpl_opts(self, plugin: Any, name: str) -> pluggy.HookimplOpts | None:
        opts = super().parse_hookimpl_opts(plugin, name)
        if opts is None and name.startswith("loom_"):
            member = getattr(plugin, name, None)
            if inspect.isroutine(member):
                return pluggy.HookimplOpts(
                    wrapper=False, hookwrapper=False, optionalhook=False,
                    tryfirst=False, trylast=False, specname=None,
                )
        return opts


def _spec_args(hook: str) -> list[str]:
    fn = getattr(hookspecs, hook)
    return list(inspect.signature(fn).parameters)


class PluginManager:
    """Discovers, loads, validates and indexes Loom plugins."""

    def __init__(
        self,
        config: LoomConfig | None = None,
        *,
        plugins: Iterable[Any] = (),
        entry_points: bool = True,
    ) -> None:
        self.config = config or load_config(data={})
        self.pm = _LoomPluggyManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.dispatcher = Dispatcher(self.pm)
        self.infos: dict[str, PluginInfo] = {}
        self.registry: dict[str, dict[str, Record]] = {s: {} for s in REGISTER_HOOKS.values()}
        self._settings: dict[str, BaseModel] = {}
        self._extra = list(plugins)
        self._use_entry_points = entry_points
        self.loaded = False

    # ------------------------------------------------------------ discovery

    def discover(self) -> dict[str, PluginInfo]:
        """Entry points in group ``loom``, without importing any of them."""
        found: dict[str, PluginInfo] = {}
        if not self._use_entry_points:
            return found
        for ep in importlib_metadata.entry_points(group=ENTRY_POINT_GROUP):
            dist = ep.dist
            info = PluginInfo(
                name=ep.name,
                distribution=dist.name if dist else "",
                version=dist.version if dist else "",
                target=ep.value,
            )
            other = found.get(ep.name)
            if other is not None and other.distribution != info.distribution:
                raise DuplicateRecordError(
                    f"plugin name {ep.name!r} is used by two distributions: "
                    f"{other.distribution!r} and {info.distribution!r}",
                    plugin=ep.name,
                )
            found[ep.name] = info
        return found

    # ---------------------------------------------------------------- load

    def load(self) -> PluginManager:
        """Load everything (see the module docstring). Idempotent."""
        if self.loaded:
            return self
        discovered = self.discover()
        self._check_names(discovered)
        cfg = self.config.plugins
        entry_points = {ep.name: ep for ep in importlib_metadata.entry_points(group=ENTRY_POINT_GROUP)} \
            if self._use_entry_points else {}
        for name, info in discovered.items():
            self.infos[name] = info
            if name in cfg.disable or (cfg.enable is not None and name not in cfg.enable
                                        and name not in cfg.require):
                self.pm.set_blocked(name)
                info.status = "blocked" if name in cfg.disable else "not enabled"
                continue
            try:
                module = entry_points[name].load()
            except Exception as exc:
                raise PluginLoadError(
                    f"plugin {name!r} (distribution {info.distribution!r}) failed to import "
                    f"{info.target!r}: {type(exc).__name__}: {exc}",
                    plugin=name,
                ) from exc
            self._register(name, module, info)
        for raw in cfg.paths:
            self._load_path(raw)
        for module_name in cfg.modules:
            self._load_module(module_name)
        for item in self._extra:
            name, plugin = item if isinstance(item, tuple) else (_object_name(item), item)
            self._register(name, plugin, PluginInfo(name=name, origin="object"))
        for name in cfg.require:
            required = self.infos.get(name)
            if required is None or required.status != "loaded":
                raise self.config.error(f"required plugin {name!r} is not loaded", "plugins.require")
        self._collect_records()
        self._validate_settings()
        self.loaded = True
        return self

    def _check_names(self, discovered: dict[str, PluginInfo]) -> None:
        cfg = self.config.plugins
        for key, names in (("disable", cfg.disable), ("enable", cfg.enable or []),
                           ("require", cfg.require)):
            for name in names:
                if name not in discovered and not (key == "require" and self._extra):
                    raise self.config.error(
                        f"unknown plugin {name!r}{did_you_mean(name, discovered)}; installed: "
                        f"{', '.join(sorted(discovered)) or 'none'}",
                        f"plugins.{key}",
                    )

    def _load_path(self, raw: str) -> None:
        base = self.config.source.parent if self.config.source else Path.cwd()
        path = (base / raw).resolve()
        if not path.is_file():
            raise self.config.error(f"plugin file {raw!r} not found (looked at {path})",
                                    "plugins.paths")
        name = path.stem
        spec = importlib.util.spec_from_file_location(f"loom_local_plugin_{name}", path)
        if spec is None or spec.loader is None:
            raise self.config.error(f"cannot import {raw!r}", "plugins.paths")
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            raise PluginLoadError(
                f"local plugin {str(path)!r} failed to import: {type(exc).__name__}: {exc}",
                plugin=name,
            ) from exc
        self._register(name, module, PluginInfo(name=name, origin="path", target=str(path)))

    def _load_module(self, module_name: str) -> None:
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:
            raise PluginLoadError(
                f"plugin module {module_name!r} failed to import: {type(exc).__name__}: {exc}",
                plugin=module_name,
            ) from exc
        self._register(module_name, module,
                       PluginInfo(name=module_name, origin="module", target=module_name))

    def _register(self, name: str, plugin: Any, info: PluginInfo) -> None:
        self._validate(name, plugin)
        if self.pm.get_plugin(name) is not None or name in self.pm.get_plugins():
            raise DuplicateRecordError(f"a plugin named {name!r} is already registered",
                                       plugin=name)
        self.pm.register(plugin, name=name)
        self.dispatcher.invalidate()
        info.status = "loaded"
        info.location = _location(plugin)
        info.hooks = sorted(h for h in hookspecs.HOOK_KINDS if self._implements(plugin, h))
        self.infos[name] = info

    def _implements(self, plugin: Any, hook: str) -> bool:
        return self.pm.parse_hookimpl_opts(plugin, hook) is not None

    def _validate(self, name: str, plugin: Any) -> None:
        for attr in dir(plugin):
            if not attr.startswith("loom_"):
                continue
            opts = self.pm.parse_hookimpl_opts(plugin, attr)
            if opts is None:
                continue
            hook = opts.get("specname") or attr
            if hook not in hookspecs.HOOK_KINDS:
                raise PluginValidationError(
                    f"plugin {name!r} implements unknown hook {hook!r}"
                    f"{did_you_mean(hook, hookspecs.HOOK_KINDS)}",
                    plugin=name, hook=hook,
                )
            if opts.get("wrapper") or opts.get("hookwrapper"):
                wraps = ", ".join(h for h, k in hookspecs.HOOK_KINDS.items() if k == "wrap")
                raise PluginValidationError(
                    f"plugin {name!r}: {hook} is declared as a pluggy wrapper; Loom awaits "
                    "hooks itself and does not support pluggy wrappers. Implement one of the "
                    f"loom_wrap_* hooks ({wraps}) "
                    "and use its call_next instead.",
                    plugin=name, hook=hook,
                )
            allowed = _spec_args(hook)
            for arg in inspect.signature(getattr(plugin, attr)).parameters:
                if arg not in allowed:
                    raise PluginValidationError(
                        f"plugin {name!r}: {hook} has argument {arg!r} which the hook does not "
                        f"provide{did_you_mean(arg, allowed)}; allowed: {', '.join(allowed) or 'none'}",
                        plugin=name, hook=hook,
                    )

    # -------------------------------------------------------------- records

    def _collect_records(self) -> None:
        for hook, stage in REGISTER_HOOKS.items():
            for plugin, record in self.dispatcher.register(hook):
                if not isinstance(record, Record):
                    raise PluginValidationError(
                        f"plugin {plugin!r}: {hook} returned {type(record).__name__}, "
                        "expected a loom.records record",
                        plugin=plugin, hook=hook,
                    )
                dist = self.infos[plugin].distribution if plugin in self.infos else ""
                record = record.owned_by(plugin, dist)
                existing = self.registry[stage].get(record.name)
                if existing is not None:
                    raise DuplicateRecordError(
                        f"two plugins register {stage} {record.name!r}: "
                        f"{_who(existing)} and {_who(record)}; disable one in [plugins] disable",
                        plugin=plugin, hook=hook,
                    )
                self.registry[stage][record.name] = record
                if plugin in self.infos:
                    self.infos[plugin].records.append(f"{stage}:{record.name}")

    def _validate_settings(self) -> None:
        models: dict[str, type[BaseModel]] = {}
        for records in self.registry.values():
            for record in records.values():
                if record.settings is not None:
                    models[record.name] = record.settings
        for name in self.config.settings:
            if name not in models:
                raise self.config.error(
                    f"no loaded plugin reads these settings{did_you_mean(name, models)}; "
                    f"known: {', '.join(sorted(models)) or 'none'} (if they belong to a disabled "
                    "plugin, remove them or enable it again)",
                    f"settings.{name}",
                )
        for name, model in models.items():
            self._settings[name] = self.config.validate_settings(name, model)

    # ---------------------------------------------------------------- access

    def records(self, stage: str) -> dict[str, Record]:
        """All records of a stage, by name."""
        return self.registry[stage]

    def record(self, stage: str, name: str) -> Record:
        """One record, or a StageError with a close match."""
        records = self.registry[stage]
        if name not in records:
            raise StageError(
                f"no {stage} named {name!r}{did_you_mean(name, records)}; "
                f"installed: {', '.join(sorted(records)) or 'none'}"
            )
        return records[name]

    def settings_for(self, name: str) -> Any:
        """The validated settings object for ``[settings.<name>]``, or None."""
        return self._settings.get(name)

    def add_plugin(self, plugin: Any, name: str | None = None) -> None:
        """Register one more plugin object after start-up (tests, embedding)."""
        name = name or _object_name(plugin)
        self._register(name, plugin, PluginInfo(name=name, origin="object"))
        for hook, stage in REGISTER_HOOKS.items():
            if self._implements(plugin, hook):
                for owner, record in self.dispatcher.register(hook):
                    if owner == name:
                        self.registry[stage][record.name] = record.owned_by(name, "")


def _object_name(obj: Any) -> str:
    return getattr(obj, "__name__", None) or f"{type(obj).__name__}@{id(obj):x}"


def _who(record: Record) -> str:
    dist = f" from {record.distribution!r}" if record.distribution else ""
    return f"plugin {record.plugin!r}{dist}"


def _location(plugin: Any) -> str:
    try:
        return inspect.getsourcefile(plugin if inspect.ismodule(plugin) else type(plugin)) or ""
    except TypeError:
        module = sys.modules.get(getattr(plugin, "__module__", ""))
        return getattr(module, "__file__", "") or ""
