"""``loom mcp serve``: Loom as an MCP server, checked with the official MCP client SDK."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import loom_mcp
import loom_subagents
import pytest
from loom.hookspecs import hookimpl
from loom.records import Record
from loom.requests import ModelRequest
from loom.testing import LoomHarness, call
from loom.tools import tool
from loom.verdicts import Verdict
from loom_mcp.serve import LoomMcpServer
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

pytestmark = pytest.mark.usefixtures("no_leaked_processes")

TOOLS_PLUGIN = '''
from loom.hookspecs import hookimpl
from loom.tools import tool
from loom.verdicts import Verdict


@tool(effects={"read"}, idempotent=True)
def shout(text: str) -> str:
    """Upper-case a text.

    Args:
        text: the text to upper-case.
    """
    return text.upper()


@tool(effects={"destroy"})
def wipe(path: str) -> str:
    """Delete a folder."""
    return "wiped " + path


@hookimpl
def loom_register_tools():
    return [shout, wipe]


@hookimpl
def loom_veto(action):
    if action.tool == "wipe":
        return Verdict.deny("wiping is never allowed", rule="no-wipe")
    return None
'''


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project whose loom.toml loads a local plugin with two tools and a veto rule."""
    (tmp_path / "tools_plugin.py").write_text(TOOLS_PLUGIN)
    (tmp_path / "loom.toml").write_text('[plugins]\nenable = []\npaths = ["tools_plugin.py"]\n')
    return tmp_path


def serve_command(project: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "loom_cli", "mcp", "serve", "-c", str(project / "loom.toml"), *extra]


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("LOOM_") and not k.endswith("_API_KEY")}


@asynccontextmanager
async def stdio_session(project: Path, *extra: str) -> AsyncIterator[ClientSession]:
    command = serve_command(project, *extra)
    params = StdioServerParameters(command=command[0], args=command[1:], cwd=project, env=clean_env())
    with open(os.devnull, "w") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                yield session


async def test_stdio_serves_the_profile_tools_through_the_harness(project: Path) -> None:
    async with stdio_session(project) as session:
        listed = {t.name: t for t in (await session.list_tools()).tools}
        assert set(listed) == {"shout", "wipe"}
        shout = listed["shout"]
        assert shout.description == "Upper-case a text."
        assert shout.input_schema["properties"]["text"]["description"] == "the text to upper-case."
        assert shout.annotations is not None and shout.annotations.read_only_hint
        wipe = listed["wipe"]
        assert wipe.annotations is not None and wipe.annotations.destructive_hint
        result = await session.call_tool("shout", {"text": "hello"})
        assert (result.is_error, result.content[0].text) == (False, "HELLO")  # type: ignore[union-attr]
        denied = await session.call_tool("wipe", {"path": "/"})
        assert denied.is_error
        assert "wiping is never allowed" in denied.content[0].text  # type: ignore[union-attr]
        invalid = await session.call_tool("shout", {"txt": "hello"})
        assert invalid.is_error
        assert "invalid arguments for 'shout'" in invalid.content[0].text  # type: ignore[union-attr]


async def test_stdio_serves_only_the_chosen_tools(project: Path) -> None:
    async with stdio_session(project, "--tool", "shout") as session:
        assert [t.name for t in (await session.list_tools()).tools] == ["shout"]


