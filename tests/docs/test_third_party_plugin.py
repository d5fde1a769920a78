"""The documented third-party plugin works when installed like any package.

``docs/examples/loom-deny-pattern`` is installed with pip into a temporary
folder; each check runs in a fresh process with that folder on PYTHONPATH
and an empty project folder as working directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "loom-deny-pattern"

NOTES_PLUGIN = '''
"""A local plugin with one tool for these checks."""

from loom.hookspecs import hookimpl
from loom.tools import tool


@tool
def read_note(name: str) -> str:
    """Read a note by name."""
    return f"contents of {name}"


@hookimpl
def loom_register_tools():
    """Register read_note."""
    return [read_note]
'''

RUN = '''
import json, sys
from loom.testing import LoomHarness, call

config = json.loads(sys.argv[1])
script = [call("read_note", name="team-secrets.txt"),
          lambda request: request.messages[-1].tool_results[0].content]
harness = LoomHarness(script, entry_points=True, config=config)
result = harness.run_sync("read the team secrets")
info = harness.runtime.plugins.infos["deny-pattern"]
print(json.dumps({"status": result.status, "output": result.output,
                  "plugin_status": info.status,
                  "imported": "loom_deny_pattern" in sys.modules}))
'''

LIST = '''
import json
from loom.plugins import PluginManager
info = PluginManager().load().infos["deny-pattern"]
print(json.dumps({"distribution": info.distribution, "version": info.version,
                  "status": info.status, "hooks": info.hooks}))
'''

DENY = {"tools": ["read_*"], "arguments": "*secret*"}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example package, installed by pip into a folder of its own."""
    target = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-input",
         "--disable-pip-version-check", "--target", str(target), str(EXAMPLE)],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return target


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty project folder holding the local tool plugin."""
    (tmp_path / "notes_plugin.py").write_text(textwrap.dedent(NOTES_PLUGIN), encoding="utf-8")
    return tmp_path


def python(site: Path, project: Path, *args: str) -> str:
    """Run ``python *args`` in ``project`` with the installed package importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOM_")}
    env["PYTHONPATH"] = str(site)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    done = subprocess.run([sys.executable, *args], cwd=project, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_plugin_is_listed_with_its_distribution(site: Path, project: Path) -> None:
    info = json.loads(python(site, project, "-c", LIST))
    assert info["distribution"] == "loom-deny-pattern"
    assert info["version"] == "0.1.0"
    assert info["status"] == "loaded"
    assert info["hooks"] == ["loom_register_settings", "loom_veto"]


def test_loom_plugins_shows_the_plugin(site: Path, project: Path) -> None:
    out = python(site, project, "-m", "loom_cli", "plugins")
    row = next((line for line in out.splitlines() if "deny-pattern" in line.split()), None)
    assert row is not None, out
    assert "loom-deny-pattern" in row and "0.1.0" in row and "loaded" in row


def test_loom_plugins_shows_a_disabled_plugin_as_blocked(site: Path, project: Path) -> None:
    (project / "loom.toml").write_text('[plugins]\ndisable = ["deny-pattern"]\n',
                                       encoding="utf-8")
    listed = json.loads(python(site, project, "-m", "loom_cli", "plugins", "--json"))
    entry = next(p for p in listed if p["plugin"] == "deny-pattern")
    assert entry["distribution"] == "loom-deny-pattern"
    assert entry["status"] == "blocked"
    assert entry["hooks"] == []


def test_a_matching_call_is_denied_by_the_plugin(site: Path, project: Path) -> None:
    config = {"plugins": {"paths": ["notes_plugin.py"]}, "settings": {"deny-pattern": DENY}}
    seen = json.loads(python(site, project, "-c", RUN, json.dumps(config)))
    assert seen["plugin_status"] == "loaded"
    assert seen["status"] == "succeeded"
    assert seen["output"].startswith("Not run: denied by deny-pattern rule read_*: ")
    assert "'*secret*'" in seen["output"]


def test_a_call_not_matching_runs(site: Path, project: Path) -> None:
    config = {"plugins": {"paths": ["notes_plugin.py"]},
              "settings": {"deny-pattern": {"tools": ["read_*"], "arguments": "*.env"}}}
    seen = json.loads(python(site, project, "-c", RUN, json.dumps(config)))
    assert seen["output"] == "contents of team-secrets.txt"


def test_a_disabled_plugin_is_blocked_never_imported_and_the_call_runs(
    site: Path, project: Path
) -> None:
    config = {"plugins": {"paths": ["notes_plugin.py"], "disable": ["deny-pattern"]}}
    seen = json.loads(python(site, project, "-c", RUN, json.dumps(config)))
    assert seen["plugin_status"] == "blocked"
    assert seen["imported"] is False
    assert seen["output"] == "contents of team-secrets.txt"


def test_the_packages_own_tests_pass(site: Path, project: Path) -> None:
    out = python(site, project, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                 str(EXAMPLE / "tests"))
    assert " passed" in out and "failed" not in out
