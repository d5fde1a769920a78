"""Configuration: ``loom.toml`` or ``[tool.loom]`` in ``pyproject.toml``.

Found from the working directory upward (``loom.toml`` wins over a
``pyproject.toml`` in the same folder), then overridden by ``LOOM_*``
environment variables spelled ``LOOM_<TABLE>__<KEY>[__<KEY>…]`` whose values
are read as TOML values when they parse (``LOOM_STAGES__PROVIDER=openai``,
``LOOM_SETTINGS__SNIP__THRESHOLD=0.6``, ``LOOM_PLUGINS__DISABLE='["x"]'``).

Every error is a :class:`~loom.errors.ConfigError` naming the file, the line
when it can be found, the key and a close match.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from loom.errors import ConfigError, did_you_mean

ENV_PREFIX = "LOOM_"


class PluginsConfig(BaseModel):
    """``[plugins]``: which plugins take part.

    ``disable`` blocks plugins by name before they are imported; ``enable``,
    when given, is an allow-list of entry-point plugins; ``require`` fails
    start-up when a plugin is missing; ``paths`` and ``modules`` load local
    plugin modules by file path or import name.
    """

    model_config = ConfigDict(extra="forbid")

    disable: list[str] = Field(default_factory=list)
    enable: list[str] | None = None
    require: list[str] = Field(default_factory=list)
    paths: list[str] = Field(default_factory=list)
    modules: list[str] = Field(default_factory=list)


class StagesConfig(BaseModel):
    """``[stages]``: which record serves each stage, and in which order."""

    model_config = ConfigDict(extra="forbid")

    provider: str | None = None
    model: str | None = None
    fallback: list[str] = Field(default_factory=list)
    compression: list[str] | None = None
    store: str | None = None
    sensors: list[str] | None = None
    event_sinks: list[str] | None = None
    tool_sources: list[str] | None = None
    evolution: list[str] | None = None


class ConfigFile(BaseModel):
    """The whole configuration document."""

    model_config = ConfigDict(extra="forbid")

    plugins: PluginsConfig = Field(default_factory=PluginsConfig)
    stages: StagesConfig = Field(default_factory=StagesConfig)
    profile: dict[str, Any] = Field(default_factory=dict)
    settings: dict[str, dict[str, Any]] = Field(default_factory=dict)


class LoomConfig:
    """Validated configuration plus where it came from (for error messages)."""

    def __init__(self, data: ConfigFile, *, source: Path | None = None, text: str = "",
                 table_prefix: str = "") -> None:
        self.data = data
        self.source = source
        self.text = text
        self.table_prefix = table_prefix

    @property
    def plugins(self) -> PluginsConfig:
        """The ``[plugins]`` table."""
        return self.data.plugins

    @property
    def stages(self) -> StagesConfig:
        """The ``[stages]`` table."""
        return self.data.stages

    @property
    def settings(self) -> dict[str, dict[str, Any]]:
        """The raw ``[settings.*]`` tables."""
        return self.data.settings

    def error(self, message: str, key: str) -> ConfigError:
        """A ConfigError for ``key`` (dotted), with file and line when known."""
        line = find_line(self.text, key, self.table_prefix) if self.text else None
        return ConfigError(f"{key}: {message}",
                           file=str(self.source) if self.source else None, line=line, key=key)

    def validate_settings(self, name: str, model: type[BaseModel]) -> BaseModel:
        """Validate ``[settings.<name>]`` with ``model``; unknown keys are rejected."""
        raw = self.settings.get(name, {})
        known = set(model.model_fields) | {
            f.alias for f in model.model_fields.values() if f.alias
        }
        for key in raw:
            if key not in known:
                raise self.error(
                    f"unknown setting{did_you_mean(key, known)}; "
                    f"allowed: {', '.join(sorted(known)) or 'none'}",
                    f"settings.{name}.{key}",
                )
        try:
            return model.model_validate(raw)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"])
            raise self.error(err["msg"], f"settings.{name}.{loc}") from None


def find_line(text: str, dotted_key: str, prefix: str = "") -> int | None:
    """1-based line of ``dotted_key`` in TOML ``text`` (best effort)."""
    parts = dotted_key.split(".")
    table = ""
    best: int | None = None
    header = re.compile(r"^\s*\[+\s*([^\]]+?)\s*\]+")
    for number, line in enumerate(text.splitlines(), 1):
        m = header.match(line)
        if m:
            table = m.group(1).replace('"', "").replace(" ", "")
            if prefix and table.startswith(prefix):
                table = table[len(prefix):]
            if table == ".".join(parts):
                best = best or number
            continue
        m = re.match(r"^\s*([A-Za-z0-9_.\-\"]+)\s*=", line)
        if not m:
            continue
        key = m.group(1).replace('"', "")
        full = f"{table}.{key}" if table else key
        if full == dotted_key:
            return number
        if dotted_key.startswith(full + ".") and best is None:
            best = number
    return best


def _parse_env_value(value: str) -> Any:
    try:
        return tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        return value


def apply_env(data: dict[str, Any], environ: Mapping[str, str]) -> list[str]:
    """Overlay ``LOOM_<TABLE>__<KEY>`` variables onto ``data``; returns those used."""
    used = []
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        path = [p.lower() for p in name[len(ENV_PREFIX):].split("__")]
        if path[0] not in ConfigFile.model_fields:
            raise ConfigError(
                f"environment variable {name}: unknown table {path[0]!r}"
                f"{did_you_mean(path[0], ConfigFile.model_fields)}",
                key=path[0],
            )
        node = data
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = _parse_env_value(value)
        used.append(name)
    return used


def find_config_file(start: Path) -> tuple[Path, str] | None:
    """The nearest ``loom.toml`` or ``pyproject.toml`` with ``[tool.loom]``."""
    for folder in [start, *start.parents]:
        candidate = folder / "loom.toml"
        if candidate.is_file():
            return candidate, ""
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            text = pyproject.read_text(encoding="utf-8")
            if re.search(r"^\s*\[tool\.loom[\].]", text, re.M):
                return pyproject, "tool.loom."
    return None


def load_config(
    path: str | Path | None = None,
    *,
    start: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    data: Mapping[str, Any] | None = None,
) -> LoomConfig:
    """Load, overlay the environment, and validate the configuration.

    ``path`` names a file explicitly (``LOOM_CONFIG`` does too); otherwise it
    is searched from ``start`` (default: the working directory) upward.
    ``data`` gives the document directly (tests, embedding).
    """
    env = os.environ if environ is None else environ
    source: Path | None = None
    text = ""
    prefix = ""
    raw: dict[str, Any] = {}
    if data is not None:
        raw = _deep_copy(dict(data))
    else:
        explicit = path or env.get("LOOM_CONFIG")
        if explicit:
            source = Path(explicit)
            if not source.is_file():
                raise ConfigError("configuration file not found", file=str(source))
            prefix = "tool.loom." if source.name == "pyproject.toml" else ""
        else:
            found = find_config_file(Path(start or Path.cwd()).resolve())
            if found:
                source, prefix = found
        if source is not None:
            text = source.read_text(encoding="utf-8")
            try:
                doc = tomllib.loads(text)
            except tomllib.TOMLDecodeError as exc:
                found_line = re.search(r"at line (\d+)", str(exc))
                line = int(found_line.group(1)) if found_line else None
                raise ConfigError(f"malformed TOML: {exc}", file=str(source), line=line) from None
            raw = doc.get("tool", {}).get("loom", {}) if prefix else doc
    apply_env(raw, env)
    config = LoomConfig(ConfigFile(), source=source, text=text, table_prefix=prefix)
    try:
        config.data = ConfigFile.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [str(p) for p in err["loc"]]
        key = ".".join(loc)
        if err["type"] == "extra_forbidden":
            allowed = _allowed_at(loc[:-1])
            msg = f"unknown key{did_you_mean(loc[-1], allowed)}; allowed: {', '.join(allowed)}"
        else:
            msg = f"{err['msg']} (got {err.get('input')!r})"
        raise config.error(msg, key) from None
    return config


def _allowed_at(loc: list[str]) -> list[str]:
    model: type[BaseModel] = ConfigFile
    for part in loc:
        annotation = model.model_fields[part].annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
    return list(model.model_fields)


def _deep_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value
