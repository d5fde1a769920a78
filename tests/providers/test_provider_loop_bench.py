"""The provider benchmark compares like with like: Loom and the raw SDK loop
send the same requests, byte for byte, for the same K-step run."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from loom_wire_servers import OpenAIServer

BENCH = Path(__file__).resolve().parents[2] / "bench" / "provider_loop.py"


def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("provider_loop_bench", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


async def test_loom_and_the_raw_loop_send_identical_requests() -> None:
    pl = bench()
    server = OpenAIServer(script=pl.scripted_model(), models=(pl.MODEL,))
    await asyncio.to_thread(server.start)
    try:
        runtime = pl.loom_runtime(server.base_url)
        run = await pl.loom_run(runtime)
        await runtime.provider.aclose()
        loom_requests = server.requests
        server.clear_requests()
        client = pl.raw_client(server.base_url)
        await pl.raw_run(client, run.window.system_prompt())
        await client.close()
        raw_requests = server.requests
    finally:
        await asyncio.to_thread(server.stop)
    assert len(loom_requests) == len(raw_requests) == pl.STEPS
    for ours, theirs in zip(loom_requests, raw_requests, strict=True):
        assert ours.raw_body == theirs.raw_body
    last = loom_requests[-1].body
    results = [m for m in last["messages"] if m["role"] == "tool"]
    assert len(results) == pl.K and all(len(m["content"]) > 2000 for m in results)
    assert [t["function"]["name"] for t in last["tools"]] == ["lookup"]
