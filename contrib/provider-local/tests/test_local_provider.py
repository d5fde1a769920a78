"""The local provider runs a real model (Gemma 3 270M via llama.cpp) with no key or network."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from loom.api import AgentRuntime
from loom.config import load_config
from loom.errors import ConfigError
from loom.hookspecs import hookimpl
from loom.profile import AgentProfile
from loom.tools import tool
from loom_provider_local.provider import LocalProvider
from loom_provider_local.settings import LocalSettings

calls: list[str] = []


@tool
def list_project_files() -> str:
    """List the files in the project folder."""
    calls.append("listed")
    return "README.md\nnotes.txt\nsetup.py"


class Tools:
    @hookimpl
    def loom_register_tools(self) -> list[Any]:
        return [list_project_files]


@pytest.fixture(scope="module")
def provider() -> LocalProvider:
    return LocalProvider(settings=LocalSettings(n_ctx=2048, max_tokens=96))


async def test_agent_calls_a_tool_then_answers_with_the_real_model(provider: LocalProvider) -> None:
    calls.clear()
    runtime = AgentRuntime(profile=AgentProfile(max_steps=4), provider=provider,
                           config=load_config(data={}, environ={}), plugins=[Tools()],
                           entry_points=False)
    run = runtime.create_session().create_task("Which files are in the project folder?").start()
    result = await run.wait()
    assert result.status == "succeeded", result.error
    assert calls == ["listed"]  # the model's tool call reached the tool
    finished = [e for e in run.recorded if e.kind == "reason.finished"]
    assert finished and all(e.data["provider"] == "local" for e in finished)
    assert finished[0].data["stop_reason"] == "tool_use"
    assert result.usage.input_tokens > 0 and result.usage.output_tokens > 0
    assert result.output.strip()  # a real, non-empty answer from the model (a 270M model:
    # its wording is not judged here, only that the loop ran call → result → answer)
    tool_turn = run.window.history[-2]
    assert tool_turn.role == "tool" and "README.md" in tool_turn.tool_results[0].content


def test_settings_reject_unknown_keys() -> None:
    from loom.plugins import PluginManager

    config = load_config(data={"settings": {"local": {"n_ctxx": 1}}}, environ={})
    with pytest.raises(ConfigError, match="did you mean 'n_ctx'"):
        PluginManager(config).load()


def test_listing_plugins_does_not_load_llama_cpp() -> None:
    code = ("import sys\nfrom loom.plugins import PluginManager\n"
            "pm = PluginManager().load()\nassert 'local' in pm.records('provider')\n"
            "print('llama_cpp' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).parent)
    assert out.stdout.strip() == "False"
