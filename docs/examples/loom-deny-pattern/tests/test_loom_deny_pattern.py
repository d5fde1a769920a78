"""Tests for the deny-pattern veto plugin, run against a scripted model."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import loom_deny_pattern
import pytest
from loom.errors import ConfigError
from loom.hookspecs import hookimpl
from loom.records import ToolRecord
from loom.requests import ModelRequest
from loom.testing import LoomHarness, call, no_real_providers, raw_call
from loom.tools import tool

CONFIG = {"settings": {"deny-pattern": {"tools": ["shell*"], "arguments": "*rm -rf*"}}}


@tool(effects={"execute"})
def shell(command: str) -> str:
    """Pretend to run a shell command.

    Args:
        command: the command line.
    """
    return f"ran {command}"


class ShellTool:
    """Registers the ``shell`` tool for these tests."""

    @hookimpl
    def loom_register_tools(self) -> list[ToolRecord]:
        """The one tool of these tests."""
        return [shell]


def last_tool_result(request: ModelRequest) -> str:
    """Answer with the tool result the model was just shown."""
    return request.messages[-1].tool_results[0].content


@pytest.fixture(autouse=True)
def offline() -> Iterator[None]:
    """Fail any test that tries to reach a real provider."""
    with no_real_providers():
        yield


def harness(script: list[Any], config: dict[str, Any] = CONFIG) -> LoomHarness:
    """A runtime with the plugin (under its entry-point name) and the shell tool."""
    plugins = [("deny-pattern", loom_deny_pattern), ShellTool()]
    return LoomHarness(script, plugins=plugins, config=config)


def test_matching_call_is_denied_with_a_reason() -> None:
    h = harness([call("shell", command="rm -rf /"), last_tool_result])
    result = h.run_sync("clean up")
    assert result.output.startswith("Not run: denied by deny-pattern rule shell*")
    assert "loom_veto" in h.recorder.hooks()


def test_other_arguments_run() -> None:
    h = harness([call("shell", command="ls"), last_tool_result])
    assert h.run_sync("list files").output == "ran ls"


def test_malformed_arguments_are_refused_before_the_veto() -> None:
    h = harness([raw_call("shell", '{"command": "rm -rf'), last_tool_result])
    assert "not valid JSON" in h.run_sync("clean up").output
    assert "loom_veto" not in h.recorder.hooks()


def test_unknown_setting_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="settings.deny-pattern.tool"):
        harness([], config={"settings": {"deny-pattern": {"tool": ["shell"]}}})
