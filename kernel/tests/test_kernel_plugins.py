"""The plugin manager: discovery, blocking before import, validation, records."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from loom.config import load_config
from loom.errors import (
    ConfigError,
    DuplicateRecordError,
    PluginLoadError,
    PluginValidationError,
)
from loom.hookspecs import hookimpl
from loom.plugins import PluginManager
from loom.records import ProviderRecord

from .conftest import InstallDist

GOOD = """
from loom.hookspecs import hookimpl
from loom.records import ProviderRecord

@hookimpl
def loom_register_providers():
    return [ProviderRecord(name="{name}", factory="{module}:Provider")]
"""


def pm_for(config: dict[str, object] | None = None, **kw: object) -> PluginManager:
    return PluginManager(load_config(data=config or {}, environ={}), **kw)  # type: ignore[arg-type]


def test_entry_point_plugin_is_discovered_without_import(install_dist: InstallDist) -> None:
    install_dist("loom-acme", {"acme": "loom_acme_ep"},
                 {"loom_acme_ep": GOOD.format(name="acme", module="loom_acme_ep")})
    pm = pm_for()
    infos = pm.discover()
    assert infos["acme"].distribution == "loom-acme"
    assert "loom_acme_ep" not in sys.modules
    pm.load()
    assert pm.infos["acme"].status == "loaded"
    assert pm.record("provider", "acme").distribution == "loom-acme"


def test_disabled_plugin_is_never_imported(install_dist: InstallDist) -> None:
    install_dist("loom-acme", {"acme": "loom_acme_blocked"},
                 {"loom_acme_blocked": "raise RuntimeError('must not be imported')"})
    pm = pm_for({"plugins": {"disable": ["acme"]}}).load()
    assert pm.infos["acme"].status == "blocked"
    assert "loom_acme_blocked" not in sys.modules
    assert pm.pm.is_blocked("acme")


def test_enable_is_an_allow_list(install_dist: InstallDist) -> None:
    install_dist("loom-a", {"a": "loom_a_mod"}, {"loom_a_mod": GOOD.format(name="a", module="x")})
    install_dist("loom-b", {"b": "loom_b_mod"}, {"loom_b_mod": GOOD.format(name="b", module="x")})
    pm = pm_for({"plugins": {"enable": ["a"]}}).load()
    assert pm.infos["a"].status == "loaded" and pm.infos["b"].status == "not enabled"
    assert "loom_b_mod" not in sys.modules


def test_unknown_plugin_name_has_close_match(install_dist: InstallDist) -> None:
    install_dist("loom-acme", {"acme": "loom_acme_x"}, {"loom_acme_x": ""})
    with pytest.raises(ConfigError, match="unknown plugin 'acm'.*did you mean 'acme'"):
        pm_for({"plugins": {"disable": ["acm"]}}).load()


def test_plugin_whose_import_fails_is_named(install_dist: InstallDist) -> None:
    install_dist("loom-broken", {"broken": "loom_broken_mod"},
                 {"loom_broken_mod": "import not_a_real_module_xyz"})
    with pytest.raises(PluginLoadError) as err:
        pm_for().load()
    assert "'broken'" in str(err.value) and "loom-broken" in str(err.value)
    assert "not_a_real_module_xyz" in str(err.value)


def test_required_plugin_missing(install_dist: InstallDist) -> None:
    install_dist("loom-acme", {"acme": "loom_acme_r"}, {"loom_acme_r": ""})
    with pytest.raises(ConfigError, match="required plugin 'acme' is not loaded"):
        pm_for({"plugins": {"require": ["acme"], "disable": ["acme"]}}).load()


def test_wrong_argument_name_is_a_clear_error() -> None:
    class Typo:
        @hookimpl
        def loom_veto(self, actoin: object) -> None:
            return None

    with pytest.raises(PluginValidationError) as err:
        pm_for(plugins=[("typo", Typo())]).load()
    message = str(err.value)
    assert "'typo'" in message and "loom_veto" in message and "'actoin'" in message
    assert "did you mean 'action'" in message


def test_unknown_hook_name_is_a_clear_error() -> None:
    class Typo:
        def loom_vetoo(self, action: object) -> None:
            return None

    with pytest.raises(PluginValidationError, match="unknown hook 'loom_vetoo'.*'loom_veto'"):
        pm_for(plugins=[("typo", Typo())]).load()


def test_duplicate_record_names_both_distributions(install_dist: InstallDist) -> None:
    install_dist("loom-one", {"one": "loom_one_mod"},
                 {"loom_one_mod": GOOD.format(name="same", module="x")})
    install_dist("loom-two", {"two": "loom_two_mod"},
                 {"loom_two_mod": GOOD.format(name="same", module="x")})
    with pytest.raises(DuplicateRecordError) as err:
        pm_for().load()
    assert "loom-one" in str(err.value) and "loom-two" in str(err.value)


def test_local_plugin_by_path(tmp_path: Path) -> None:
    (tmp_path / "my_plugin.py").write_text(GOOD.format(name="from-a-file", module="x"))
    (tmp_path / "loom.toml").write_text('[plugins]\npaths = ["my_plugin.py"]\n')
    pm = PluginManager(load_config(start=tmp_path, environ={})).load()
    assert pm.infos["my_plugin"].origin == "path"
    assert "from-a-file" in pm.records("provider")


def test_local_plugin_path_missing(tmp_path: Path) -> None:
    (tmp_path / "loom.toml").write_text('[plugins]\npaths = ["nope.py"]\n')
    with pytest.raises(ConfigError, match=r"loom.toml:2: plugins.paths.*'nope.py' not found"):
        PluginManager(load_config(start=tmp_path, environ={})).load()


def test_register_hook_must_return_records() -> None:
    class Bad:
        @hookimpl
        def loom_register_providers(self) -> list[object]:
            return ["openai"]

    with pytest.raises(PluginValidationError, match="'bad'.*expected a loom.records record"):
        pm_for(plugins=[("bad", Bad())]).load()


def test_unknown_stage_record_has_close_match() -> None:
    class P:
        @hookimpl
        def loom_register_providers(self) -> list[ProviderRecord]:
            return [ProviderRecord(name="openai", factory=lambda: None)]

    pm = pm_for(plugins=[("p", P())], entry_points=False).load()
    with pytest.raises(Exception, match="no provider named 'opena'.*did you mean 'openai'"):
        pm.record("provider", "opena")


def test_import_loom_imports_no_plugin_and_no_sdk() -> None:
    import subprocess

    code = (
        "import sys, loom, loom.api, loom.hookspecs\n"
        "from loom.plugins import PluginManager\n"
        "PluginManager().discover()\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('openai', 'anthropic', 'google', 'httpx', 'mcp', 'llama_cpp') or m.startswith('loom_')]\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout

    probe = "import sys, loom; print(sorted(m for m in sys.modules if m.startswith(('loom', 'pydantic'))))"
    bare = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert bare.stdout.strip() == "['loom']"


def test_a_test_cannot_reach_a_real_provider() -> None:
    import socket

    from loom.errors import RealProviderBlocked

    with pytest.raises(RealProviderBlocked, match=r"api\.openai\.com"):
        socket.getaddrinfo("api.openai.com", 443)
    with pytest.raises(RealProviderBlocked, match="203.0.113.7"):
        socket.create_connection(("203.0.113.7", 443), timeout=1)
