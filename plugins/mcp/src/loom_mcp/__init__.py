"""The Model Context Protocol bridge for Loom, on the official ``mcp`` SDK.

- **Client**: servers configured in ``[settings.mcp.servers.NAME]`` (a
  ``command`` for stdio, or a ``url`` for streamable HTTP) are started when a
  run starts; their tools become ordinary Loom tools (judged by the harness
  like any other), with effects taken from the tools' annotations. Resources
  and prompts are reachable through ``mcp_list_resources``,
  ``mcp_read_resource``, ``mcp_list_prompts`` and ``mcp_get_prompt``. A
  crashed server is restarted with backoff (``mcp.server_restarted``); a
  changed tool list updates the run's tools (``mcp.tools_changed``); every
  server process is stopped when the run ends or is cancelled.
- **Server**: :mod:`loom_mcp.serve` (``loom mcp serve``) exposes a profile's
  tools, or a whole agent as one tool ``run_agent(goal)``, to MCP clients over
  stdio or streamable HTTP.

Events: ``mcp.server_restarted``, ``mcp.server_failed``,
``mcp.server_unavailable``, ``mcp.tools_changed``, ``mcp.tools_conflict``.
"""

from __future__ import annotations

from typing import Any

from loom.hookspecs import hookimpl
from loom.records import Record, ToolSourceRecord

from loom_mcp.settings import SETTINGS_NAME, McpSettings, ServerSettings

__all__ = ["SETTINGS_NAME", "McpSettings", "ServerSettings", "loom_register_tool_sources",
           "loom_run_started"]


@hookimpl
def loom_register_tool_sources() -> list[Record]:
    """Register the ``mcp`` tool source (settings: ``[settings.mcp]``)."""
    return [ToolSourceRecord(name=SETTINGS_NAME, settings=McpSettings,
                             factory="loom_mcp.source:McpToolSource.from_settings",
                             description="tools, resources and prompts of configured MCP servers")]


@hookimpl
async def loom_run_started(run: Any) -> None:
    """Send the MCP bridge's events (restarts, tool list changes) to the starting run."""
    from loom_mcp.source import McpTool

    sources = {id(r.source): r.source for r in list(run.tools.values())
               if isinstance(r, McpTool) and r.source is not None}
    for source in sources.values():
        await source.attach(run)
