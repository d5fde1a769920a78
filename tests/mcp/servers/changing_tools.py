"""A stdio MCP server (official SDK) whose tool list grows: ``unlock`` adds ``secret``
and announces it with ``notifications/tools/list_changed``.

No third-party server changes its tool list on request, so the bridge's
handling of that notification is tested against this one.
"""

from __future__ import annotations

import anyio
import mcp_types as types
from mcp.server.lowlevel.server import NotificationOptions, Server
from mcp.server.stdio import stdio_server

unlocked = False

UNLOCK = types.Tool(name="unlock", description="Add the secret tool.",
                    input_schema={"type": "object", "properties": {}})
SECRET = types.Tool(name="secret", description="Tell the secret.",
                    input_schema={"type": "object", "properties": {}},
                    annotations=types.ToolAnnotations(read_only_hint=True, open_world_hint=False))


async def list_tools(ctx: object, params: object) -> types.ListToolsResult:
    return types.ListToolsResult(tools=[UNLOCK, SECRET] if unlocked else [UNLOCK])


async def call_tool(ctx: object, params: types.CallToolRequestParams) -> types.CallToolResult:
    global unlocked
    if params.name == "unlock":
        unlocked = True
        await ctx.session.send_tool_list_changed()  # type: ignore[attr-defined]
        return types.CallToolResult(content=[types.TextContent(text="unlocked")])
    if params.name == "secret" and unlocked:
        return types.CallToolResult(content=[types.TextContent(text="the secret is 42")])
    return types.CallToolResult(content=[types.TextContent(text=f"no tool {params.name}")],
                                is_error=True)


server = Server("changing-tools", on_list_tools=list_tools, on_call_tool=call_tool)


async def main() -> None:
    options = server.create_initialization_options(NotificationOptions(tools_changed=True))
    async with stdio_server() as (read, write):
        await server.run(read, write, options)


if __name__ == "__main__":
    anyio.run(main)
