"""Run the real ``loom`` command in a temporary project folder."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

Loom = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def cli_env() -> dict[str, str]:
    """The environment without Loom overrides, API keys or colour."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("LOOM_") and not k.endswith("_API_KEY")}
    env["NO_COLOR"] = "1"
    return env


#: Only this task's plugins take part, whatever else is installed.
ONLY_OURS = '[plugins]\nenable = ["events-console", "loop-guard"]\n'


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder whose loom.toml enables only the console and loop-guard plugins."""
    (tmp_path / "loom.toml").write_text(ONLY_OURS)
    (tmp_path / "notes.txt").write_text("hello\n")
    return tmp_path


@pytest.fixture
def loom(project: Path, cli_env: dict[str, str]) -> Loom:
    """Run ``loom ARGS`` in the project folder; ``input`` is fed to stdin."""

    def run(*args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "loom_cli", *args],
            cwd=project, env=cli_env, input=input, text=True,
            capture_output=True, timeout=120,
            stdin=subprocess.DEVNULL if input is None else None,
        )

    return run
