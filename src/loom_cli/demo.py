"""``loom run --demo``: a scripted demo model and one read-only tool.

No real model is called: the scripted model lists the working directory
with the ``demo_list_dir`` tool, then answers from what the tool returned.
Every answer says it comes from the scripted demo model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from loom.errors import ToolError
from loom.hookspecs import hookimpl
from loom.messages import Message
from loom.records import Record
from loom.requests import ModelRequest
from loom.testing import ScriptedModel, call
from loom.tools import tool

LABEL = "scripted demo model"
PLUGIN_NAME = "cli-demo"
MAX_ENTRIES = 50


def _list_dir(path: str = ".", run: Any = None) -> str:
    """List the entries of a folder inside the workspace (read-only).

    Args:
        path: folder relative to the workspace.
    """
    workspace = Path(run.runtime.workspace if run is not None else Path.cwd()).resolve()
    folder = (workspace / path).resolve()
    if folder != workspace and workspace not in folder.parents:
        raise ToolError(f"{path!r} is outside the workspace {str(workspace)!r}")
    if not folder.is_dir():
        raise ToolError(f"{path!r} is not a folder")
    names = sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir())
    shown = names[:MAX_ENTRIES]
    more = f"\n... and {len(names) - MAX_ENTRIES} more" if len(names) > MAX_ENTRIES else ""
    return "\n".join(shown) + more if shown else "(empty folder)"


demo_list_dir: Record = tool(_list_dir, name="demo_list_dir", effects={"read"}, idempotent=True)


class DemoTools:
    """Registers the demo's read-only tool."""

    @hookimpl
    def loom_register_tools(self) -> list[Record]:
        """The ``demo_list_dir`` tool."""
        return [demo_list_dir]


def _answer(goal: str) -> Any:
    def reply(request: ModelRequest) -> str:
        result = _last_tool_result(request.messages)
        head = (f"[{LABEL}] This answer is scripted; no real model was called. "
                f"Goal: {goal!r}.")
        if result is None:
            return f"{head} The directory listing did not come back."
        if result.is_error:
            return f"{head} The read-only tool demo_list_dir returned an error: {result.content}"
        entries = [line for line in result.content.splitlines()
                   if line and not line.startswith(("(", "... "))]
        found = (f"found {len(entries)} entr{'y' if len(entries) == 1 else 'ies'}: "
                 f"{', '.join(entries)}" if entries else "found it empty")
        return (f"{head} I listed the working directory with the read-only tool "
                f"demo_list_dir and {found}.")

    return reply


def _last_tool_result(messages: list[Message]) -> Any:
    for message in reversed(messages):
        if message.tool_results:
            return message.tool_results[-1]
    return None


def demo_model(goal: str) -> ScriptedModel:
    """The scripted model: list the directory, then answer from the listing."""
    model = ScriptedModel([call("demo_list_dir", path="."), _answer(goal)])
    model.name = LABEL
    return model
