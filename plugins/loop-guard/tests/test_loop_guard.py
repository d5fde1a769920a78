"""The loop guard stops runs on budgets and loops, and warns the model near a budget."""

from __future__ import annotations

import asyncio
from typing import Any

import loom_loop_guard
import pytest
from loom.errors import ConfigError
from loom.hookspecs import hookimpl
from loom.messages import Message
from loom.profile import AgentProfile
from loom.records import Record
from loom.requests import ModelRequest, Usage
from loom.testing import LoomHarness, ScriptedModel, call
from loom.tools import tool


@tool
def echo(text: str) -> str:
    """Repeat a text.

    Args:
        text: what to repeat.
    """
    return f"echo: {text}"


@tool
async def nap(seconds: float) -> str:
    """Sleep a little.

    Args:
        seconds: how long.
    """
    await asyncio.sleep(seconds)
    return "rested"


class Tools:
    """Registers the test tools."""

    @hookimpl
    def loom_register_tools(self) -> list[Record]:
        return [echo, nap]


def fixed_usage(tokens_in: int, tokens_out: int, cost: float = 0.0) -> Any:
    def usage(request: ModelRequest, message: Message) -> Usage:
        return Usage(input_tokens=tokens_in, output_tokens=tokens_out, cost_usd=cost)
    return usage


def harness(script: list[Any], *, profile: AgentProfile | None = None,
            settings: dict[str, Any] | None = None, usage: Any = None) -> LoomHarness:
    model = ScriptedModel(script, usage=usage)
    config = {"settings": {"loop-guard": settings}} if settings else None
    return LoomHarness(model, plugins=[loom_loop_guard, Tools()], profile=profile,
                       config=config)


def distinct_calls(n: int) -> list[Any]:
    return [call("echo", text=f"page {i}") for i in range(n)]


async def test_same_call_three_times_stops_the_run() -> None:
    h = harness([call("echo", text="again")] * 3 + ["never reached"])
    result = await h.run("poll forever")
    assert result.status == "stopped"
    assert "same tool call" in result.reason and "3 times in a row" in result.reason
    assert 'echo({"text": "again"})' in result.reason
    assert result.steps == 3
    assert len(h.model.requests) == 3


async def test_a_b_a_b_cycle_stops_the_run() -> None:
    a, b = {"text": "left"}, {"text": "right"}
    script = [call("echo", **a), call("echo", **b), call("echo", **a), call("echo", **b), "done"]
    result = await harness(script).run("flip flop")
    assert result.status == "stopped"
    assert "cycle" in result.reason
    assert 'echo({"text": "left"}) -> echo({"text": "right"})' in result.reason
    assert result.steps == 4


async def test_varied_calls_and_two_repeats_are_not_a_loop() -> None:
    same = call("echo", text="twice")
    script = [same, same, call("echo", text="other"), call("nap", seconds=0), "all done"]
    result = await harness(script).run("work")
    assert result.status == "succeeded", result.reason
    assert result.output == "all done"


async def test_repeat_limit_setting_and_switching_detection_off() -> None:
    script = [call("echo", text="x")] * 4 + ["done"]
    stopped = await harness(script, settings={"repeat_limit": 4}).run("repeat")
    assert stopped.status == "stopped" and stopped.steps == 4
    free = await harness(script, settings={"loop_detection": False}).run("repeat")
    assert free.status == "succeeded"


async def test_token_budget_from_profile_stops_the_run() -> None:
    profile = AgentProfile(max_total_tokens=1000)
    h = harness([*distinct_calls(5), "done"], profile=profile, usage=fixed_usage(400, 100))
    result = await h.run("read pages")
    assert result.status == "stopped"
    assert result.reason.startswith("token budget exhausted: 1,000 of 1,000 tokens used")
    assert result.steps == 2
    assert "run.stopping" in h.event_kinds()
    assert "delta.injected" not in h.event_kinds()  # no warning once the budget is gone


async def test_settings_override_the_profile_budget() -> None:
    profile = AgentProfile(max_total_tokens=100_000)
    h = harness([*distinct_calls(5), "done"], profile=profile, usage=fixed_usage(400, 100),
                settings={"max_total_tokens": 500})
    result = await h.run("read pages")
    assert result.status == "stopped"
    assert "500 of 500 tokens" in result.reason
    assert result.steps == 1


async def test_cost_budget_stops_the_run() -> None:
    profile = AgentProfile(max_usd=0.5)
    h = harness([*distinct_calls(5), "done"], profile=profile, usage=fixed_usage(10, 10, 0.3))
    result = await h.run("spend")
    assert result.status == "stopped"
    assert result.reason.startswith("cost budget exhausted: $0.6000 of $0.5000")
    assert result.steps == 2


async def test_wall_clock_budget_stops_the_run() -> None:
    profile = AgentProfile(max_wall_seconds=0.2)
    script = [call("nap", seconds=0.3), call("echo", text="late"), "done"]
    result = await harness(script, profile=profile).run("slow work")
    assert result.status == "stopped"
    assert "wall-clock budget exhausted" in result.reason and "of 0.2 seconds" in result.reason
    assert result.steps == 1


async def test_model_is_warned_once_at_80_percent_of_a_budget() -> None:
    profile = AgentProfile(max_total_tokens=1000)
    h = harness([*distinct_calls(2), "wrapping up"], profile=profile,
                usage=fixed_usage(400, 50))
    result = await h.run("read pages")
    assert result.status == "succeeded"

    def warnings(request: ModelRequest) -> list[str]:
        return [m.text_content for m in request.messages
                if m.role == "user" and "Budget warning" in m.text_content]

    assert warnings(h.model.requests[1]) == []  # 450 tokens: 45%
    last = warnings(h.model.requests[-1])  # 900 tokens: 90%
    assert len(last) == 1
    assert "900 of 1,000 tokens used (90% of the token budget)" in last[0]
    injected = [e for e in h.last_run.recorded if e.kind == "delta.injected"]
    assert len(injected) == 1 and injected[0].data["text"] == last[0]


async def test_step_budget_warning_reaches_the_model() -> None:
    profile = AgentProfile(max_steps=5)
    h = harness([*distinct_calls(4), "done"], profile=profile)
    result = await h.run("steps")
    assert result.status == "succeeded"
    texts = [m.text_content for m in h.model.requests[-1].messages]
    assert any("4 of 5 steps used (80% of the step budget)" in t for t in texts)


def test_invalid_settings_name_the_key() -> None:
    with pytest.raises(ConfigError, match=r"settings\.loop-guard\.repeat_limit"):
        harness(["hi"], settings={"repeat_limit": 1})
    with pytest.raises(ConfigError, match=r"unknown setting \(did you mean 'max_usd'\?\)"):
        harness(["hi"], settings={"max_usdd": 1})
