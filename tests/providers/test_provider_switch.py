"""One session, three providers: a conversation started on Anthropic continues on
OpenAI and Gemini and comes back, and every server gets a request valid for its API.

The local servers validate what the real APIs validate (role alternation,
every tool call answered right after it, function responses matching function
calls), so a request that broke pairing would fail the run.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from typing import Any

import loom_provider_anthropic
import loom_provider_gemini
import loom_provider_openai
import pytest
from loom.api import AgentRuntime, Session
from loom.config import load_config
from loom.profile import AgentProfile
from loom_wire_servers import AnthropicServer, GeminiServer, OpenAIServer, Reply, ToolCall

from .support import Calculator, Recorder, Servers

SIGNATURE = "c2lnbmVkLWJ5LWFudGhyb3BpYw=="


@pytest.fixture
async def servers() -> AsyncIterator[Servers]:
    servers = Servers()
    yield servers
    await servers.close()


async def start(servers: Servers, cls: Any, *items: Any) -> tuple[Any, Recorder]:
    recorder = Recorder(*items)
    return await servers.start(cls(script=recorder)), recorder


async def task(session: Session, provider: str, goal: str) -> str:
    runtime = session.runtime
    runtime.provider = runtime.provider_named(provider)
    result = await session.create_task(goal).start().wait()
    assert result.ok, f"{provider}: {result.error}"
    return result.output


def bodies(server: Any) -> list[dict[str, Any]]:
    return [r.body for r in server.requests]


@pytest.mark.parametrize("openai_api", ["chat", "responses"])
@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
async def test_a_session_moves_between_providers(servers: Servers, openai_api: str,
                                                 stream: bool) -> None:
    anthropic, a_seen = await start(
        servers, AnthropicServer,
        Reply(thinking="Add them.", thinking_signature=SIGNATURE,
              tool_calls=[ToolCall("add", {"a": 2, "b": 3}, id="toolu_01first")]),
        Reply(text="2 + 3 = 5."),
        Reply(text="All done."))
    openai, o_seen = await start(
        servers, OpenAIServer,
        Reply(tool_calls=[ToolCall("weather", {"city": "Oslo"}, id="call_weather1"),
                          ToolCall("add", {"a": 5, "b": 5}, id="call_add2")]),
        Reply(text="Sunny in Oslo; 10."))
    gemini, g_seen = await start(
        servers, GeminiServer,
        Reply(thinking="Once more.", tool_calls=[ToolCall("add", {"a": 10, "b": 1})]),
        Reply(text="11."))
    settings = {"anthropic": {"base_url": anthropic.base_url},
                "openai": {"base_url": openai.base_url, "api": openai_api},
                "gemini": {"base_url": gemini.base_url}}
    config = {"stages": {"provider": "anthropic"},
              "settings": {k: {**v, "api_key": "test"} for k, v in settings.items()}}
    calc = Calculator()
    runtime = AgentRuntime(
        profile=AgentProfile.from_preset("default", stream=stream),
        config=load_config(data=config, environ={}), entry_points=False,
        plugins=[loom_provider_anthropic, loom_provider_openai, loom_provider_gemini, calc])
    for name in ("anthropic", "openai", "gemini"):
        servers.track(runtime.provider_named(name))
    session = runtime.create_session()

    assert await task(session, "anthropic", "What is 2+3?") == "2 + 3 = 5."
    assert await task(session, "openai", "Weather in Oslo, and 5+5?") == "Sunny in Oslo; 10."
    assert await task(session, "gemini", "And 10+1?") == "11."
    assert await task(session, "anthropic", "Thanks!") == "All done."
    assert [name for name, _ in calc.calls] == ["add", "weather", "add", "add"]

    # OpenAI got Anthropic's tool call and result, paired by the same id; no thinking.
    history = o_seen.seen[0]
    assert [c.id for m in history.messages for c in m.tool_calls] == ["toolu_01first"]
    assert [r.call_id for m in history.messages for r in m.tool_results] == ["toolu_01first"]
    assert "Add them." not in json.dumps(bodies(openai)[0])

    # Gemini got every earlier call answered by a response of the same name and id.
    contents = bodies(gemini)[0]["contents"]
    calls = [p["functionCall"] for c in contents for p in c["parts"] if "functionCall" in p]
    answers = [p["functionResponse"] for c in contents for p in c["parts"]
               if "functionResponse" in p]
    assert [(c["id"], c["name"]) for c in calls] == [
        ("toolu_01first", "add"), ("call_weather1", "weather"), ("call_add2", "add")]
    assert [(a["id"], a["name"]) for a in answers] == [(c["id"], c["name"]) for c in calls]
    assert "Add them." not in json.dumps(contents)
    assert g_seen.seen[0].last_user_text == "And 10+1?"

    # Back on Anthropic: its own thinking is resent verbatim, Gemini's is not,
    # and every tool_use is answered in the next user message.
    messages = bodies(anthropic)[-1]["messages"]
    thinking = [b for m in messages for b in m["content"] if b["type"] == "thinking"]
    assert thinking == [{"type": "thinking", "thinking": "Add them.", "signature": SIGNATURE}]
    assert "Once more." not in json.dumps(messages)
    roles = [m["role"] for m in messages]
    assert all(a != b for a, b in itertools.pairwise(roles)) and roles[0] == "user"
    uses = [b["id"] for m in messages for b in m["content"] if b["type"] == "tool_use"]
    assert len(uses) == 4 and uses[:3] == ["toolu_01first", "call_weather1", "call_add2"]
    assert len(a_seen.seen[-1].tool_results) == 0  # the last turn is the user's "Thanks!"
