"""Kernel overhead: CPU per loop step, hook dispatch per call, import and CLI start-up.

Run: ``python3 scripts/bench.py kernel`` (or ``.venv/bin/python bench/kernel_overhead.py``).

The agent loop runs a scripted model (no network) with the default plugin set
loaded from entry points. The same scripted model and tool are driven by a
hand-written minimal loop in the same process, interleaved, so the figures
are reported both absolutely and as a ratio to that raw loop.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from loom.api import AgentRuntime
from loom.config import load_config
from loom.hookspecs import hookimpl
from loom.messages import Message, ToolResultBlock
from loom.profile import AgentProfile
from loom.requests import ModelRequest
from loom.testing import ScriptedModel, call
from loom.tools import tool
from loom.verdicts import ProposedAction, Verdict

STEPS = 20
RUNS = 30


@tool(blocking=False)
def bump(n: int) -> int:
    """Add one."""
    return n + 1


class BenchTools:
    @hookimpl
    def loom_register_tools(self) -> list[Any]:
        return [bump]


def script(steps: int) -> Any:
    def reply(request: ModelRequest) -> Any:
        done = sum(1 for m in request.messages if m.role == "tool")
        return "finished" if done >= steps else call("bump", n=done)

    return reply


def loom_runtime(entry_points: bool = True) -> AgentRuntime:
    """A runtime with the installed (default) plugin set, or the kernel alone.

    The store is off: disk commits are the store plugin's cost, not the loop's.
    """
    return AgentRuntime(profile=AgentProfile(max_steps=STEPS + 5, tools=["bump"]),
                        provider=ScriptedModel(script(STEPS)),
                        config=load_config(data={"stages": {"store": "none"}}, environ={}),
                        plugins=[BenchTools()], entry_points=entry_points)


async def loom_run(runtime: AgentRuntime) -> None:
    result = await runtime.create_session().create_task("count").start().wait()
    assert result.ok and result.steps == STEPS + 1, result


async def raw_run() -> None:
    """The same model and tool, driven by a minimal hand-written loop."""
    model = ScriptedModel(script(STEPS))
    history = [Message.text("user", "count")]
    handler = bump.handler
    while True:
        response = await model.complete(ModelRequest(system="s", messages=list(history),
                                                     tools=[bump.spec]))  # type: ignore[list-item]
        history.append(response.message)
        calls = response.message.tool_calls
        if not calls:
            return
        results = [ToolResultBlock(call_id=c.id, content=str(await handler(c.arguments, None)))
                   for c in calls]
        history.append(Message(role="tool", content=list(results)))


def cpu_per_step(fn: Any) -> float:
    start = time.process_time()
    asyncio.run(fn())
    return (time.process_time() - start) / (STEPS + 1) * 1e6


def bench_loop() -> dict[str, float]:
    default_set, kernel_only = loom_runtime(True), loom_runtime(False)
    samples: dict[str, list[float]] = {"default": [], "kernel": [], "raw": []}
    for _ in range(3):  # warm-up
        asyncio.run(loom_run(default_set))
        asyncio.run(loom_run(kernel_only))
        asyncio.run(raw_run())
    for _ in range(RUNS):  # interleaved, so machine noise hits all three alike
        samples["default"].append(cpu_per_step(lambda: loom_run(default_set)))
        samples["kernel"].append(cpu_per_step(lambda: loom_run(kernel_only)))
        samples["raw"].append(cpu_per_step(raw_run))
    default, kernel, raw = (statistics.median(samples[k]) for k in ("default", "kernel", "raw"))
    loaded = sum(1 for i in default_set.plugins.infos.values() if i.status == "loaded")
    return {"raw_loop_cpu_us_per_step": raw,
            "kernel_only_cpu_us_per_step": kernel,
            "kernel_only_overhead_us_per_step": kernel - raw,
            "default_set_cpu_us_per_step": default,
            "default_set_overhead_us_per_step": default - raw,
            "default_set_ratio_to_raw": default / raw,
            "default_set_plugins_loaded": float(loaded)}


def bench_dispatch() -> dict[str, float]:
    class First:
        @hookimpl
        async def loom_plan(self, goal: str) -> None:
            return None

    class Veto:
        @hookimpl
        def loom_veto(self, action: ProposedAction) -> Verdict | None:
            return None

    runtime = AgentRuntime(provider=ScriptedModel([]), config=load_config(data={}, environ={}),
                           plugins=[First(), Veto()], entry_points=False)
    d = runtime.plugins.dispatcher
    action = ProposedAction(call_id="1", tool="t")
    n = 20_000

    async def go() -> dict[str, float]:
        out = {}
        for label, make in (
            ("first_async_impl", lambda: d.first("loom_plan", goal="g", run=None)),
            ("veto_fold_sync_impl", lambda: d.veto("loom_veto", action=action, run=None)),
            ("notify_no_impl", lambda: d.notify("loom_step_finished", outcome=None, run=None)),
        ):
            for _ in range(1000):
                await make()
            start = time.perf_counter()
            for _ in range(n):
                await make()
            out[f"dispatch_us_{label}"] = (time.perf_counter() - start) / n * 1e6
        return out

    return asyncio.run(go())


def bench_startup() -> dict[str, float]:
    def timed(args: list[str], reps: int = 7) -> float:
        samples = []
        for _ in range(reps):
            start = time.perf_counter()
            subprocess.run(args, check=True, capture_output=True)
            samples.append(time.perf_counter() - start)
        return statistics.median(samples) * 1000

    base = timed([sys.executable, "-c", "pass"])
    loom_cli = str(Path(sys.executable).with_name("loom"))
    return {
        "python_startup_ms": base,
        "import_loom_ms": timed([sys.executable, "-c", "import loom"]) - base,
        "import_loom_api_ms": timed([sys.executable, "-c", "import loom.api"]) - base,
        "loom_help_ms": timed([loom_cli, "--help"]) if Path(loom_cli).exists() else -1.0,
    }


def main() -> None:
    results: dict[str, float] = {}
    results.update(bench_loop())
    results.update(bench_dispatch())
    results.update(bench_startup())
    width = max(map(len, results))
    for key, value in results.items():
        print(f"{key:<{width}}  {value:10.2f}")
    out = Path(__file__).with_name("results")
    out.mkdir(exist_ok=True)
    (out / "kernel_overhead.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
