"""A small agent and a writer for the store tests, usable in the test process or as a worker.

``python store_worker.py SPEC MODE COUNT TAG`` builds the store described by
the JSON ``SPEC`` (``{"cls": "module:Class", "kwargs": {...}}``) and writes to
it: ``MODE=agents`` runs COUNT agent runs at once (STEPS tool steps each);
``MODE=commits`` writes COUNT runs straight through the store contract.
It prints one JSON line: the run ids it wrote.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
from typing import Any

from loom.api import AgentRuntime
from loom.config import load_config
from loom.events import Event
from loom.hookspecs import hookimpl
from loom.profile import AgentProfile
from loom.requests import ModelRequest
from loom.run import RunResult
from loom.store import Checkpoint, RunInfo
from loom.testing import ScriptedModel, StorePlugin, call
from loom.tools import tool

STEPS = 4
COMMITS_PER_RUN = 6


@tool
def bump(n: int) -> str:
    """Count one step of work."""
    return f"bumped {n}"


class BumpTools:
    """Registers the ``bump`` tool."""

    @hookimpl
    def loom_register_tools(self) -> list[Any]:
        return [bump]


def script(request: ModelRequest) -> Any:
    """Call ``bump`` STEPS times, then answer with how many tool results it saw."""
    done = sum(1 for m in request.messages if m.role == "tool")
    return f"done after {done}" if done >= STEPS else call("bump", n=done)


def runtime(store: Any) -> AgentRuntime:
    """A runtime with the bump agent persisting to ``store``."""
    return AgentRuntime(profile=AgentProfile(), provider=ScriptedModel(script),
                        config=load_config(data={}, environ={}),
                        plugins=[BumpTools(), StorePlugin(store)], entry_points=False)


async def run_agents(store: Any, count: int, tag: str) -> list[RunResult]:
    """``count`` agent runs at once on one runtime."""
    rt = runtime(store)
    runs = [rt.create_session().create_task(f"{tag} goal {i}").start() for i in range(count)]
    return list(await asyncio.gather(*(r.wait() for r in runs)))


async def write_commits(store: Any, count: int, tag: str) -> list[str]:
    """``count`` runs written straight through the contract, COMMITS_PER_RUN steps each."""
    ids = []
    for i in range(count):
        run_id = f"{tag}-{i}"
        await store.create_run(RunInfo(run_id=run_id, session_id=tag, goal=f"goal {i}",
                                       created_at=1.0, updated_at=1.0))
        seq = 0
        for step in range(1, COMMITS_PER_RUN + 1):
            key = f"{run_id}:call{step}"
            await store.tool_call_started(key, run_id, {"id": f"call{step}"})
            await store.tool_call_finished(key, {"content": f"r{step}"})
            events = [Event(kind="step.started", run_id=run_id, seq=seq, data={"step": step}),
                      Event(kind="step.finished", run_id=run_id, seq=seq + 1, data={"step": step})]
            seq += 2
            await store.commit_step(Checkpoint(run_id=run_id, step=step, phase="ready",
                                               window={"history": []}, event_seq=seq,
                                               response={"n": step}), events)
        await store.finish_run(RunInfo(run_id=run_id, session_id=tag, goal=f"goal {i}",
                                       status="succeeded", output=f"out {i}", updated_at=2.0), [])
        ids.append(run_id)
    return ids


def build(spec: dict[str, Any]) -> Any:
    """The store a spec describes."""
    module, _, name = spec["cls"].partition(":")
    return getattr(importlib.import_module(module), name)(**spec["kwargs"])


async def main(spec: dict[str, Any], mode: str, count: int, tag: str) -> list[str]:
    """Open the store, write, close; the run ids written."""
    store = build(spec)
    await store.open()
    try:
        if mode == "agents":
            results = await run_agents(store, count, tag)
            assert all(r.status == "succeeded" for r in results), results
            return [r.run_id for r in results]
        return await write_commits(store, count, tag)
    finally:
        await store.close()


if __name__ == "__main__":
    spec_text, mode_arg, count_arg, tag_arg = sys.argv[1:5]
    written = asyncio.run(main(json.loads(spec_text), mode_arg, int(count_arg), tag_arg))
    print(json.dumps(written))
