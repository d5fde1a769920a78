"""An agent process for the crash tests: eight tool steps persisted to a SQLite store.

``python crash_agent.py start DB COUNTER`` starts a run (its id is the first
line printed); ``python crash_agent.py resume DB COUNTER RUN_ID`` resumes it.
Both print ``RESULT {json}`` when the run ends. The ``work`` tool appends its
label to COUNTER (so executions can be counted from outside); when
``LOOM_CRASH_AT=k`` is set, the process kills itself with SIGKILL right
after the k-th line is written, as a crash in the middle of a tool call.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sys
import time
from pathlib import Path
from typing import Any

import loom_memory_sqlite
from loom.api import AgentRuntime
from loom.config import load_config
from loom.hookspecs import hookimpl
from loom.profile import AgentProfile
from loom.requests import ModelRequest
from loom.testing import ScriptedModel, call
from loom.tools import tool

STEPS = 8
COUNTER = Path(os.environ.get("LOOM_CRASH_COUNTER", "counter.txt"))


@tool
def work(label: str) -> str:
    """Do one unit of work (appends its label to the counter file)."""
    with COUNTER.open("a") as f:
        f.write(label + "\n")
        f.flush()
        os.fsync(f.fileno())
    lines = len(COUNTER.read_text().splitlines())
    if os.environ.get("LOOM_CRASH_AT") == str(lines):
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(random.uniform(0, 0.004))
    return f"{label} done"


class WorkTools:
    """Registers the ``work`` tool."""

    @hookimpl
    def loom_register_tools(self) -> list[Any]:
        return [work]


def script(request: ModelRequest) -> Any:
    """Ask for ``work`` STEPS times, one step after another, then name the steps done."""
    labels = [c.arguments["label"] for m in request.messages for c in m.tool_calls]
    if len(labels) >= STEPS:
        return f"finished {len(labels)} steps: {','.join(labels)}"
    return call("work", label=f"step-{len(labels) + 1}")


def runtime(db: str) -> AgentRuntime:
    """A runtime whose store is the ``sqlite`` record, configured like loom.toml would."""
    config = load_config(data={"stages": {"store": "sqlite"},
                               "settings": {"sqlite": {"path": db}}}, environ={})
    return AgentRuntime(profile=AgentProfile(max_steps=STEPS + 4), provider=ScriptedModel(script),
                        config=config, plugins=[WorkTools(), loom_memory_sqlite],
                        entry_points=False)


async def main(mode: str, db: str, run_id: str | None) -> None:
    """Start or resume the run and print its result."""
    rt = runtime(db)
    if mode == "start":
        run = rt.create_session().create_task("do eight steps of work").start()
        print(run.id, flush=True)
    else:
        assert run_id is not None
        run = await rt.resume(run_id)
    result = await run.wait()
    print("RESULT " + json.dumps({"status": result.status, "output": result.output,
                                  "error": result.error}), flush=True)


if __name__ == "__main__":
    mode_arg, db_arg, counter_arg = sys.argv[1:4]
    COUNTER = Path(counter_arg)
    asyncio.run(main(mode_arg, db_arg, sys.argv[4] if len(sys.argv) > 4 else None))
