"""``loom mcp serve``: serve the configured profile's tools (or the agent) as an MCP server.

Over stdio (the default) the MCP client starts ``loom mcp serve`` itself;
with ``--http PORT`` it serves streamable HTTP at ``http://HOST:PORT/mcp``.
Messages go to standard error: standard output carries the protocol.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from loom.api import AgentRuntime
from loom.config import load_config
from loom.errors import StageError

from loom_mcp.serve import LoomMcpServer

OK, USAGE, NO_PROVIDER = 0, 2, 4


class _NoModel:
    """Stands in for a provider when only tools are served: no model is ever called."""

    name = "none"
    context_window = 200_000

    async def complete(self, request: object, **_: object) -> object:
        raise StageError("loom mcp serve without --agent serves tools only; no model is called")


def build_runtime(args: argparse.Namespace) -> AgentRuntime:
    """The runtime for ``args``: configured plugins, and a provider only in agent mode."""
    config = load_config(getattr(args, "config", None))
    if args.agent:
        return AgentRuntime(config=config)
    return AgentRuntime(config=config, provider=_NoModel())


def cmd_mcp_serve(args: argparse.Namespace) -> int:
    """Run the MCP server until the client goes away (stdio) or Ctrl-C (HTTP)."""
    try:
        runtime = build_runtime(args)
    except StageError as exc:
        print(f"loom: {exc}", file=sys.stderr)
        return NO_PROVIDER
    server = LoomMcpServer(runtime, agent=args.agent, tools=args.tool, approve=args.yes)
    try:
        if args.http:
            print(f"loom: serving MCP at http://{args.host}:{args.http}/mcp", file=sys.stderr)
            asyncio.run(server.serve_http(args.host, args.http))
        else:
            asyncio.run(server.serve_stdio())
    except LookupError as exc:
        print(f"loom: {exc.args[0]}", file=sys.stderr)
        return USAGE
    return OK
