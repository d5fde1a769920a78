"""End to end: the resilience plugins around the OpenAI provider, over real HTTP
to local servers that speak the OpenAI wire protocol."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from loom.api import AgentRuntime
from loom.config import load_config
from loom.hookspecs import hookimpl
from loom.profile import AgentProfile
from loom.records import ProviderRecord
from loom.run import Run, RunResult
from loom.testing import no_real_providers
from loom_provider_openai.provider import OpenAIProvider
from loom_resilience_breaker import BreakerPlugin
from loom_resilience_fallback import FallbackPlugin
from loom_resilience_retry import RetryPlugin
from loom_wire_servers import Fault, OpenAIServer, Reply


@pytest.fixture(autouse=True)
def _local_only() -> Iterator[None]:
    with no_real_providers():
        yield


@pytest.fixture
async def opened() -> AsyncIterator[list[OpenAIProvider]]:
    """Providers built by a test; their HTTP connections are closed after it."""
    providers: list[OpenAIProvider] = []
    yield providers
    for provider in providers:
        await provider.aclose()


class World:
    """A fake clock and a sleep that records and advances it (no real waiting)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class Servers:
    """Registers one OpenAI provider record per local server (or base URL)."""

    def __init__(self, opened: list[OpenAIProvider], **servers: OpenAIServer | str) -> None:
        self.providers = {}
        for name, server in servers.items():
            url = server if isinstance(server, str) else server.base_url
            provider = OpenAIProvider(base_url=url, api_key="test", model="gpt-4o-mini", name=name)
            self.providers[name] = provider
            opened.append(provider)

    @hookimpl
    def loom_register_providers(self) -> list[ProviderRecord]:
        return [ProviderRecord(name=name, factory=(lambda p=p: p))
                for name, p in self.providers.items()]


def runtime(opened: list[OpenAIProvider], world: World, settings: dict[str, Any], *,
            chain: tuple[str, ...] = (), stream: bool = False,
            **servers: OpenAIServer | str) -> AgentRuntime:
    plugins: list[Any] = [
        ("servers", Servers(opened, **servers)),
        ("resilience-fallback", FallbackPlugin()),
        ("resilience-retry", RetryPlugin(sleep=world.sleep, random=lambda: 0.5)),
        ("resilience-breaker", BreakerPlugin(clock=world.clock)),
    ]
    config = load_config(data={"stages": {"fallback": list(chain)}, "settings": settings},
                         environ={})
    return AgentRuntime(profile=AgentProfile(stream=stream), provider="primary", config=config,
                        plugins=plugins, entry_points=False)


async def run(rt: AgentRuntime, goal: str = "say ok") -> tuple[RunResult, Run]:
    started = rt.create_session().create_task(goal).start()
    return await started.wait(), started


def kinds(r: Run, prefix: str) -> list[str]:
    return [e.kind for e in r.recorded if e.kind.startswith(prefix)]


def data(r: Run, kind: str) -> list[dict[str, Any]]:
    return [e.data for e in r.recorded if e.kind == kind]


async def test_a_429_with_retry_after_is_retried_after_the_asked_delay(opened: list[OpenAIProvider]) -> None:
    world = World()
    with OpenAIServer(script=[Fault.status(429, retry_after=0.25), Reply(text="ok")]) as server:
        rt = runtime(opened, world, {}, primary=server)
        result, r = await run(rt)
        assert result.ok and result.output == "ok"
        assert len(server.requests) == 2
    assert world.slept == [0.25]
    [scheduled] = data(r, "retry.scheduled")
    assert scheduled["status"] == 429 and scheduled["retry_after"] == 0.25
    assert scheduled["provider"] == "primary" and scheduled["model"] == "gpt-4o-mini"


async def test_a_400_is_not_retried_and_fails_the_run(opened: list[OpenAIProvider]) -> None:
    world = World()
    with OpenAIServer(script=[Fault.status(400, "unsupported parameter: foo"),
                              Reply(text="unreached")]) as server:
        rt = runtime(opened, world, {}, primary=server)
        result, r = await run(rt)
        assert len(server.requests) == 1
    assert result.status == "failed"
    assert "400" in result.error and "unsupported parameter" in result.error
    assert world.slept == [] and kinds(r, "retry.") == []


async def test_five_500s_open_the_breaker_which_half_opens_after_the_cool_down(
        opened: list[OpenAIProvider]) -> None:
    world = World()
    script = [Fault.status(500, "internal error")] * 5 + [Reply(text="recovered")]
    with OpenAIServer(script=script) as server:
        rt = runtime(opened, world, {"retry": {"max_attempts": 5, "base_delay": 0.5},
                             "breaker": {"failure_threshold": 5, "cooldown": 30}},
                     primary=server)
        result, r = await run(rt)
        assert result.status == "failed" and "500" in result.error
        assert len(server.requests) == 5
        assert kinds(r, "breaker.") == ["breaker.opened"]
        [tripped] = data(r, "breaker.opened")
        assert tripped["consecutive_failures"] == 5 and tripped["provider"] == "primary"

        result, r = await run(rt)
        assert result.status == "failed" and "CircuitOpenError" in result.error
        assert len(server.requests) == 5  # failed fast, nothing sent

        world.now += 30
        result, r = await run(rt)
        assert result.ok and result.output == "recovered"
        assert kinds(r, "breaker.") == ["breaker.half_open", "breaker.closed"]
        assert len(server.requests) == 6


async def test_fallback_from_a_failing_server_to_a_second_one_says_why(opened: list[OpenAIProvider]) -> None:
    world = World()
    with OpenAIServer(script=[Fault.status(503, "overloaded")] * 2) as failing, \
            OpenAIServer(script=[Reply(text="from the second server")]) as second:
        rt = runtime(opened, world, {"retry": {"max_attempts": 2}}, chain=("secondary",),
                     primary=failing, secondary=second)
        result, r = await run(rt)
        assert result.ok and result.output == "from the second server"
        assert len(failing.requests) == 2 and len(second.requests) == 1
    [taken] = data(r, "fallback.taken")
    assert taken["from"] == "primary" and taken["to"] == "secondary"
    assert taken["status"] == 503 and "overloaded" in taken["why"]


async def test_a_truncated_stream_is_retried(opened: list[OpenAIProvider]) -> None:
    world = World()
    with OpenAIServer(script=[Fault.truncated_stream(), Reply(text="complete this time")]) as s:
        rt = runtime(opened, world, {}, stream=True, primary=s)
        result, r = await run(rt)
        assert result.ok and result.output == "complete this time"
        assert len(s.requests) == 2
    [scheduled] = data(r, "retry.scheduled")
    assert "truncated" in scheduled["error"]


async def test_an_unreachable_server_falls_back_after_its_retries(opened: list[OpenAIProvider]) -> None:
    world = World()
    with OpenAIServer(script=[Reply(text="unused")]) as gone:
        gone_url = gone.base_url  # started and stopped: its port now refuses connections
    with OpenAIServer(script=[Reply(text="second answered")]) as second:
        rt = runtime(opened, world, {"retry": {"max_attempts": 3}}, chain=("secondary",),
                     primary=gone_url, secondary=second)
        result, r = await run(rt)
    assert result.ok and result.output == "second answered"
    assert len(data(r, "retry.scheduled")) == 2
    [taken] = data(r, "fallback.taken")
    assert taken["from"] == "primary" and taken["status"] is None
