"""The kernel type-checks under mypy --strict (a broken annotation fails CI)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

KERNEL_SRC = Path(__file__).resolve().parents[1] / "src" / "loom"
ROOT = Path(__file__).resolve().parents[2]


def test_kernel_is_mypy_strict_clean() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--config-file", str(ROOT / "pyproject.toml"),
         str(KERNEL_SRC)],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_kernel_ships_py_typed() -> None:
    assert (KERNEL_SRC / "py.typed").is_file()
