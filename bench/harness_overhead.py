"""Safety harness overhead: CPU µs per tool call with all three tiers, against no harness.

Run: ``python3 scripts/bench.py harness`` (or ``.venv/bin/python bench/harness_overhead.py``).

Two runtimes drive the same scripted model through the same tool calls in
AUTO mode (so every call is allowed and runs): one with the three harness
tiers (classifier, hooks with no hooks configured, permissions) and one
without any veto plugin. Runs are interleaved so machine noise hits both
alike; the figure is the median over runs of (CPU per call with the
harness - CPU per call without). The calls are a realistic mix: a shell
command, a compound shell command, a read and a write. The tools are
stubs, so the difference is the harness alone (classification, events,
verdicts, the wrap layers). Target: ≤ 100 µs per tool call.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import loom_harness_classifier
import loom_harness_hooks
import loom_harness_permissions
from loom.api import AgentRuntime
from loom.config import load_config
from loom.hookspecs import hookimpl
from loom.profile import AgentProfile
from loom.requests import ModelRequest
from loom.testing import ScriptedModel, call
from loom.tools import tool

CALLS = 40
RUNS = 60
TARGET_US = 100.0
#: The calls, in turn. In the "unique" scenario ``{n}`` makes every call of the benchmark
#: unique, so no cache (parsed commands, path descriptions) is ever hit; in the "repeated"
#: scenario the same four calls come back, as they do when an agent re-runs its checks.
MIX = [("shell", {"command": "git log -n {n} --oneline"}),
       ("read", {"path": "src/module_{n}.py"}),
       ("shell", {"command": "ls -la src/pkg_{n} && grep -rn 'def main_{n}' src | head -5"}),
       ("write", {"path": "notes/todo_{n}.md", "content": "- measure the harness\n"})]
_serial = itertools.count()


@tool(name="shell", effects={"execute"}, blocking=False)
def shell_stub(command: str) -> str:
    """Pretend to run a command."""
    return "ok"


@tool(name="read", effects={"read"}, blocking=False)
def read_stub(path: str) -> str:
    """Pretend to read a file."""
    return "ok"


@tool(name="write", effects={"mutate"}, blocking=False)
def write_stub(path: str, content: str) -> str:
    """Pretend to write a file."""
    return "ok"


class StubTools:
    """Registers the stub tools."""

    @hookimpl
    def loom_register_tools(self) -> list[Any]:
        return [shell_stub, read_stub, write_stub]


def script(calls: int, unique: bool) -> Any:
    def reply(request: ModelRequest) -> Any:
        done = sum(1 for m in request.messages if m.role == "tool")
        if done >= calls:
            return "finished"
        name, arguments = MIX[done % len(MIX)]
        n = str(next(_serial)) if unique else "1"
        return call(name, **{k: v.replace("{n}", n) for k, v in arguments.items()})

    return reply


def runtime(workspace: str, harness: bool, unique: bool = True) -> AgentRuntime:
    plugins: list[Any] = [StubTools()]
    if harness:
        plugins = [loom_harness_classifier, loom_harness_hooks, loom_harness_permissions, *plugins]
    return AgentRuntime(profile=AgentProfile(mode="AUTO", max_steps=CALLS + 5),
                        provider=ScriptedModel(script(CALLS, unique)),
                        config=load_config(data={}, environ={}), plugins=plugins,
                        entry_points=False, workspace=workspace)


async def one_run(rt: AgentRuntime) -> None:
    rt.sessions.clear()  # keep only the last run: the heap does not grow from run to run
    result = await rt.create_session().create_task("work").start().wait()
    assert result.ok and result.steps == CALLS + 1, result


def cpu_per_call(rt: AgentRuntime) -> float:
    start = time.process_time()
    asyncio.run(one_run(rt))
    return (time.process_time() - start) / CALLS * 1e6


def check_decisions(rt: AgentRuntime) -> dict[str, float]:
    """Every call was judged by tier 3 and allowed (the harness really ran)."""
    run = next(iter(rt.sessions.values())).runs[-1]
    verdicts = [e.data for e in run.recorded if e.kind == "act.verdict"]
    assert len(verdicts) == CALLS and all(v["tier"] == "3" and v["decision"] == "allow"
                                          for v in verdicts), verdicts[:3]
    assert len(run.state["harness.classification"]) == CALLS
    return {"verdicts_per_run": float(len(verdicts))}


def bench_classifier_alone(workspace: str) -> dict[str, float]:
    from loom_harness_classifier.classify import classify

    out = {}
    for label, (name, arguments) in zip(("shell", "read", "compound_shell", "write"), MIX, strict=True):
        effects = {"shell": ("execute",), "read": ("read",), "write": ("mutate",)}[name]
        n = 5000
        calls = [{k: v.replace("{n}", f"x{i}") for k, v in arguments.items()} for i in range(n)]
        gc.collect()  # every call type starts from the same collector state
        start = time.process_time()
        for args in calls:
            classify(name, args, effects, workspace)
        out[f"classify_alone_us_{label}"] = (time.process_time() - start) / n * 1e6
    return out


def overhead(workspace: str, unique: bool) -> tuple[dict[str, float], AgentRuntime]:
    """Interleaved runs with and without the harness; medians per tool call."""
    with_harness, without = runtime(workspace, True, unique), runtime(workspace, False, unique)
    for _ in range(3):  # warm-up
        cpu_per_call(with_harness)
        cpu_per_call(without)
    # Everything alive now (modules, both runtimes) stays out of later collections, so a full
    # collection of that heap does not land at random in one arm's sample; the same for both arms.
    gc.collect()
    gc.freeze()
    samples: dict[str, list[float]] = {"with": [], "without": [], "diff": []}
    for _ in range(RUNS):
        a = cpu_per_call(with_harness)
        b = cpu_per_call(without)
        samples["with"].append(a)
        samples["without"].append(b)
        samples["diff"].append(a - b)
    label = "unique_arguments" if unique else "repeated_arguments"
    return {
        f"{label}_cpu_us_per_call_without_harness": statistics.median(samples["without"]),
        f"{label}_cpu_us_per_call_with_harness": statistics.median(samples["with"]),
        f"{label}_overhead_us_per_call_median": statistics.median(samples["diff"]),
        f"{label}_overhead_us_per_call_p90": sorted(samples["diff"])[int(RUNS * 0.9) - 1],
    }, with_harness


def main() -> None:
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        workspace = str(Path(tmp).resolve())
        for unique in (False, True):
            figures, with_harness = overhead(workspace, unique)
            results.update(figures)
            results.update(check_decisions(with_harness))
        results.update(bench_classifier_alone(workspace))
    results.update({"target_us": TARGET_US, "load_average_1min": os.getloadavg()[0],
                    "cpus": float(os.cpu_count() or 0)})
    width = max(map(len, results))
    for key, value in results.items():
        print(f"{key:<{width}}  {value:10.2f}")
    for label in ("repeated_arguments", "unique_arguments"):
        median = results[f"{label}_overhead_us_per_call_median"]
        verdict = "within" if median <= TARGET_US else "OVER"
        print(f"{label.replace('_', ' ')}: {median:.0f} µs per call, {verdict} the "
              f"{TARGET_US:.0f} µs target")
    out = Path(__file__).with_name("results")
    out.mkdir(exist_ok=True)
    (out / "harness_overhead.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
