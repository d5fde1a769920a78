"""Provider loop: a K=20 tool-loop agent on the OpenAI wire protocol, Loom vs the raw SDK.

Run: ``python3 scripts/bench.py providers`` (or ``.venv/bin/python bench/provider_loop.py``).

A local OpenAI-compatible server (``loom_wire_servers.OpenAIServer``) runs in
its own process, so every CPU figure belongs to the client alone. Its script
asks for the ``lookup`` tool until 20 tool results are in the conversation,
then answers; each tool result is a few KB of realistic text.

Two clients do the same work against it, interleaved in the same run:

- **loom**: ``AgentRuntime`` with ``OpenAIProvider(base_url=..., api_key="test")``
  and the default plugin set loaded from entry points (``[stages] store =
  "none"``; ``--store`` adds a second Loom variant with the default store);
- **raw**: a hand-written loop on ``openai.AsyncOpenAI`` with the same system
  prompt, tool, messages and model options.

Figures: client CPU ms and wall ms per step (one run at a time), steps/s and
CPU ms per step with 100 concurrent runs, and the RSS of a fresh process
(after one run, and its peak over one round of 100 concurrent runs, and the
difference); all also as ratios Loom / raw.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

K = 20  # tool calls per run (a run is K + 1 model calls)
STEPS = K + 1
MODEL = "gpt-4o-mini"
GOAL = "Collect the twenty project notes with the lookup tool, then summarise them."
TOOL_DESCRIPTION = "Look up one topic in the project knowledge base."
TOOL_PARAMETERS: dict[str, Any] = {
    "additionalProperties": False,
    "properties": {"query": {"description": "what to look up, e.g. 'topic 3'.", "type": "string"}},
    "required": ["query"],
    "type": "object",
}
_WORDS = ("scheduler worker queue retry backoff lease shard replica index cache token budget "
          "window partition snapshot checkpoint journal compaction latency throughput naïve "
          "café façade über résumé handler config \"quoted\" path/to/file.py line→column").split()


def tool_output(n: int) -> str:
    """A realistic tool result of about 3 KB: a file listing, code and log lines."""
    rng = random.Random(n)
    lines = [f"# topic {n}: {' '.join(rng.choices(_WORDS, k=6))}"]
    for _ in range(12):
        lines.append(f"src/pkg/module_{rng.randrange(100)}.py:{rng.randrange(1, 900)}: "
                     f"{' '.join(rng.choices(_WORDS, k=8))}")
    lines.append("```python")
    for i in range(10):
        lines.append(f"    def step_{i}(self, value: int) -> dict[str, object]:  "
                     f"# {' '.join(rng.choices(_WORDS, k=4))}")
        lines.append(f"        return {{\"value\": value * {i}, \"tag\": \"{rng.choice(_WORDS)}\"}}")
    lines.append("```")
    for i in range(8):
        lines.append(f"2025-01-0{1 + i % 9}T12:{i:02d}:00Z WARN {' '.join(rng.choices(_WORDS, k=7))}"
                     f"\t(took {rng.randrange(5, 900)} ms)")
    return "\n".join(lines)


OUTPUTS = [tool_output(n) for n in range(K)]


def lookup_text(query: str) -> str:
    """The tool's answer for ``query`` (``"topic N"``)."""
    try:
        n = int(query.rsplit(" ", 1)[-1])
    except ValueError:
        n = len(query)
    return OUTPUTS[n % K]


# ------------------------------------------------------------------ the server


def scripted_model(on_request: Any = None) -> Any:
    """The server's script: call ``lookup`` until K results are in, then answer.

    Call ids are deterministic, so both clients send identical bodies.
    """
    from loom_wire_servers import Reply, ToolCall, Usage

    def script(request: Any) -> Any:
        if on_request is not None:
            on_request()
        done = sum(len(m.tool_results) for m in request.messages)
        usage = Usage(input_tokens=1000 + 900 * done, output_tokens=24)
        if done >= K:
            return Reply(text=f"All {done} notes are collected; they agree.", usage=usage)
        return Reply(tool_calls=[ToolCall("lookup", {"query": f"topic {done}"}, id=f"call_{done}")],
                     usage=usage)

    return script


def serve() -> None:
    """Serve the scripted OpenAI API until standard input closes."""
    from loom_wire_servers import OpenAIServer

    server = OpenAIServer(models=(MODEL,))
    server.set_script(scripted_model(server.clear_requests))  # keep no recording
    with server:
        print(server.base_url, flush=True)
        sys.stdin.read()


