"""The Quick Start, exactly as published, runs against the local Anthropic server.

It runs in its own process, as a notebook cell would (top-level ``await``),
with only ``ANTHROPIC_BASE_URL`` and ``ANTHROPIC_API_KEY`` set: the SDK reads
both, so the provider must not override them when it is given no base URL,
and ``api_key=...`` must leave the key to the environment.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from loom_wire_servers import AnthropicServer, Reply

QUICK_START = """\
from loom.api import AgentRuntime, AgentProfile
from loom.providers import AnthropicProvider
runtime = AgentRuntime(profile=AgentProfile.from_preset("default"), provider=AnthropicProvider(api_key=...))
session = runtime.create_session()
task = session.create_task("...")
run = task.start()
result = await run.wait()
print(result.output)
"""

#: Runs a file the way a notebook runs a cell: top-level ``await`` allowed.
NOTEBOOK_CELL = (
    "import ast, asyncio, sys\n"
    "path = sys.argv[1]\n"
    "code = compile(open(path).read(), path, 'exec', flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)\n"
    "cell = eval(code, {'__name__': '__main__'})\n"
    "if cell is not None:\n"
    "    asyncio.run(cell)\n"
)


def test_quick_start_runs_verbatim_against_the_local_server(tmp_path: Path) -> None:
    script = tmp_path / "quick_start.py"
    script.write_text(QUICK_START, encoding="utf-8")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ANTHROPIC_", "OPENAI_", "GEMINI_", "GOOGLE_", "LOOM_"))}
    with AnthropicServer(script=[Reply(text="Hello from the local Anthropic server.")],
                         api_key="test") as server:
        env.update(ANTHROPIC_BASE_URL=server.base_url, ANTHROPIC_API_KEY="test")
        done = subprocess.run([sys.executable, "-c", NOTEBOOK_CELL, str(script)], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=120)
        requests = server.requests
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "Hello from the local Anthropic server."
    [request] = requests
    assert "test" in (request.header("x-api-key"), request.header("authorization", "")[7:])
    assert request.body["messages"][-1]["content"][-1]["text"] == "..."
