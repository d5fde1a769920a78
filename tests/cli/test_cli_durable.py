"""``loom runs/show/resume/replay/context`` against the real SQLite store plugin."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import Loom

WITH_STORE = ('[plugins]\nenable = ["events-console", "loop-guard", "memory-sqlite", '
              '"compress-common"]\n')


def _demo_run(project: Path, loom: Loom) -> str:
    (project / "loom.toml").write_text(WITH_STORE)
    done = loom("run", "--demo", "list the files")
    assert done.returncode == 0, done.stderr
    runs = loom("runs", "--json")
    assert runs.returncode == 0, runs.stderr
    [row] = json.loads(runs.stdout)
    assert row["status"] == "succeeded" and row["goal"] == "list the files"
    return str(row["run_id"])


def test_replay_reproduces_the_recorded_events_without_a_provider(project: Path,
                                                                   loom: Loom) -> None:
    run_id = _demo_run(project, loom)
    replayed = loom("replay", run_id)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert "identical to the recording" in replayed.stdout


def test_resume_reports_an_unknown_provider_or_run(project: Path, loom: Loom) -> None:
    run_id = _demo_run(project, loom)
    (project / "loom.toml").write_text(WITH_STORE + '\n[stages]\nprovider = "nothing-here"\n')
    unknown = loom("resume", run_id)
    assert unknown.returncode in (2, 4), unknown.stderr  # no such provider: a clear error
    (project / "loom.toml").write_text(WITH_STORE)
    missing = loom("resume", "no-such-run", "--provider", "x")
    assert missing.returncode != 0


def test_context_charts_pressure_and_exports_html(project: Path, loom: Loom) -> None:
    run_id = _demo_run(project, loom)
    charted = loom("context", run_id, "--html", "ctx.html")
    assert charted.returncode == 0, charted.stderr
    assert "ρ=" in charted.stdout
    assert "<html" in (project / "ctx.html").read_text().lower()


def test_unknown_run_is_a_usage_error(project: Path, loom: Loom) -> None:
    _demo_run(project, loom)
    for command in ("show", "replay", "context"):
        result = loom(command, "nope")
        assert result.returncode == 2, (command, result.stderr)
        assert "no run 'nope'" in result.stderr
