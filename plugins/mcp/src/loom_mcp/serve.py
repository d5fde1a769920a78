"""Serve Loom to MCP clients: a profile's tools, or a whole agent as ``run_agent(goal)``.

::

    server = LoomMcpServer(AgentRuntime())            # the profile's tools
    await server.serve_stdio()                        # or: await server.serve_http("127.0.0.1", 8931)

    LoomMcpServer(runtime, agent=True)                # one tool: run_agent(goal)

Every tool call goes through the harness first (``loom_veto``, then
``loom_wrap_tool_call``), exactly as in a run: a deny is returned to the
client as a tool error. There is no person to ask over MCP, so an ``ask``
verdict (and, in agent mode, an approval request) is denied, unless the
server was started with ``approve=True``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from typing import Any

import mcp_types as types
from loom.api import AgentRuntime
from loom.messages import ToolCallBlock, ToolResultBlock
from loom.records import ToolRecord
from loom.requests import Effect, ToolSpec
from loom.run import Run
from loom.verdicts import ProposedAction
from mcp.server.lowlevel.server import NotificationOptions, Server

#: The single tool of agent mode.
AGENT_TOOL = "run_agent"
_AGENT_SPEC = ToolSpec(
    name=AGENT_TOOL,
    description="Give a goal to a Loom agent; it works on it with its own tools and returns its "
                "final answer.",
    parameters={"type": "object", "properties": {"goal": {
        "type": "string", "description": "what the agent should do, in plain words"}},
        "required": ["goal"]},
    effects=frozenset({Effect.EXECUTE}))


def annotations_for(spec: ToolSpec) -> types.ToolAnnotations:
    """MCP hints from a Loom tool's effects."""
    effects = set(spec.effects)
    return types.ToolAnnotations(
        read_only_hint=effects <= {Effect.READ},
        destructive_hint=Effect.DESTROY in effects,
        idempotent_hint=spec.idempotent,
        open_world_hint=Effect.NETWORK in effects)


def _mcp_tool(spec: ToolSpec) -> types.Tool:
    return types.Tool(name=spec.name, description=spec.description or spec.name,
                      input_schema=spec.parameters or {"type": "object", "properties": {}},
                      annotations=annotations_for(spec))


def _result(text: str, is_error: bool = False) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(text=text)], is_error=is_error)


