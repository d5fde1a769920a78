"""The MCP bridge against real third-party servers.

server-everything and server-filesystem (npm, installed by ``conftest.py``)
and mcp-server-time (PyPI) are started as real processes or HTTP servers.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import loom_mcp
import psutil
import pytest
from loom.errors import ToolError
from loom.hookspecs import hookimpl
from loom.messages import ToolResultBlock
from loom.requests import Effect
from loom.testing import LoomHarness, call
from loom.verdicts import Verdict
from loom_mcp.connection import McpServerError
from loom_mcp.settings import McpSettings
from loom_mcp.source import McpToolSource

pytestmark = pytest.mark.usefixtures("no_leaked_processes")

SERVERS = Path(__file__).resolve().parent / "servers"


def source(**servers: dict[str, Any]) -> McpToolSource:
    return McpToolSource(McpSettings.model_validate({"servers": servers}))


def events(src: McpToolSource) -> list[tuple[str, dict[str, Any]]]:
    seen: list[tuple[str, dict[str, Any]]] = []
    src.listeners.append(lambda kind, data: seen.append((kind, data)))
    return seen


async def call_tool(src: McpToolSource, tool: str, run: Any = None, /, **arguments: Any) -> str:
    result: str = await src.records[tool].handler(arguments, run)
    return result


def results(h: LoomHarness) -> list[ToolResultBlock]:
    return [b for m in h.last_run.window.history for b in m.tool_results]


def server_children(child_pids: Callable[[], set[int]], marker: str) -> list[psutil.Process]:
    found = []
    for pid in child_pids():
        try:
            process = psutil.Process(pid)
            if marker in " ".join(process.cmdline()):
                found.append(process)
        except psutil.NoSuchProcess:
            pass
    return found


async def ended(process: psutil.Process) -> None:
    """Wait until a killed child has died, leaving its reaping to the event loop."""
    for _ in range(100):
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                return
        except psutil.NoSuchProcess:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"process {process.pid} is still running")


async def test_lists_tools_with_their_schemas_effects_and_helpers(everything_js: str) -> None:
    src = source(every={"command": "node", "args": [everything_js]})
    try:
        records = {r.name: r for r in await src.list_tools()}
    finally:
        await src.close()
    echo = records["echo"].spec
    assert echo is not None
    assert echo.description == "Echoes back the input string"
    assert echo.parameters["properties"]["message"]["type"] == "string"
    assert echo.parameters["required"] == ["message"]
    assert echo.effects == {Effect.READ} and echo.idempotent
    assert echo.source == "mcp:every"
    gzip = records["gzip-file-as-resource"].spec
    assert gzip is not None and gzip.effects == {Effect.MUTATE, Effect.NETWORK}
    toggle = records["toggle-simulated-logging"].spec
    assert toggle is not None and toggle.effects == {Effect.MUTATE}
    assert {"get-sum", "mcp_list_resources", "mcp_read_resource", "mcp_list_prompts",
            "mcp_get_prompt"} <= set(records)


async def test_calls_tools_and_turns_content_blocks_into_text(everything_js: str) -> None:
    src = source(every={"command": "node", "args": [everything_js]})
    try:
        await src.list_tools()
        assert await call_tool(src, "echo", message="hello") == "Echo: hello"
        assert await call_tool(src, "get-sum", a=2, b=40) == "The sum of 2 and 40 is 42."
        image = await call_tool(src, "get-tiny-image")
        assert "[image image/png, " in image and " bytes]" in image
        links = await call_tool(src, "get-resource-links", count=2)
        assert links.count("[resource link ") == 2
        structured = await call_tool(src, "get-structured-content", location="New York")
        assert '"temperature"' in structured
    finally:
        await src.close()


async def test_a_tool_error_becomes_a_tool_error(everything_js: str, tmp_path: Path,
                                                 filesystem_js: str) -> None:
    src = source(every={"command": "node", "args": [everything_js]},
                 fs={"command": "node", "args": [filesystem_js, str(tmp_path)], "namespace": True})
    try:
        await src.list_tools()
        with pytest.raises(ToolError, match="Invalid arguments for tool get-sum"):
            await call_tool(src, "get-sum", a="two", b=40)
        with pytest.raises(ToolError, match="Access denied - path outside allowed directories"):
            await call_tool(src, "fs_read_text_file", path="/etc/hostname")
        assert await call_tool(src, "echo", message="still fine") == "Echo: still fine"
    finally:
        await src.close()


async def test_resources_and_prompts_are_reachable(everything_js: str) -> None:
    src = source(every={"command": "node", "args": [everything_js]})
    try:
        await src.list_tools()
        listing = await call_tool(src, "mcp_list_resources", server="every")
        uri = "demo://resource/static/document/architecture.md"
        assert f"{uri} | architecture.md (text/markdown)" in listing
        document = await call_tool(src, "mcp_read_resource", server="every", uri=uri)
        assert document.startswith(f"[resource {uri}]\n# Everything Server")
        prompts = await call_tool(src, "mcp_list_prompts", server="every")
        assert "simple-prompt" in prompts and "args-prompt(city, state?)" in prompts
        filled = await call_tool(src, "mcp_get_prompt", server="every", name="args-prompt",
                                 arguments={"city": "Lyon"})
        assert filled == "user: What's weather in Lyon?"
        with pytest.raises(ToolError, match="no MCP server named 'evry' \\(did you mean 'every'"):
            await call_tool(src, "mcp_list_prompts", server="evry")
    finally:
        await src.close()


async def test_a_killed_server_is_restarted_on_the_next_call(
        everything_js: str, child_pids: Callable[[], set[int]]) -> None:
    src = source(every={"command": "node", "args": [everything_js], "restart_backoff": 0.1})
    seen = events(src)
    try:
        await src.list_tools()
        assert await call_tool(src, "echo", message="one") == "Echo: one"
        [server] = server_children(child_pids, "server-everything")
        server.kill()
        await ended(server)
        assert await call_tool(src, "echo", message="two") == "Echo: two"
        [restarted] = server_children(child_pids, "server-everything")
        assert restarted.pid != server.pid
    finally:
        await src.close()
    [data] = [d for k, d in seen if k == "mcp.server_restarted"]
    assert data["server"] == "every" and data["restarts"] == 1 and data["delay"] == 0.1
    assert "closed the connection" in data["reason"]


async def test_a_server_that_keeps_crashing_is_given_up_and_reported(tmp_path: Path) -> None:
    script = tmp_path / "flaky.py"
    marker = tmp_path / "started"
    script.write_text(
        "import pathlib, runpy, sys\n"
        f"m = pathlib.Path({str(marker)!r})\n"
        "if m.exists(): sys.exit(3)\n"
        "m.write_text('x')\n"
        "sys.argv = ['mcp_server_time', '--local-timezone', 'UTC']\n"
        "runpy.run_module('mcp_server_time', run_name='__main__')\n")
    src = source(flaky={"command": sys.executable, "args": [str(script)], "max_restarts": 2,
                        "restart_backoff": 0.05})
    seen = events(src)
    try:
        await src.list_tools()
        [server] = [p for p in psutil.Process().children(recursive=True)
                    if str(script) in " ".join(p.cmdline())]
        server.kill()
        with pytest.raises(McpServerError, match="gave up after 2 restarts"):
            await call_tool(src, "get_current_time", timezone="UTC")
    finally:
        await src.close()
    failed = [d for k, d in seen if k == "mcp.server_failed"]
    assert failed and failed[0]["server"] == "flaky" and failed[0]["restarts"] == 2


async def test_streamable_http_server(everything_http: str) -> None:
    src = source(web={"url": everything_http, "namespace": True, "headers": {"X-Test": "1"}})
    try:
        names = [r.name for r in await src.list_tools()]
        assert "web_echo" in names and "web_get-sum" in names and "echo" not in names
        assert await call_tool(src, "web_echo", message="over http") == "Echo: over http"
        assert await call_tool(src, "web_get-sum", a=1, b=2) == "The sum of 1 and 2 is 3."
    finally:
        await src.close()


async def test_time_server_from_pypi(time_server: dict[str, Any]) -> None:
    src = source(time=time_server)
    try:
        names = [r.name for r in await src.list_tools()]
        assert names[:2] == ["get_current_time", "convert_time"]
        now = json.loads(await call_tool(src, "get_current_time", timezone="Asia/Tokyo"))
        assert now["timezone"] == "Asia/Tokyo"
        converted = json.loads(await call_tool(src, "convert_time", source_timezone="UTC",
                                               time="12:00", target_timezone="Asia/Kolkata"))
        assert converted["target"]["datetime"].endswith("T17:30:00+05:30")
        with pytest.raises(ToolError, match="Invalid timezone"):
            await call_tool(src, "get_current_time", timezone="Mars/Olympus")
    finally:
        await src.close()


async def test_calls_are_bounded_by_the_server_timeout(everything_js: str) -> None:
    src = source(every={"command": "node", "args": [everything_js], "timeout": 1})
    try:
        await src.list_tools()
        with pytest.raises(McpServerError, match="did not answer within 1s"):
            await call_tool(src, "trigger-long-running-operation", duration=20, steps=2)
        assert await call_tool(src, "echo", message="after") == "Echo: after"
    finally:
        await src.close()


async def test_two_servers_with_the_same_tool_need_a_namespace(everything_js: str) -> None:
    src = source(a={"command": "node", "args": [everything_js]},
                 b={"command": "node", "args": [everything_js]})
    try:
        with pytest.raises(Exception, match="two MCP servers have a tool named 'echo': 'a' and 'b'"):
            await src.list_tools()
    finally:
        await src.close()
    src = source(a={"command": "node", "args": [everything_js], "namespace": True, "tools": ["echo"]},
                 b={"command": "node", "args": [everything_js], "namespace": True, "tools": ["echo"]})
    try:
        names = [r.name for r in await src.list_tools()]
        assert names[:2] == ["a_echo", "b_echo"]
        assert await call_tool(src, "b_echo", message="b") == "Echo: b"
    finally:
        await src.close()


async def test_a_server_that_cannot_start_is_named(tmp_path: Path) -> None:
    src = source(broken={"command": "node", "args": [str(tmp_path / "missing.js")]})
    with pytest.raises(McpServerError) as caught:
        await src.list_tools()
    message = str(caught.value)
    assert "MCP server 'broken' (node) failed to start" in message
    assert "missing.js" in message  # node's own error, from the server's standard error
    src = source(nothing={"command": str(tmp_path / "no-such-program")})
    with pytest.raises(McpServerError, match="'nothing'.*failed to start.*No such file"):
        await src.list_tools()


# ------------------------------------------------------------------ full runs


class DenyNetwork:
    """A veto plugin refusing every tool with the network effect."""

    @hookimpl
    def loom_veto(self, action: Any) -> Verdict | None:
        if action.spec is not None and Effect.NETWORK in action.spec.effects:
            return Verdict.deny("no network in this test", rule="no-network")
        return None


def mcp_config(**servers: dict[str, Any]) -> dict[str, Any]:
    return {"settings": {"mcp": {"servers": servers}}}


async def test_a_scripted_model_calls_an_mcp_tool_in_a_full_run(time_server: dict[str, Any]) -> None:
    h = LoomHarness([call("get_current_time", timezone="Europe/Paris"), "It is late."],
                    plugins=[loom_mcp], config=mcp_config(time=time_server))
    result = await h.run("What time is it in Paris?")
    assert result.ok, result.error
    first, second = h.model.requests
    assert "get_current_time" in [t.name for t in first.tools]
    [answer] = results(h)
    assert not answer.is_error
    assert json.loads(answer.content)["timezone"] == "Europe/Paris"
    assert answer in second.messages[-1].content
    verdicts = [e.data for e in h.last_run.recorded if e.kind == "act.verdict"]
    assert verdicts[0]["tool"] == "get_current_time" and verdicts[0]["decision"] == "allow"


async def test_mcp_tools_go_through_the_veto_fold(time_server: dict[str, Any]) -> None:
    untrusted = {**time_server, "trust_annotations": False}
    h = LoomHarness([call("get_current_time", timezone="UTC"), "ok"],
                    plugins=[loom_mcp, DenyNetwork()], config=mcp_config(time=untrusted))
    await h.run("time?")
    [refused] = results(h)
    assert refused.is_error and "no network in this test" in refused.content


async def test_binary_content_is_attached_to_the_run(everything_js: str) -> None:
    h = LoomHarness([call("get-tiny-image"), "seen"], plugins=[loom_mcp],
                    config=mcp_config(every={"command": "node", "args": [everything_js]}))
    await h.run("show the image")
    [image] = results(h)
    assert "attached to the run as mcp-image-" in image.content
    [artifact] = h.last_run.artifacts
    assert artifact.media_type == "image/png" and artifact.data.startswith(b"\x89PNG")


async def test_a_changed_tool_list_updates_the_run() -> None:
    server = {"command": sys.executable, "args": [str(SERVERS / "changing_tools.py")]}
    h = LoomHarness([call("secret"), call("unlock"), call("secret"), "done"], plugins=[loom_mcp],
                    config=mcp_config(changing=server))
    result = await h.run("unlock it, then tell the secret")
    assert result.ok, result.error
    tools = [[t.name for t in request.tools] for request in h.model.requests]
    assert tools == [["unlock"], ["unlock"], ["unlock", "secret"], ["unlock", "secret"]]
    too_early, unlocked, secret = results(h)
    assert too_early.is_error and "unknown tool 'secret'" in too_early.content
    assert unlocked.content == "unlocked" and secret.content == "the secret is 42"
    spec = h.last_run.tools["secret"].spec
    assert spec is not None and spec.effects == {Effect.READ}
    changed = [e.data for e in h.last_run.recorded if e.kind == "mcp.tools_changed"]
    assert changed == [{"server": "changing", "added": ["secret"], "removed": []}]


async def test_cancelling_a_run_stops_its_servers(
        everything_js: str, child_pids: Callable[[], set[int]]) -> None:
    h = LoomHarness([call("trigger-long-running-operation", duration=60, steps=2), "never"],
                    plugins=[loom_mcp],
                    config=mcp_config(every={"command": "node", "args": [everything_js]}))
    run = h.runtime.create_session().create_task("wait").start()
    for _ in range(200):
        if any(e.kind == "act.proposed" for e in run.recorded):
            break
        await asyncio.sleep(0.05)
    assert server_children(child_pids, "server-everything")
    await asyncio.sleep(0.3)
    run.cancel()
    result = await run.wait()
    assert result.status == "cancelled"
    assert server_children(child_pids, "server-everything") == []


async def test_a_required_server_that_fails_fails_the_run_and_an_optional_one_does_not(
        tmp_path: Path, time_server: dict[str, Any]) -> None:
    broken = {"command": str(tmp_path / "no-such-program")}
    h = LoomHarness(["done"], plugins=[loom_mcp], config=mcp_config(broken=broken))
    result = await h.run("go")
    assert result.status == "failed"
    assert "MCP server 'broken'" in result.error and "required = false" in result.error
    h = LoomHarness([call("get_current_time", timezone="UTC"), "done"], plugins=[loom_mcp],
                    config=mcp_config(broken={**broken, "required": False}, time=time_server))
    result = await h.run("go")
    assert result.ok, result.error
    unavailable = [e.data for e in h.last_run.recorded if e.kind == "mcp.server_unavailable"]
    assert unavailable[0]["server"] == "broken"
    assert not results(h)[0].is_error


class LocalSecret:
    """A plugin whose own tool is named like the tool the changing server adds later."""

    @hookimpl
    def loom_register_tools(self) -> list[Any]:
        from loom.tools import tool

        @tool(name="secret")
        def local_secret() -> str:
            """The local secret."""
            return "local"

        return [local_secret]


async def test_a_new_server_tool_never_replaces_another_sources_tool() -> None:
    server = {"command": sys.executable, "args": [str(SERVERS / "changing_tools.py")]}
    h = LoomHarness([call("unlock"), call("secret"), "done"], plugins=[loom_mcp, LocalSecret()],
                    config=mcp_config(changing=server))
    result = await h.run("unlock, then secret")
    assert result.ok, result.error
    unlocked, secret = results(h)
    assert (unlocked.content, secret.content) == ("unlocked", "local")
    [conflict] = [e.data for e in h.last_run.recorded if e.kind == "mcp.tools_conflict"]
    assert conflict["server"] == "changing" and "'secret'" in conflict["error"]
    assert [t.name for t in h.model.requests[-1].tools].count("secret") == 1
