"""Crash and resume: an agent process killed with SIGKILL at random points resumes to the same end.

Each seed kills the run once or twice, either from inside the tool right
after it did its work (a crash in the middle of a call) or from outside at a
random moment after the k-th execution; then a new process resumes the run
from the SQLite store until it ends. The tool writes every execution to a
counter file, so duplicates are counted by the tool itself.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from loom_memory_sqlite.store import SqliteStore

HERE = Path(__file__).resolve().parent
AGENT = HERE / "crash_agent.py"
STEPS = 8
SEEDS = list(range(24))
EXPECTED = "finished 8 steps: " + ",".join(f"step-{i}" for i in range(1, STEPS + 1))


@dataclass
class Outcome:
    """What happened to one seed's run."""

    folder: Path = Path()
    run_id: str = ""
    kills: list[str] = field(default_factory=list)  # how each planned kill went
    processes: int = 0
    result: dict[str, Any] = field(default_factory=dict)
    executions: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def _process(args: list[str], folder: Path, crash_at: int | None) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOM_")}
    if crash_at is not None:
        env["LOOM_CRASH_AT"] = str(crash_at)
    return subprocess.Popen([sys.executable, str(AGENT), *args], cwd=folder, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _kill_when(proc: subprocess.Popen[str], counter: Path, k: int, delay: float) -> bool:
    """SIGKILL ``proc`` ``delay`` seconds after the counter reaches k lines; False if it ended first."""
    while _lines(counter) < k:
        if proc.poll() is not None:
            return False
        time.sleep(0.001)
    time.sleep(delay)
    if proc.poll() is not None:
        return False
    proc.send_signal(signal.SIGKILL)
    return True


def play(seed: int, folder: Path) -> Outcome:
    """Run one seed: start, kill once or twice, resume until the run ends."""
    rng = random.Random(seed)
    folder.mkdir(parents=True)
    db, counter = folder / "loom.db", folder / "counter.txt"
    first = rng.randint(1, STEPS)
    plan = [first] + ([rng.randint(first + 1, STEPS)] if first < STEPS and rng.random() < 0.4 else [])
    outcome = Outcome(folder=folder)
    began = time.monotonic()
    for index in range(len(plan) + 1):
        k = plan[index] if index < len(plan) else None
        inside = k is not None and rng.random() < 0.5
        args = ["start", str(db), str(counter)] if index == 0 else \
            ["resume", str(db), str(counter), outcome.run_id]
        proc = _process(args, folder, k if inside else None)
        outcome.processes += 1
        if index == 0:
            assert proc.stdout is not None
            outcome.run_id = proc.stdout.readline().strip()
        if k is not None and not inside:
            killed = _kill_when(proc, counter, k, rng.uniform(0, 0.02))
            outcome.kills.append(f"outside after {k}" if killed else f"missed {k}")
        out, err = proc.communicate(timeout=60)
        if k is not None and inside:
            outcome.kills.append(f"inside call {k}" if proc.returncode == -signal.SIGKILL
                                 else f"missed {k}")
        if proc.returncode == 0:
            lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
            outcome.result = json.loads(lines[-1][len("RESULT "):])
            break
        assert proc.returncode == -signal.SIGKILL, f"seed {seed}: exit {proc.returncode}\n{err}"
    outcome.executions = counter.read_text().splitlines()
    outcome.seconds = time.monotonic() - began
    return outcome


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[int | str, Outcome]:
    """Every seed played (four at a time), plus one run that is never killed."""
    base = tmp_path_factory.mktemp("crash")
    with ThreadPoolExecutor(4) as pool:
        futures: dict[int | str, Any] = {s: pool.submit(play, s, base / f"seed{s}") for s in SEEDS}
        done = {s: f.result() for s, f in futures.items()}
    baseline = subprocess.run([sys.executable, str(AGENT), "start", str(base / "plain.db"),
                               str(base / "plain.txt")], capture_output=True, text=True, timeout=60)
    assert baseline.returncode == 0, baseline.stderr
    result = json.loads(baseline.stdout.splitlines()[-1][len("RESULT "):])
    done["uninterrupted"] = Outcome(run_id=baseline.stdout.splitlines()[0], result=result,
                                    executions=(base / "plain.txt").read_text().splitlines())
    for seed in SEEDS:
        o = done[seed]
        print(f"seed {seed:2}: kills {o.kills}, {o.processes} processes, {o.seconds:.1f}s")
    return done


async def _stored(folder: Path, run_id: str) -> Any:
    store = SqliteStore(folder / "loom.db")
    await store.open()
    try:
        return await store.load_run(run_id)
    finally:
        await store.close()


def test_an_uninterrupted_run_gives_the_expected_output(outcomes: dict[int | str, Outcome]) -> None:
    plain = outcomes["uninterrupted"]
    assert plain.result == {"status": "succeeded", "output": EXPECTED, "error": ""}
    assert plain.executions == [f"step-{i}" for i in range(1, STEPS + 1)]


def test_most_seeds_really_crashed(outcomes: dict[int | str, Outcome]) -> None:
    kills = [k for s in SEEDS for k in outcomes[s].kills if not k.startswith("missed")]
    assert len(kills) >= len(SEEDS)  # at least one real SIGKILL per seed on average
    assert any(k.startswith("inside") for k in kills) and any(k.startswith("outside") for k in kills)


@pytest.mark.parametrize("seed", SEEDS)
async def test_a_killed_run_resumes_to_the_same_end(seed: int,
                                                    outcomes: dict[int | str, Outcome]) -> None:
    outcome = outcomes[seed]
    assert outcome.result == outcomes["uninterrupted"].result, outcome.kills
    counts = Counter(outcome.executions)
    assert max(counts.values()) == 1, counts  # the tool never ran twice for one step

    stored = await _stored(outcome.folder, outcome.run_id)
    assert stored is not None and stored.info.status == "succeeded"
    assert [e.seq for e in stored.events] == list(range(len(stored.events)))  # no lost events
    kinds = [e.kind for e in stored.events]
    crashes = sum(1 for k in outcome.kills if not k.startswith("missed"))
    # An earlier resume is lost with its process when that process is killed before its first
    # commit (events are committed per step), and a kill that lands after the run was recorded as
    # succeeded needs no resume at all: resuming a succeeded run returns its stored result.
    assert kinds.count("run.resumed") <= crashes
    assert kinds[-1] == "run.finished" and stored.events[-1].data["output"] == EXPECTED
    # each step's result reached the model once: done (and executed exactly once), or
    # reported as interrupted (executed at most once, never re-run)
    labels = {e.data["call_id"]: e.data["arguments"]["label"]
              for e in stored.events if e.kind == "act.proposed"}
    results = {e.data["call_id"]: e.data["content"]
               for e in stored.events if e.kind == "act.finished"}
    assert sorted(labels[c] for c in results) == sorted(f"step-{i}" for i in range(1, STEPS + 1))
    interrupted = [c for c, text in results.items() if text.startswith("interrupted")]
    assert len(interrupted) <= crashes
    for call_id, text in results.items():
        if call_id not in interrupted:
            assert text == f"{labels[call_id]} done" and counts[labels[call_id]] == 1