class LoomMcpServer:
    """An MCP server backed by a Loom runtime (see the module docstring).

    ``tools`` limits the served tools by name (default: every tool of the
    profile, including those of tool sources such as skills or MCP servers).
    """

    def __init__(self, runtime: AgentRuntime, *, agent: bool = False, tools: list[str] | None = None,
                 approve: bool = False, name: str = "loom") -> None:
        self.runtime = runtime
        self.agent = agent
        self.wanted = tools
        self.approve = approve
        self.name = name
        self.tools: dict[str, ToolRecord] = {}
        self.host: Run | None = None
        self._sources: list[Any] = []
        self._http: Any = None
        self.server: Server[Any] = Server(name, version="0.1.0", on_list_tools=self._list_tools,
                                          on_call_tool=self._call_tool,
                                          instructions=self._instructions())

    def _instructions(self) -> str:
        if self.agent:
            return ("A Loom agent. Call run_agent with a goal; it returns the agent's final answer.")
        return "Tools of a Loom agent profile; each call is judged by Loom's safety harness."

    # ---------------------------------------------------------------- tools

    async def open(self) -> None:
        """Gather the tools to serve (starting tool sources) and the host run they run in."""
        session = self.runtime.create_session()
        self.host = Run(session, "serve tools over MCP")
        if self.agent:
            return
        allowed = self.runtime.profile.tools
        found: dict[str, ToolRecord] = {}
        for record in self.runtime.plugins.records("tools").values():
            if isinstance(record, ToolRecord):
                found[record.name] = record
        for _name, source in self.runtime.build_tool_sources():
            self._sources.append(source)
            for record in await source.list_tools():
                found.setdefault(record.name, record)
        for name, record in found.items():
            if record.spec is None or (allowed is not None and name not in allowed):
                continue
            if self.wanted is not None and name not in self.wanted:
                continue
            self.tools[name] = record
        self.host.tools = dict(self.tools)
        self.host.window.tools = [r.spec for r in self.tools.values() if r.spec is not None]
        await self.runtime.plugins.dispatcher.notify("loom_run_started", None, run=self.host)
        unknown = sorted(set(self.wanted or ()) - set(self.tools))
        if unknown:
            await self.close()
            raise LookupError(f"no tool named {', '.join(map(repr, unknown))} in this profile; "
                              f"tools: {', '.join(sorted(found)) or 'none'}")

    async def close(self) -> None:
        """Stop the tool sources (MCP servers, ...) the served tools came from."""
        for source in self._sources:
            close = getattr(source, "close", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    await close()
        self._sources.clear()

    async def _list_tools(self, ctx: Any, params: Any) -> types.ListToolsResult:
        if self.agent:
            return types.ListToolsResult(tools=[_mcp_tool(_AGENT_SPEC)])
        host = self.host
        specs = host.window.tools if host is not None else []
        return types.ListToolsResult(tools=[_mcp_tool(spec) for spec in specs])

    async def _call_tool(self, ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        arguments = dict(params.arguments or {})
        if self.agent:
            if params.name != AGENT_TOOL:
                return _result(f"unknown tool {params.name!r}; this server has {AGENT_TOOL}", True)
            goal = arguments.get("goal")
            if not isinstance(goal, str) or not goal.strip():
                return _result("run_agent needs a non-empty string argument 'goal'", True)
            return await self._run_agent(goal)
        assert self.host is not None
        record = self.host.tools.get(params.name)
        if record is None or record.spec is None:
            return _result(f"unknown tool {params.name!r}; tools: "
                           f"{', '.join(sorted(self.host.tools)) or 'none'}", True)
        call = ToolCallBlock(id=f"mcp_{uuid.uuid4().hex[:12]}", name=params.name, arguments=arguments)
        # A served tool may start sub-agents (``delegate``): nobody can be asked over MCP, so
        # their approvals are settled like the served calls' own (approved only with --yes).
        settler = asyncio.create_task(self._settle_approvals(self.host))
        try:
            result = await self._through_harness(call, record.spec)
        finally:
            settler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await settler
        return _result(result.content, result.is_error)

    async def _settle_approvals(self, run: Run) -> None:
        """Answer approvals that appear under ``run`` (its sub-agents') while a call runs."""
        while True:
            for approval in run.pending_approvals:
                with contextlib.suppress(RuntimeError):  # decided meanwhile
                    if self.approve:
                        approval.approve(by="mcp serve --yes")
                    else:
                        approval.deny("no person can be asked over MCP", by="mcp serve")
            await asyncio.sleep(0.02)

    async def _through_harness(self, call: ToolCallBlock, spec: ToolSpec) -> ToolResultBlock:
        host = self.host
        assert host is not None
        dispatcher = self.runtime.plugins.dispatcher
        errors: list[str] = []
        action = ProposedAction(call_id=call.id, tool=call.name, arguments=call.arguments, spec=spec,
                                mode=host.profile.mode)
        verdict, _ = await dispatcher.veto(
            "loom_veto", lambda plugin, hook, exc: errors.append(f"{plugin}: {exc}"),
            action=action, run=host)
        await host.emit("act.verdict", call_id=call.id, tool=call.name, decision=verdict.decision,
                        reason=verdict.reason, plugin=verdict.plugin, rule=verdict.rule,
                        arguments=call.arguments)
        if verdict.decision == "deny" or (verdict.decision == "ask" and not self.approve):
            why = verdict.reason or "no reason given"
            if verdict.decision == "ask":
                why = f"it needs a person's approval ({why}), and none can be asked over MCP"
            return ToolResultBlock(call_id=call.id, name=call.name, is_error=True,
                                   content=f"Not run: denied by {verdict.plugin or 'the harness'}: {why}")
        result: ToolResultBlock = await dispatcher.wrap(
            "loom_wrap_tool_call", self._invoke, call, "call", spec=spec, run=host)
        await host.emit("act.finished", call_id=call.id, tool=call.name, is_error=result.is_error,
                        content=result.content[:500])
        return result

    async def _invoke(self, call: ToolCallBlock) -> ToolResultBlock:
        host = self.host
        assert host is not None
        record = host.tools[call.name]
        spec = record.spec
        assert spec is not None
        try:
            outcome = record.handler(call.arguments, host)
            if asyncio.iscoroutine(outcome):
                async with asyncio.timeout(spec.timeout):
                    outcome = await outcome
        except TimeoutError:
            return ToolResultBlock(call_id=call.id, name=call.name, is_error=True,
                                   content=f"tool {call.name!r} timed out after {spec.timeout}s")
        except Exception as exc:
            return ToolResultBlock(call_id=call.id, name=call.name, is_error=True,
                                   content=f"{type(exc).__name__}: {exc}")
        if isinstance(outcome, ToolResultBlock):
            return outcome
        text = outcome if isinstance(outcome, str) else json.dumps(outcome, default=str)
        if spec.output_cap is not None and len(text) > spec.output_cap:
            text = text[: spec.output_cap] + f"\n[output truncated: {len(text) - spec.output_cap} more]"
        return ToolResultBlock(call_id=call.id, name=call.name, content=text)

    # ---------------------------------------------------------------- agent

    async def _run_agent(self, goal: str) -> types.CallToolResult:
        run = self.runtime.create_session().create_task(goal).start()
        watcher = asyncio.create_task(self._answer_approvals(run))
        try:
            result = await run.wait()
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        if result.ok:
            return _result(result.output)
        detail = result.error or result.reason or "no detail"
        return _result(f"the agent run {result.run_id} ended {result.status}: {detail}", True)

    async def _answer_approvals(self, run: Run) -> None:
        async for event in run.events():
            if event.kind != "approval.requested":
                continue
            approval_id = event.data["approval_id"]
            if self.approve:
                run.approve(approval_id, by="mcp serve --yes")
            else:
                run.deny(approval_id, "no person can be asked over MCP", by="mcp serve")

    # ------------------------------------------------------------ transports

    def _options(self) -> Any:
        return self.server.create_initialization_options(NotificationOptions())

    async def serve_stdio(self) -> None:
        """Serve over this process's stdin and stdout until the client closes them."""
        from mcp.server.stdio import stdio_server

        await self.open()
        try:
            async with stdio_server() as (read, write):
                await self.server.run(read, write, self._options())
        finally:
            await self.close()

    async def serve_http(self, host: str = "127.0.0.1", port: int = 8931) -> None:
        """Serve streamable HTTP at ``http://HOST:PORT/mcp`` until :meth:`stop`."""
        import uvicorn

        await self.open()
        try:
            app = self.server.streamable_http_app(host=host)
            config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
            self._http = uvicorn.Server(config)
            await self._http.serve()
        finally:
            await self.close()

    @property
    def started(self) -> bool:
        """Whether the HTTP server is accepting connections."""
        return bool(self._http is not None and self._http.started)

    def stop(self) -> None:
        """Ask the HTTP server to finish."""
        if self._http is not None:
            self._http.should_exit = True


__all__ = ["AGENT_TOOL", "LoomMcpServer", "annotations_for"]