def test_an_unknown_tool_name_is_a_usage_error(project: Path) -> None:
    done = subprocess.run(serve_command(project, "--tool", "shuot"), cwd=project, env=clean_env(),
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 2
    assert "no tool named 'shuot'" in done.stderr and "shout" in done.stderr


@pytest.fixture
def http_server(project: Path, port: int) -> Iterator[str]:
    process = subprocess.Popen(serve_command(project, "--http", str(port)), cwd=project,
                               env=clean_env(), stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        import socket
        import time

        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"loom mcp serve exited: {process.stderr.read()!r}")  # type: ignore[union-attr]
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(20)
        assert process.stderr is not None
        process.stderr.close()


async def test_http_serves_the_profile_tools(http_server: str) -> None:
    async with streamable_http_client(http_server) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            names = sorted(t.name for t in (await session.list_tools()).tools)
            assert names == ["shout", "wipe"]
            result = await session.call_tool("shout", {"text": "over http"})
            assert result.content[0].text == "OVER HTTP"  # type: ignore[union-attr]
            denied = await session.call_tool("wipe", {"path": "x"})
            assert denied.is_error


class CountingTool:
    """A plugin with one tool the served agent uses."""

    @hookimpl
    def loom_register_tools(self) -> list[Record]:
        @tool(effects={"read"})
        def letters(word: str) -> int:
            """Count the letters of a word."""
            return len(word)

        return [letters]


@asynccontextmanager
async def served_over_http(server: LoomMcpServer, port: int) -> AsyncIterator[tuple[ClientSession, Any]]:
    """Serve ``server`` over HTTP in this event loop; yield an initialized client session."""
    task = asyncio.create_task(server.serve_http("127.0.0.1", port))
    try:
        for _ in range(200):
            if server.started:
                break
            await asyncio.sleep(0.05)
        async with streamable_http_client(f"http://127.0.0.1:{port}/mcp") as (read, write):
            async with ClientSession(read, write) as session:
                yield session, await session.initialize()
    finally:
        server.stop()
        await asyncio.wait_for(task, 20)


async def test_agent_mode_runs_a_whole_agent_per_call(port: int) -> None:
    h = LoomHarness([call("letters", word="loom"), "The word has 4 letters.",
                     call("letters", word="x"), "unused"],
                    plugins=[CountingTool()])
    async with served_over_http(LoomMcpServer(h.runtime, agent=True), port) as (session, init):
        assert init.server_info.name == "loom"
        [agent_tool] = (await session.list_tools()).tools
        assert agent_tool.name == "run_agent"
        assert agent_tool.input_schema["required"] == ["goal"]
        answer = await session.call_tool("run_agent", {"goal": "How many letters in loom?"})
        assert not answer.is_error
        assert answer.content[0].text == "The word has 4 letters."  # type: ignore[union-attr]
        h.runtime.profile = h.runtime.profile.model_copy(update={"max_steps": 1})
        stopped = await session.call_tool("run_agent", {"goal": "again"})
        assert stopped.is_error
        assert "ended stopped" in stopped.content[0].text  # type: ignore[union-attr]
        missing = await session.call_tool("run_agent", {})
        assert missing.is_error
    assert h.model.requests[0].messages[0].text_content == "How many letters in loom?"
    assert h.model.requests[1].messages[-1].tool_results[0].content == "4"


async def test_loom_bridges_to_loom_served_over_mcp(project: Path) -> None:
    served = {"command": sys.executable, "args": serve_command(project)[1:], "cwd": str(project),
              "namespace": True}
    h = LoomHarness([[call("loom_shout", text="round trip"), call("loom_wipe", path="/")], "done"],
                    plugins=[loom_mcp], config={"settings": {"mcp": {"servers": {"loom": served}}}})
    result = await h.run("shout it")
    assert result.ok, result.error
    shouted, wiped = [b for m in h.last_run.window.history for b in m.tool_results]
    assert (shouted.is_error, shouted.content) == (False, "ROUND TRIP")
    assert wiped.is_error and "wiping is never allowed" in wiped.content
    spec = h.last_run.tools["loom_wipe"].spec
    assert spec is not None and {e.value for e in spec.effects} == {"mutate", "destroy"}


def test_agent_mode_without_a_provider_says_so(project: Path) -> None:
    done = subprocess.run(serve_command(project, "--agent"), cwd=project, env=clean_env(),
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 4
    assert "no provider selected" in done.stderr


class AskForLetters:
    """A veto plugin asking a person before every ``letters`` call."""

    @hookimpl
    def loom_veto(self, action: Any) -> Verdict | None:
        return Verdict.ask("counting needs a person") if action.tool == "letters" else None


def delegating(request: ModelRequest) -> Any:
    """The sub-agent counts letters, then reports what it got."""
    results = [r for m in request.messages for r in m.tool_results]
    return call("letters", word="loom") if not results else "child got: " + results[-1].content


@pytest.mark.parametrize("approve", [False, True])
async def test_a_served_delegate_settles_its_sub_agents_approvals(port: int, approve: bool) -> None:
    h = LoomHarness(delegating, plugins=[CountingTool(), AskForLetters(), loom_subagents])
    async with served_over_http(LoomMcpServer(h.runtime, approve=approve), port) as (session, _):
        answer = await asyncio.wait_for(
            session.call_tool("delegate", {"goal": "count the letters of loom"}), 30)
    text = answer.content[0].text  # type: ignore[union-attr]
    if approve:
        assert text.endswith("Its answer:\nchild got: 4"), text
    else:
        assert "child got: Not run: a person denied this call (no person can be asked over MCP)" in text
