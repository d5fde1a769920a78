"""Helpers shared by the provider tests: a recording script, tools, a real runtime."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from loom.api import AgentRuntime
from loom.config import load_config
from loom.hookspecs import hookimpl
from loom.profile import AgentProfile
from loom.records import ToolRecord
from loom.run import RunResult
from loom.tools import tool
from loom_wire_servers import NeutralRequest, ScriptItem, WireServer


class Recorder:
    """A server script answering from ``items`` in order; ``seen`` keeps each
    request as the server understood it (protocol-neutral)."""

    def __init__(self, *items: ScriptItem) -> None:
        self.items = list(items)
        self.seen: list[NeutralRequest] = []

    def __call__(self, request: NeutralRequest) -> ScriptItem:
        self.seen.append(request)
        if not self.items:
            raise LookupError(f"no scripted item left for request #{len(self.seen)}")
        return self.items.pop(0)


class Calculator:
    """Tools the agent can call; ``calls`` records each execution."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

        @tool
        def add(a: int, b: int) -> int:
            """Add two integers.

            Args:
                a: the first number.
                b: the second number.
            """
            self.calls.append(("add", {"a": a, "b": b}))
            return a + b

        @tool
        def weather(city: str) -> str:
            """Today's weather in a city.

            Args:
                city: the city name.
            """
            self.calls.append(("weather", {"city": city}))
            return f"sunny in {city}"

        self.tools: list[ToolRecord] = [add, weather]

    @hookimpl
    def loom_register_tools(self) -> list[ToolRecord]:
        """Register the calculator's tools."""
        return self.tools


def runtime(provider: Any, *plugins: Any, config: dict[str, Any] | None = None,
            **profile: Any) -> AgentRuntime:
    """A real runtime with only the given plugins (no entry points, no loom.toml)."""
    return AgentRuntime(profile=AgentProfile.from_preset("default", **profile),
                        provider=provider, config=load_config(data=config or {}, environ={}),
                        plugins=plugins, entry_points=False)


async def run_goal(rt: AgentRuntime, goal: str) -> RunResult:
    """Run one goal in a new session of ``rt``."""
    return await rt.create_session().create_task(goal).start().wait()


class Servers:
    """Starts wire servers for a test and stops them (and closes providers) after it."""

    def __init__(self) -> None:
        self.servers: list[WireServer] = []
        self.providers: list[Any] = []

    async def start(self, server: WireServer) -> WireServer:
        await asyncio.to_thread(server.start)
        self.servers.append(server)
        return server

    def track(self, provider: Any) -> Any:
        self.providers.append(provider)
        return provider

    async def close(self) -> None:
        for provider in self.providers:
            await provider.aclose()
        for server in self.servers:
            await asyncio.to_thread(server.stop)


Factory = Callable[..., Any]
