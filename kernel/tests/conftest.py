"""Fixtures for kernel tests: installed distributions made on the fly."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

InstallDist = Callable[..., Path]


@pytest.fixture
def install_dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> InstallDist:
    """Install a tiny distribution (dist-info + module) on sys.path.

    ``install_dist("loom-x", {"x": "loom_x"}, {"loom_x": "source"})`` makes a
    real installed distribution whose ``loom`` entry points importlib
    metadata finds, exactly as pip would leave it.
    """
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    added: list[str] = []

    def install(dist: str, entry_points: dict[str, str], modules: dict[str, str],
                version: str = "1.0") -> Path:
        info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        eps = "\n".join(f"{k} = {v}" for k, v in entry_points.items())
        (info / "entry_points.txt").write_text(f"[loom]\n{eps}\n")
        for name, source in modules.items():
            (site / f"{name}.py").write_text(textwrap.dedent(source))
            added.append(name)
        return site

    yield install  # type: ignore[misc]
    for name in added:
        sys.modules.pop(name, None)
