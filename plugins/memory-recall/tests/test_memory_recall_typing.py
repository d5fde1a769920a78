"""The memory plugins type-check under mypy --strict and ship py.typed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SOURCES = [ROOT / "plugins" / "memory-recall" / "src", ROOT / "contrib" / "embed-minilm" / "src"]


def test_memory_plugins_are_mypy_strict_clean() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--config-file", str(ROOT / "pyproject.toml"),
         *map(str, SOURCES)], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr


def test_memory_plugins_ship_py_typed() -> None:
    for source in SOURCES:
        assert list(source.glob("*/py.typed")), source
