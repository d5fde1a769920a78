"""Context retention: what each compression level keeps, frees and costs.

Run: ``python3 scripts/bench.py context`` (or ``.venv/bin/python bench/context_retention.py``;
``--quick`` skips the 1M-token cases, ``--seed N`` changes the trajectories).

Seeded and offline (no model calls: auto runs without a model). A generator
(:mod:`loom_compress_common.trajectory`) writes long coding-agent
trajectories — file reads, config files, shell and test output with progress
bars, search results, edits, errors and fixes, user messages mid-run — with
about 40 planted facts per 200k tokens that a later step needs: settings in
config files, constants in code, identifiers in command output, user
constraints, decisions, superseded values, error/fix pairs, files touched.

Two experiments, each also run on two naive baselines:

- **one shot** — the whole trajectory (50k, 200k, 1M tokens) sits in a window
  it fills (ρ ≈ 1) and one level compresses it once. Reported: tokens saved,
  planted facts still in the context, facts recoverable from disk (the
  context plus everything its restore references lead to), invariant
  violations (:func:`loom.invariants.check_edit`), CPU milliseconds.
- **live** — the trajectory is fed step by step into a smaller window (200k
  tokens into 64k and into a tight 16k, 1M into 200k) and,
  after each step, the full cascade runs as the kernel's Observe phase does
  (pressure levels by threshold, then renewal when ρ ≥ 1.0). Reported at
  the end: tokens in context against the uncompressed total, facts in
  context, recoverable, rejected edits, and CPU ms per compression call.

Baselines: *keep-last-N* keeps the newest messages that fit in 60% of the
budget; *clear-old-outputs* replaces tool outputs older than the last 4
turns by ``[cleared]``. Neither stores anything.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import loom_compress_auto
import loom_compress_collapse
import loom_compress_common
import loom_compress_micro
import loom_compress_reactive
import loom_compress_renewal
import loom_compress_snip
from loom.context import ContextWindow
from loom.invariants import ContextEdit, check_edit
from loom.messages import Message
from loom_compress_auto.level import Auto
from loom_compress_auto.settings import AutoSettings
from loom_compress_collapse.level import Collapse
from loom_compress_common import store as store_module
from loom_compress_common.replay import Replay, context_text, make_run, recoverable_text
from loom_compress_common.store import RestoreStore
from loom_compress_common.trajectory import Trajectory, fact_present, generate
from loom_compress_micro.level import Micro
from loom_compress_reactive.level import Reactive
from loom_compress_renewal.level import Renewal
from loom_compress_snip.level import Snip

PLUGINS = [
    loom_compress_common,
    loom_compress_snip,
    loom_compress_micro,
    loom_compress_collapse,
    loom_compress_auto,
    loom_compress_reactive,
    loom_compress_renewal,
]
CONFIG = {"settings": {"auto": {"use_model": False}}}
RESULTS = Path(__file__).resolve().parent / "results" / "context_retention.json"


class KeepLastN:
    """Baseline: keep the newest messages that fit in ``share`` of the budget."""

    level = "keep-last-N"

    def __init__(self, share: float = 0.6) -> None:
        self.share = share

    async def compress(self, window: ContextWindow, run: Any) -> ContextEdit | None:
        est = window.estimator
        room = window.budget * self.share / est.factor
        kept: list[Message] = []
        for message in reversed(window.history):
            room -= est.raw_message(message)
            if room < 0:
                break
            kept.append(message)
        kept.reverse()
        while kept and kept[0].role == "tool":
            kept.pop(0)
        if len(kept) == len(window.history):
            return None
        return ContextEdit(level=self.level, reason="keep the newest messages", history=kept)


class ClearOldOutputs:
    """Baseline: replace tool outputs older than the last ``keep`` turns by ``[cleared]``."""

    level = "clear-old-outputs"

    def __init__(self, keep: int = 4) -> None:
        self.keep = keep

    async def compress(self, window: ContextWindow, run: Any) -> ContextEdit | None:
        history = window.history
        assistants = [i for i, m in enumerate(history) if m.role == "assistant"]
        limit = assistants[-self.keep] if len(assistants) >= self.keep else 0
        new = list(history)
        changed = False
        for i in range(limit):
            message = history[i]
            if message.role == "tool" and any(r.content != "[cleared]" for r in message.tool_results):
                new[i] = message.model_copy(
                    update={
                        "content": [
                            r.model_copy(update={"content": "[cleared]"}) for r in message.tool_results
                        ]
                    }
                )
                changed = True
        if not changed:
            return None
        return ContextEdit(level=self.level, reason="clear old tool outputs", history=new)


def one_shot_levels() -> dict[str, Any]:
    return {
        "snip": lambda: Snip(),
        "micro": lambda: Micro(),
        "collapse": lambda: Collapse(),
        "auto": lambda: Auto(AutoSettings(use_model=False)),
        "reactive": lambda: Reactive(),
        "renewal": lambda: Renewal(),
        "keep-last-N": lambda: KeepLastN(),
        "clear-old-outputs": lambda: ClearOldOutputs(),
    }


def facts_score(
    trajectory: Trajectory, window: ContextWindow, store: RestoreStore | None
) -> tuple[float, float]:
    text = context_text(window)
    present = sum(fact_present(f, text) for f in trajectory.facts)
    recoverable_source = recoverable_text(window, store) if store is not None else text
    recoverable = sum(fact_present(f, recoverable_source) for f in trajectory.facts)
    return present / len(trajectory.facts), recoverable / len(trajectory.facts)


def fresh_run(workspace: str, trajectory: Trajectory, window_tokens: int) -> Any:
    run = make_run(
        workspace, goal=trajectory.goal, window_tokens=window_tokens, plugins=PLUGINS, config=CONFIG
    )
    run.window.tools = trajectory.tools
    return run


async def one_shot(trajectory: Trajectory, name: str, workspace: str) -> dict[str, Any]:
    """One level (or the cascade) once on a window the whole trajectory fills."""
    messages = trajectory.messages
    run = fresh_run(workspace, trajectory, 1)
    run.window.history = list(messages)
    run.window.window_tokens = int(run.window.tokens() * 1.01)
    before = run.window.tokens()
    store_module._JSON_CACHE.clear()
    gc.collect()
    violations: list[str] = []
    cpu = wall = 0.0
    if name == "cascade":
        replay = Replay(run, run.runtime.build_compressors())
        start_cpu, start_wall = time.process_time(), time.perf_counter()
        await replay.observe()
        cpu, wall = time.process_time() - start_cpu, time.perf_counter() - start_wall
        violations = replay.rejected
        applied = ",".join(replay.applied)
    else:
        level = one_shot_levels()[name]()
        start_cpu, start_wall = time.process_time(), time.perf_counter()
        edit = await level.compress(run.window, run)
        cpu, wall = time.process_time() - start_cpu, time.perf_counter() - start_wall
        applied = name if edit is not None else ""
        if edit is not None:
            violations = check_edit(run.window, edit)
            run.window.history = list(edit.history)
            run.window.pinned.update(edit.pinned)
    after = run.window.tokens()
    baseline = name in ("keep-last-N", "clear-old-outputs")
    present, recoverable = facts_score(
        trajectory, run.window, None if baseline else RestoreStore.for_run(run)
    )
    return {
        "level": name,
        "tokens_before": before,
        "tokens_after": after,
        "saved": round(1 - after / before, 3),
        "facts_in_context": round(present, 3),
        "facts_recoverable": round(recoverable, 3),
        "violations": len(violations),
        "cpu_ms": round(cpu * 1000, 1),
        "wall_ms": round(wall * 1000, 1),
        "applied": applied,
    }


async def live(trajectory: Trajectory, window_tokens: int, name: str, workspace: str) -> dict[str, Any]:
    """Feed the trajectory step by step; compress after each step like the kernel."""
    run = fresh_run(workspace, trajectory, window_tokens)
    baseline = name != "cascade"
    compressors = run.runtime.build_compressors()
    if baseline:
        level = KeepLastN() if name == "keep-last-N" else ClearOldOutputs()
        compressors = [
            (compressors[0][0].__class__(name=name, threshold=0.9 if name == "keep-last-N" else 0.7), level)
        ]
    replay = Replay(run, compressors)
    cpu_times: list[float] = []
    violations = 0
    for messages in trajectory.steps:
        run.window.history.extend(messages)
        for record, compressor in compressors:
            if run.window.pressure() < (run.settings(record.name) or record).threshold:
                continue
            start = time.process_time()
            edit = await compressor.compress(run.window, run)
            cpu_times.append(time.process_time() - start)
            if edit is None:
                continue
            problems = check_edit(run.window, edit)
            violations += bool(problems)
            if baseline:  # the baselines are applied even when they break an invariant
                run.window.history = list(edit.history)
            elif not problems:
                await run.apply_edit(edit)
        if not baseline and run.window.pressure() >= 1.0:
            start = time.process_time()
            await replay.trigger("renewal")
            cpu_times.append(time.process_time() - start)
    total = (
        sum(run.window.estimator.raw_message(m) for m in trajectory.messages) * run.window.estimator.factor
    )
    after = run.window.tokens()
    present, recoverable = facts_score(
        trajectory, run.window, None if baseline else RestoreStore.for_run(run)
    )
    levels: dict[str, int] = {}
    for event in run.recorded:
        if event.kind == "context.edited":
            levels[event.data["level"]] = levels.get(event.data["level"], 0) + 1
    return {
        "level": name,
        "window": window_tokens,
        "uncompressed": round(total),
        "tokens_after": after,
        "saved": round(1 - after / total, 3),
        "facts_in_context": round(present, 3),
        "facts_recoverable": round(recoverable, 3),
        "violations": violations + len(replay.rejected),
        "compressions": len(cpu_times),
        "cpu_ms_median": round(statistics.median(cpu_times) * 1000, 2) if cpu_times else 0.0,
        "cpu_ms_max": round(max(cpu_times, default=0) * 1000, 1),
        "edits": levels,
    }


def table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    widths = [max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += [
        "  ".join(str(r.get(c, "")).ljust(w) for c, w in zip(columns, widths, strict=True)) for r in rows
    ]
    return "\n".join(lines)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="skip the 1M-token cases")
    args = parser.parse_args()
    sizes = [50_000, 200_000] if args.quick else [50_000, 200_000, 1_000_000]
    results: dict[str, Any] = {"seed": args.seed, "one_shot": [], "live": []}
    names = [
        "snip",
        "micro",
        "collapse",
        "auto",
        "reactive",
        "renewal",
        "cascade",
        "keep-last-N",
        "clear-old-outputs",
    ]
    with tempfile.TemporaryDirectory() as workspace:
        for size in sizes:
            trajectory = generate(size, seed=args.seed)
            rows = []
            for name in names:
                row = await one_shot(trajectory, name, workspace)
                row["size"] = size
                rows.append(row)
            results["one_shot"].extend(rows)
            print(
                f"\none shot: a {size // 1000}k-token trajectory in a window it fills "
                f"({len(trajectory.facts)} planted facts)"
            )
            print(
                table(
                    rows,
                    [
                        "level",
                        "saved",
                        "facts_in_context",
                        "facts_recoverable",
                        "violations",
                        "cpu_ms",
                        "wall_ms",
                    ],
                )
            )
        cases = [(200_000, 64_000), (200_000, 16_000)] + ([] if args.quick else [(1_000_000, 200_000)])
        for size, window in cases:
            trajectory = generate(size, seed=args.seed + 1)
            rows = []
            for name in ["cascade", "keep-last-N", "clear-old-outputs"]:
                row = await live(trajectory, window, name, workspace)
                rows.append(row)
            results["live"].extend(rows)
            print(
                f"\nlive: a {size // 1000}k-token trajectory fed step by step "
                f"into a {window // 1000}k window "
                f"({len(trajectory.facts)} planted facts)"
            )
            print(
                table(
                    rows,
                    [
                        "level",
                        "saved",
                        "facts_in_context",
                        "facts_recoverable",
                        "violations",
                        "compressions",
                        "cpu_ms_median",
                        "cpu_ms_max",
                    ],
                )
            )
            print("edits by level (cascade):", rows[0]["edits"])
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    print(
        f"\nwritten to {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
