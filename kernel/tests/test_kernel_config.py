"""Configuration: discovery, environment overrides and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from loom.config import load_config
from loom.errors import ConfigError
from loom.hookspecs import hookimpl
from loom.plugins import PluginManager
from loom.records import SettingsRecord
from pydantic import BaseModel, ConfigDict


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_found_from_working_directory_upward(tmp_path: Path) -> None:
    write(tmp_path / "loom.toml", '[stages]\nprovider = "openai"\n')
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    config = load_config(start=deep, environ={})
    assert config.stages.provider == "openai"
    assert config.source == tmp_path / "loom.toml"


def test_tool_loom_in_pyproject(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml",
          '[project]\nname = "x"\n\n[tool.loom.stages]\nprovider = "gemini"\n')
    assert load_config(start=tmp_path, environ={}).stages.provider == "gemini"


def test_malformed_toml_names_file_and_line(tmp_path: Path) -> None:
    write(tmp_path / "loom.toml", '[stages]\nprovider = "openai"\ncompression = [snip\n')
    with pytest.raises(ConfigError) as err:
        load_config(start=tmp_path, environ={})
    message = str(err.value)
    assert "loom.toml:3" in message and "malformed TOML" in message


def test_unknown_key_names_line_and_close_match(tmp_path: Path) -> None:
    write(tmp_path / "loom.toml", '[stages]\nprovider = "x"\ncompresion = ["snip"]\n')
    with pytest.raises(ConfigError) as err:
        load_config(start=tmp_path, environ={})
    message = str(err.value)
    assert "loom.toml:3" in message
    assert "stages.compresion" in message
    assert "did you mean 'compression'" in message


def test_wrong_type_is_reported_with_key(tmp_path: Path) -> None:
    write(tmp_path / "loom.toml", '[plugins]\ndisable = "snip"\n')
    with pytest.raises(ConfigError, match=r"loom.toml:2: plugins.disable"):
        load_config(start=tmp_path, environ={})


def test_environment_overrides(tmp_path: Path) -> None:
    write(tmp_path / "loom.toml", '[stages]\nprovider = "openai"\n')
    config = load_config(start=tmp_path, environ={
        "LOOM_STAGES__PROVIDER": "anthropic",
        "LOOM_PLUGINS__DISABLE": '["a", "b"]',
        "LOOM_SETTINGS__SNIP__THRESHOLD": "0.6",
        "LOOM_UNRELATED": "ignored",
    })
    assert config.stages.provider == "anthropic"
    assert config.plugins.disable == ["a", "b"]
    assert config.settings["snip"]["threshold"] == 0.6


def test_environment_unknown_table_is_an_error() -> None:
    with pytest.raises(ConfigError, match="LOOM_STAGE__PROVIDER.*did you mean 'stages'"):
        load_config(data={}, environ={"LOOM_STAGE__PROVIDER": "x"})


class SnipSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    threshold: float = 0.5
    keep_last: int = 3


class SnipPlugin:
    @hookimpl
    def loom_register_settings(self) -> list[SettingsRecord]:
        return [SettingsRecord(name="snip", settings=SnipSettings)]


def load_with(tmp_path: Path, text: str) -> PluginManager:
    write(tmp_path / "loom.toml", text)
    return PluginManager(load_config(start=tmp_path, environ={}),
                         plugins=[("snipper", SnipPlugin())], entry_points=False).load()


def test_plugin_settings_validated(tmp_path: Path) -> None:
    pm = load_with(tmp_path, "[settings.snip]\nthreshold = 0.4\n")
    assert pm.settings_for("snip") == SnipSettings(threshold=0.4)


def test_unknown_setting_names_file_line_key_and_match(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_with(tmp_path, "[settings.snip]\nthreshold = 0.4\ntreshold = 0.2\n")
    message = str(err.value)
    assert "loom.toml:3" in message and "settings.snip.treshold" in message
    assert "did you mean 'threshold'" in message


def test_mistyped_setting_value(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"loom.toml:2: settings.snip.keep_last"):
        load_with(tmp_path, '[settings.snip]\nkeep_last = "many"\n')


def test_settings_for_unknown_plugin(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="settings.snp.*did you mean 'snip'"):
        load_with(tmp_path, "[settings.snp]\nthreshold = 0.4\n")
