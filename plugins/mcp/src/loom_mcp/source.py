"""The MCP tool source: configured servers' tools as ordinary Loom tool records.

Built once per run by the kernel. ``list_tools`` starts every enabled server
(each on its own :class:`~loom_mcp.connection.ServerConnection`), does the
handshake and returns one :class:`McpTool` per server tool, plus
``mcp_list_resources``/``mcp_read_resource`` and
``mcp_list_prompts``/``mcp_get_prompt`` when a server offers resources or
prompts. The records go through the harness like any tool. When a server
announces ``notifications/tools/list_changed`` (or comes back from a restart
with other tools), the run's tool table (``run.tools``) and the specs sent to
the model (``run.window.tools``) are updated and ``mcp.tools_changed`` is
reported.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import mcp_types as types
from loom.errors import LoomError, ToolError, did_you_mean
from loom.records import ToolRecord
from loom.requests import Effect, ToolSpec
from loom.tools import tool
from mcp.client.session import ClientSession
from mcp.shared.exceptions import MCPError

from loom_mcp.connection import McpServerError, ServerConnection
from loom_mcp.convert import (
    describe,
    effects_for,
    input_schema,
    loom_tool_name,
    prompt_text,
    resource_text,
    result_text,
)
from loom_mcp.settings import SETTINGS_NAME, McpSettings

#: ``listener(kind, data)``: sees every event of the bridge (tests, embedding).
Listener = Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True)
class McpTool(ToolRecord):
    """A tool record for one tool of one MCP server (or a resource/prompt helper)."""

    source: Any = None
    server: str = ""
    remote_name: str = ""


class McpToolSource:
    """Every configured MCP server of one run, as tools."""

    def __init__(self, settings: McpSettings | None = None) -> None:
        self.settings = settings or McpSettings()
        self.connections: dict[str, ServerConnection] = {}
        self.records: dict[str, McpTool] = {}
        self.runs: list[Any] = []
        self.listeners: list[Listener] = []
        self._pending_events: list[tuple[str, dict[str, Any]]] = []

    @classmethod
    def from_settings(cls, settings: McpSettings | None) -> McpToolSource:
        """The record factory: built with the validated ``[settings.mcp]``."""
        return cls(settings)

    # ------------------------------------------------------------ tool source

    async def list_tools(self) -> list[ToolRecord]:
        """Start the servers, do the handshakes and return their tools.

        A required server that fails to start fails the run with an error
        naming it (and the end of its standard error); an optional one is
        reported as ``mcp.server_unavailable``.
        """
        if not self.connections:
            await self._start()
        self.records = self._build_records()
        return list(self.records.values())

    async def _start(self) -> None:
        for name, server in self.settings.servers.items():
            if server.enabled:
                self.connections[name] = ServerConnection(
                    name, server, report=self._report, on_tools_changed=self._tools_changed)
        outcomes = await asyncio.gather(*(c.start() for c in self.connections.values()),
                                        return_exceptions=True)
        problems: list[str] = []
        for (name, conn), outcome in zip(list(self.connections.items()), outcomes, strict=True):
            if isinstance(outcome, BaseException):
                if isinstance(outcome, asyncio.CancelledError):
                    raise outcome
                del self.connections[name]
                await conn.close()
                if conn.settings.required:
                    problems.append(str(outcome))
                else:
                    await self._report("mcp.server_unavailable", server=name, error=str(outcome))
        if problems:
            await self.close()
            raise McpServerError("\n".join(problems) + "\n(set required = false in "
                                 "[settings.mcp.servers.<name>] to run without it)")

    async def close(self) -> None:
        """Stop every server; no process is left behind."""
        connections = list(self.connections.values())
        await asyncio.gather(*(c.close() for c in connections), return_exceptions=True)

    # ---------------------------------------------------------------- records

    def _build_records(self) -> dict[str, McpTool]:
        records: dict[str, McpTool] = {}
        for server, conn in self.connections.items():
            wanted = conn.settings.tools
            for remote in conn.tools:
                if wanted is not None and remote.name not in wanted:
                    continue
                record = self._record(server, conn, remote)
                other = records.get(record.name)
                if other is not None:
                    raise LoomError(
                        f"two MCP servers have a tool named {record.name!r}: {other.server!r} and "
                        f"{server!r}; set namespace = true in [settings.mcp.servers.{server}]")
                records[record.name] = record
        for helper in self._helpers():
            records.setdefault(helper.name, helper)
        return records

    def _record(self, server: str, conn: ServerConnection, remote: types.Tool) -> McpTool:
        settings = conn.settings
        hints = remote.annotations
        read_only = bool(hints and hints.read_only_hint and settings.trust_annotations)
        idempotent = read_only or bool(hints and hints.idempotent_hint and settings.trust_annotations)
        name = loom_tool_name(server, remote.name, settings.namespace)
        spec = ToolSpec(name=name, description=describe(remote, server), parameters=input_schema(remote),
                        effects=effects_for(remote, settings),
                        timeout=settings.timeout + settings.startup_timeout + 10,
                        idempotent=idempotent, source=f"mcp:{server}")
        handler = functools.partial(self._call_tool, server, remote.name, read_only)
        return McpTool(name=name, factory=handler, spec=spec, description=spec.description,
                       plugin=SETTINGS_NAME, source=self, server=server, remote_name=remote.name)

    async def _call_tool(self, server: str, remote: str, read_only: bool,
                         arguments: dict[str, Any], run: Any) -> str:
        await self.attach(run)
        conn = self._connection(server)
        timeout = conn.settings.timeout

        async def call(session: ClientSession) -> types.CallToolResult:
            return await session.call_tool(remote, arguments, read_timeout_seconds=timeout)

        try:
            result: types.CallToolResult = await conn.request(call, retry_safe=read_only)
        except MCPError as exc:
            raise ToolError(f"MCP server {server!r} refused the call to {remote!r}: {exc}") from None
        attach = getattr(run, "attach_artifact", None)
        text = result_text(result, attach)
        if result.is_error:
            raise ToolError(text or f"the tool {remote!r} of MCP server {server!r} reported an error")
        return text

    def _connection(self, server: str) -> ServerConnection:
        conn = self.connections.get(server)
        if conn is None:
            known = ", ".join(sorted(self.connections)) or "none"
            raise ToolError(f"no MCP server named {server!r}{did_you_mean(server, self.connections)}; "
                            f"servers: {known}")
        return conn

    def _servers_with(self, capability: str) -> list[str]:
        return [name for name, conn in self.connections.items()
                if conn.capabilities is not None and getattr(conn.capabilities, capability) is not None]

    def _helpers(self) -> list[McpTool]:
        helpers: list[ToolRecord] = []
        with_resources = self._servers_with("resources") if self.settings.resources else []
        with_prompts = self._servers_with("prompts") if self.settings.prompts else []
        source = self
        if with_resources:
            servers = ", ".join(with_resources)

            @tool(name="mcp_list_resources", effects={"read"}, timeout=120)
            async def mcp_list_resources(server: str) -> str:
                """List the resources (documents, data) an MCP server offers: URI, name and type.

                Args:
                    server: the MCP server's name.
                """
                result = await source._ask(server, lambda s: s.list_resources())
                lines = [f"{r.uri} | {r.name}" + (f" ({r.mime_type})" if r.mime_type else "")
                         + (f": {r.description}" if r.description else "") for r in result.resources]
                return "\n".join(lines) or f"MCP server {server!r} lists no resources"

            @tool(name="mcp_read_resource", effects={"read"}, timeout=120)
            async def mcp_read_resource(server: str, uri: str) -> str:
                """Read one resource of an MCP server by its URI.

                Args:
                    server: the MCP server's name.
                    uri: the resource's URI, as listed by mcp_list_resources.
                """
                result = await source._ask(server, lambda s: s.read_resource(uri))
                return "\n\n".join(resource_text(c) for c in result.contents)

            for helper in (mcp_list_resources, mcp_read_resource):
                helpers.append(_with_servers(helper, servers))
        if with_prompts:
            servers = ", ".join(with_prompts)

            @tool(name="mcp_list_prompts", effects={"read"}, timeout=120)
            async def mcp_list_prompts(server: str) -> str:
                """List the prompt templates an MCP server offers, with their arguments.

                Args:
                    server: the MCP server's name.
                """
                result = await source._ask(server, lambda s: s.list_prompts())
                lines = []
                for p in result.prompts:
                    args = ", ".join(a.name + ("" if a.required else "?") for a in p.arguments or [])
                    lines.append(f"{p.name}({args})" + (f": {p.description}" if p.description else ""))
                return "\n".join(lines) or f"MCP server {server!r} lists no prompts"

            @tool(name="mcp_get_prompt", effects={"read"}, timeout=120)
            async def mcp_get_prompt(server: str, name: str,
                                     arguments: dict[str, str] | None = None) -> str:
                """Get a prompt template of an MCP server, filled in with arguments.

                Args:
                    server: the MCP server's name.
                    name: the prompt's name, as listed by mcp_list_prompts.
                    arguments: the prompt's arguments (names to text values).
                """
                result = await source._ask(server, lambda s: s.get_prompt(name, arguments))
                return prompt_text(result)

            for helper in (mcp_list_prompts, mcp_get_prompt):
                helpers.append(_with_servers(helper, servers))
        return [McpTool(name=h.name, factory=h.factory, spec=h.spec, description=h.description,
                        plugin=SETTINGS_NAME, source=self) for h in helpers]

    async def _ask(self, server: str, call: Callable[[ClientSession], Any]) -> Any:
        conn = self._connection(server)
        try:
            return await conn.request(call, retry_safe=True)
        except MCPError as exc:
            raise ToolError(f"MCP server {server!r}: {exc}") from None

    # -------------------------------------------------------------- the run

    async def attach(self, run: Any) -> None:
        """Report this source's events to ``run`` (those that happened before, too)."""
        if run is None or any(r is run for r in self.runs):
            return
        self.runs.append(run)
        pending, self._pending_events = self._pending_events, []
        for kind, data in pending:
            await self._emit(run, kind, data)

    async def _report(self, kind: str, /, **data: Any) -> None:
        for listener in list(self.listeners):
            listener(kind, data)
        if not self.runs:
            self._pending_events.append((kind, data))
        for run in list(self.runs):
            await self._emit(run, kind, data)

    @staticmethod
    async def _emit(run: Any, kind: str, data: dict[str, Any]) -> None:
        try:
            await run.emit(kind, **data)
        except Exception:  # a run that has ended no longer takes events
            pass

    async def _tools_changed(self, conn: ServerConnection) -> None:
        old = set(self.records)
        try:
            self.records = self._build_records()
        except LoomError as exc:
            await self._report("mcp.tools_conflict", server=conn.name, error=str(exc))
            return
        new = set(self.records)
        clashes: list[str] = []
        for run in self.runs:
            clashes.extend(self._apply(run))
        await self._report("mcp.tools_changed", server=conn.name, added=sorted(new - old),
                           removed=sorted(old - new))
        for name in sorted(set(clashes)):
            await self._report("mcp.tools_conflict", server=conn.name, error=(
                f"MCP server {conn.name!r} now has a tool named {name!r}, which another source "
                f"already provides; it is not offered (set namespace = true for {conn.name!r})"))

    def _apply(self, run: Any) -> list[str]:
        """Put the current records into ``run``; returns the names another source holds."""
        allowed = run.profile.tools
        ours = {n for n, r in run.tools.items() if isinstance(r, McpTool) and r.source is self}
        for name in ours:
            del run.tools[name]
        clashes = []
        for name, record in self.records.items():
            if allowed is not None and name not in allowed:
                continue
            if name in run.tools:
                clashes.append(name)
                continue
            run.tools[name] = record
        specs = [s for s in run.window.tools if s.name not in ours]
        present = {s.name for s in specs}
        specs.extend(r.spec for n, r in self.records.items()
                     if run.tools.get(n) is r and n not in present and r.spec is not None)
        run.window.tools = specs
        return clashes


def _with_servers(record: ToolRecord, servers: str) -> ToolRecord:
    """The helper's spec with the servers that offer it named in the description."""
    assert record.spec is not None
    description = f"{record.spec.description} Servers: {servers}."
    spec = record.spec.model_copy(update={"description": description,
                                          "effects": frozenset({Effect.READ}), "source": "mcp"})
    return ToolRecord(name=record.name, factory=record.factory, spec=spec, description=description)