class ServerProcess:
    """The scripted server in a child process."""

    def __enter__(self) -> str:
        self.proc = subprocess.Popen([sys.executable, __file__, "--serve"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        return self.proc.stdout.readline().strip()

    def __exit__(self, *exc: object) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


# -------------------------------------------------------------------- clients


def loom_runtime(base_url: str, *, store: bool = False) -> Any:
    """Loom with the installed default plugin set and the OpenAI provider."""
    from loom.api import AgentRuntime
    from loom.config import load_config
    from loom.hookspecs import hookimpl
    from loom.profile import AgentProfile
    from loom.tools import tool
    from loom_provider_openai.provider import OpenAIProvider

    @tool(name="lookup", description=TOOL_DESCRIPTION, blocking=False)
    def lookup(query: str) -> str:
        """Look up one topic.

        Args:
            query: what to look up, e.g. 'topic 3'.
        """
        return lookup_text(query)

    assert lookup.spec.parameters == TOOL_PARAMETERS, lookup.spec.parameters

    class BenchTools:
        @hookimpl
        def loom_register_tools(self) -> list[Any]:
            return [lookup]

    data: dict[str, Any] = {} if store else {"stages": {"store": "none"}}
    return AgentRuntime(
        profile=AgentProfile(max_steps=50, tools=["lookup"]),
        provider=OpenAIProvider(base_url=base_url, api_key="test", model=MODEL),
        config=load_config(data=data, environ={}), plugins=[BenchTools()],
        workspace=Path(__file__).parent)


async def loom_run(runtime: Any) -> Any:
    run = runtime.create_session().create_task(GOAL).start()
    result = await run.wait()
    assert result.ok and result.steps == STEPS, result
    return run


def raw_client(base_url: str) -> Any:
    import openai

    return openai.AsyncOpenAI(base_url=base_url, api_key="test", max_retries=0)


RAW_TOOLS = [{"type": "function", "function": {
    "name": "lookup", "description": TOOL_DESCRIPTION, "parameters": TOOL_PARAMETERS}}]


async def raw_run(client: Any, system: str) -> list[dict[str, Any]]:
    """The same conversation through a minimal hand-written loop on the SDK."""
    messages: list[dict[str, Any]] = [{"role": "system", "content": system},
                                      {"role": "user", "content": GOAL}]
    steps = 0
    while True:
        completion = await client.chat.completions.create(
            model=MODEL, messages=messages, tools=RAW_TOOLS, max_tokens=4096)
        steps += 1
        message = completion.choices[0].message
        if not message.tool_calls:
            assert steps == STEPS and message.content, (steps, message)
            return messages
        messages.append({"role": "assistant", "content": message.content, "tool_calls": [
            {"id": c.id, "type": "function",
             "function": {"name": c.function.name, "arguments": c.function.arguments}}
            for c in message.tool_calls]})
        for call in message.tool_calls:
            arguments = json.loads(call.function.arguments)
            messages.append({"role": "tool", "tool_call_id": call.id,
                             "content": lookup_text(arguments["query"])})


# ---------------------------------------------------------------- measurement


async def timed(make: Any, n: int = 1) -> tuple[float, float]:
    """(CPU ms, wall ms) per step of ``n`` concurrent runs made by ``make``."""
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(make() for _ in range(n)))
    steps = n * STEPS
    return ((time.process_time() - cpu) * 1000 / steps, (time.perf_counter() - wall) * 1000 / steps)


async def measure(base_url: str, reps: int, conc_reps: int, concurrent: int,
                  with_store: bool) -> dict[str, Any]:
    runtimes = {"loom": loom_runtime(base_url)}
    if with_store:
        runtimes["loom_store"] = loom_runtime(base_url, store=True)
    run = await loom_run(runtimes["loom"])
    system = run.window.system_prompt()
    client = raw_client(base_url)
    sent = await raw_run(client, system)
    # The two clients hold the same conversation (ids aside).
    loom_roles = [m.role for m in run.window.history]
    raw_roles = [m["role"] for m in sent[1:]] + ["assistant"]
    assert loom_roles == raw_roles, (loom_roles, raw_roles)

    makers: dict[str, Any] = {name: (lambda rt=rt: loom_run(rt)) for name, rt in runtimes.items()}
    makers["raw"] = lambda: raw_run(client, system)
    for make in makers.values():  # warm-up
        for _ in range(3):
            await make()
    seq: dict[str, dict[str, list[float]]] = {n: {"cpu": [], "wall": []} for n in makers}
    order = list(makers.items())
    for rep in range(reps):  # interleaved (order alternating), so noise hits every variant alike
        for name, make in order if rep % 2 == 0 else order[::-1]:
            cpu, wall = await timed(make)
            seq[name]["cpu"].append(cpu)
            seq[name]["wall"].append(wall)
    conc: dict[str, dict[str, list[float]]] = {n: {"cpu": [], "wall": []} for n in makers}
    for make in makers.values():  # warm the connection pools
        await timed(make, concurrent)
    for rep in range(conc_reps):
        for name, make in order if rep % 2 == 0 else order[::-1]:
            cpu, wall = await timed(make, concurrent)
            conc[name]["cpu"].append(cpu)
            conc[name]["wall"].append(wall)
    for runtime in runtimes.values():
        await runtime.provider.aclose()
    await client.close()
    med = statistics.median
    out: dict[str, Any] = {}
    for name in makers:
        out[name] = {
            "cpu_ms_per_step": med(seq[name]["cpu"]),
            "wall_ms_per_step": med(seq[name]["wall"]),
            "concurrent_steps_per_s": 1000 / med(conc[name]["wall"]),
            "concurrent_cpu_ms_per_step": med(conc[name]["cpu"]),
        }
    out["samples"] = {"sequential": seq, "concurrent": conc}
    return out


async def rss_child(variant: str, base_url: str, concurrent: int, system: str) -> None:
    """One warm-up run, then one round of ``concurrent`` runs; print the peak
    RSS after the warm-up and at the end, in MB."""
    if variant == "raw":
        client = raw_client(base_url)
        await raw_run(client, system)
        warm = peak_rss_mb()
        await asyncio.gather(*(raw_run(client, system) for _ in range(concurrent)))
    else:
        runtime = loom_runtime(base_url, store=variant == "loom_store")
        await loom_run(runtime)
        warm = peak_rss_mb()
        await asyncio.gather(*(loom_run(runtime) for _ in range(concurrent)))
    print(warm, peak_rss_mb())


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MB.

    Linux keeps ``ru_maxrss`` across ``exec``, so a child started by a big
    parent would report the parent's peak; ``VmHWM`` belongs to the new
    program alone. Elsewhere ``getrusage`` is used.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 / (1024 if sys.platform == "darwin" else 1)


def peak_rss(variants: list[str], base_url: str, concurrent: int, system: str,
             reps: int) -> dict[str, tuple[float, float]]:
    """Per variant, medians of (RSS after one run, peak RSS after ``concurrent`` runs)."""
    samples: dict[str, list[tuple[float, float]]] = {v: [] for v in variants}
    for _ in range(reps):
        for variant in variants:
            out = subprocess.run(
                [sys.executable, __file__, "--rss-child", variant, "--base-url", base_url,
                 "--concurrent", str(concurrent), "--system", system],
                check=True, capture_output=True, text=True)
            warm, peak = out.stdout.strip().splitlines()[-1].split()
            samples[variant].append((float(warm), float(peak)))
    return {v: (statistics.median(w for w, _ in s), statistics.median(p for _, p in s))
            for v, s in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=15, help="sequential runs per variant")
    parser.add_argument("--concurrent", type=int, default=100, help="runs in flight at once")
    parser.add_argument("--concurrent-reps", type=int, default=3)
    parser.add_argument("--rss-reps", type=int, default=3)
    parser.add_argument("--store", action="store_true", help="also measure Loom with its store")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--rss-child", help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--system", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve()
        return
    if args.rss_child:
        asyncio.run(rss_child(args.rss_child, args.base_url, args.concurrent, args.system))
        return

    with ServerProcess() as base_url:
        figures = asyncio.run(measure(base_url, args.reps, args.concurrent_reps, args.concurrent,
                                      args.store))
        runtime = loom_runtime(base_url)
        system = asyncio.run(_system_prompt(runtime))
        variants = ["loom", "raw"] + (["loom_store"] if args.store else [])
        rss = peak_rss(variants, base_url, args.concurrent, system, args.rss_reps)
    for variant, (warm, peak) in rss.items():
        figures[variant]["rss_after_one_run_mb"] = warm
        figures[variant]["peak_rss_mb"] = peak
        figures[variant]["rss_growth_concurrent_mb"] = peak - warm
    report(figures, variants, args)


async def _system_prompt(runtime: Any) -> str:
    run = await loom_run(runtime)
    await runtime.provider.aclose()
    return str(run.window.system_prompt())


def report(figures: dict[str, Any], variants: list[str], args: argparse.Namespace) -> None:
    metrics = ["cpu_ms_per_step", "wall_ms_per_step", "concurrent_steps_per_s",
               "concurrent_cpu_ms_per_step", "peak_rss_mb", "rss_after_one_run_mb",
               "rss_growth_concurrent_mb"]
    raw = figures["raw"]
    header = f"{'metric':<28}" + "".join(f"{v:>12}" for v in variants) + "".join(
        f"{v + '/raw':>16}" for v in variants if v != "raw")
    print(f"K={K} tool calls ({STEPS} model calls) per run; sequential medians of {args.reps} "
          f"runs, concurrent {args.concurrent} runs x {args.concurrent_reps}")
    print(header)
    ratios: dict[str, float] = {}
    for metric in metrics:
        row = f"{metric:<28}" + "".join(f"{figures[v][metric]:>12.3f}" for v in variants)
        for v in variants:
            if v == "raw":
                continue
            ratio = figures[v][metric] / raw[metric]
            ratios[f"{v}_{metric}_ratio"] = ratio
            row += f"{ratio:>15.2f}x"
        print(row)
    out = Path(__file__).with_name("results")
    out.mkdir(exist_ok=True)
    result = {"k": K, "steps_per_run": STEPS, "concurrent": args.concurrent,
              **{v: {m: figures[v][m] for m in metrics} for v in variants}, "ratios": ratios,
              "samples": figures["samples"]}
    (out / "provider_loop.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
