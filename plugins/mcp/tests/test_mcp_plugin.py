"""loom-mcp: settings validation, effects and content conversion, and a bridge to mcp-server-time."""

from __future__ import annotations

import json
import sys
from typing import Any

import loom_mcp
import mcp_types as types
import psutil
import pytest
from loom.api import AgentRuntime
from loom.config import load_config
from loom.errors import ConfigError
from loom.requests import Effect
from loom.testing import LoomHarness, ScriptedModel, call
from loom_mcp.convert import CAUTIOUS, effects_for, loom_tool_name, result_text
from loom_mcp.serve import annotations_for
from loom_mcp.settings import ServerSettings

TIME = {"command": sys.executable, "args": ["-m", "mcp_server_time", "--local-timezone", "UTC"]}


def runtime(settings: dict[str, Any]) -> AgentRuntime:
    return AgentRuntime(provider=ScriptedModel(["done"]), plugins=[loom_mcp], entry_points=False,
                        config=load_config(data={"settings": {"mcp": settings}}, environ={}))


@pytest.mark.parametrize(("server", "words"), [
    ({}, "give either command"),
    ({"command": "x", "url": "http://127.0.0.1:1/mcp"}, "not both"),
    ({"url": "ftp://host/mcp"}, "must start with http"),
    ({"url": "http://127.0.0.1:1/mcp", "args": ["a"]}, "only apply to command"),
    ({"command": "x", "headers": {"A": "b"}}, "only apply to url"),
    ({"command": "x", "timeout": 0}, "greater than 0"),
    ({"command": "x", "effects": {"*": ["fly"]}}, "effects.*.0: Input should be 'read'"),
    ({"command": "x", "comand": "y"}, "comand"),
])
def test_invalid_server_settings_name_the_key(server: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        runtime({"servers": {"files": server}})
    assert "settings.mcp" in str(caught.value)
    assert words in str(caught.value)


def test_server_names_are_checked() -> None:
    with pytest.raises(ConfigError, match="server name 'my server'"):
        runtime({"servers": {"my server": {"command": "x"}}})


def tool(**hints: Any) -> types.Tool:
    annotations = types.ToolAnnotations(**hints) if hints else None
    return types.Tool(name="t", input_schema={"type": "object"}, annotations=annotations)


@pytest.mark.parametrize(("hints", "effects"), [
    ({}, CAUTIOUS),
    ({"read_only_hint": True}, {Effect.READ, Effect.NETWORK}),
    ({"read_only_hint": True, "open_world_hint": False}, {Effect.READ}),
    ({"read_only_hint": False, "destructive_hint": False, "open_world_hint": False}, {Effect.MUTATE}),
    ({"destructive_hint": True, "open_world_hint": False}, {Effect.MUTATE, Effect.DESTROY}),
    ({"title": "only a title"}, {Effect.MUTATE, Effect.DESTROY, Effect.NETWORK}),
])
def test_annotations_map_to_effects(hints: dict[str, Any], effects: set[Effect]) -> None:
    assert effects_for(tool(**hints), ServerSettings(command="x")) == effects


def test_settings_override_or_distrust_annotations() -> None:
    read_only = tool(read_only_hint=True, open_world_hint=False)
    assert effects_for(read_only, ServerSettings(command="x", trust_annotations=False)) == CAUTIOUS
    assert effects_for(read_only, ServerSettings(command="x", effects={"t": ["execute"]})) == {
        Effect.EXECUTE}
    assert effects_for(tool(), ServerSettings(command="x", effects={"*": ["read"]})) == {Effect.READ}


def test_tool_names_are_provider_safe_and_optionally_namespaced() -> None:
    assert loom_tool_name("fs", "read.file/v2", False) == "read_file_v2"
    assert loom_tool_name("fs", "read_file", True) == "fs_read_file"
    assert len(loom_tool_name("s", "x" * 100, True)) == 64


def test_content_blocks_become_text() -> None:
    attached: list[tuple[str, bytes, str]] = []
    result = types.CallToolResult(content=[
        types.TextContent(text="hello"),
        types.ImageContent(data="aGk=", mime_type="image/png"),
        types.EmbeddedResource(resource=types.TextResourceContents(uri="file:///a.txt", text="A")),
        types.ResourceLink(name="b", uri="file:///b.bin", mime_type="application/zip"),
    ])
    text = result_text(result, lambda n, d, m: attached.append((n, d, m)))
    assert text.splitlines() == [
        "hello", "[image image/png, 2 bytes, attached to the run as mcp-image-1.png]",
        "[resource file:///a.txt]", "A", "[resource link b file:///b.bin (application/zip)]"]
    assert attached == [("mcp-image-1.png", b"hi", "image/png")]
    structured = types.CallToolResult(content=[], structured_content={"n": 1})
    assert json.loads(result_text(structured)) == {"n": 1}


def test_loom_effects_map_to_mcp_hints() -> None:
    from loom.requests import ToolSpec

    hints = annotations_for(ToolSpec(name="w", effects=frozenset({Effect.MUTATE, Effect.NETWORK})))
    assert (hints.read_only_hint, hints.destructive_hint, hints.open_world_hint) == (False, False, True)
    assert annotations_for(ToolSpec(name="r")).read_only_hint is True


async def test_a_run_uses_the_time_server_and_leaves_no_process() -> None:
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    h = LoomHarness([call("time_convert_time", source_timezone="UTC", time="08:00",
                          target_timezone="America/New_York"), "done"],
                    plugins=[loom_mcp],
                    config={"settings": {"mcp": {"servers": {"time": {**TIME, "namespace": True}}}}})
    result = await h.run("convert 8:00 UTC to New York time")
    assert result.ok, result.error
    [answer] = [b for m in h.last_run.window.history for b in m.tool_results]
    assert json.loads(answer.content)["target"]["timezone"] == "America/New_York"
    after = {p.pid for p in psutil.Process().children(recursive=True)
             if p.status() != psutil.STATUS_ZOMBIE}
    assert after <= before


async def test_no_servers_means_no_tools() -> None:
    h = LoomHarness(["done"], plugins=[loom_mcp])
    await h.run("go")
    assert h.model.requests[0].tools == []
