"""The ``shell`` tool: one command in the workspace root, with a timeout and an output cap."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from typing import Any

from loom.errors import ToolError
from loom.tools import FunctionTool, tool

from loom_tools_builtin.settings import settings_of
from loom_tools_builtin.workspace import workspace_of


def _kill_group(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def _cap(text: str, cap: int) -> str:
    if len(text) <= cap:
        return text
    return text[:cap] + f"\n[output truncated: {len(text) - cap} more characters]"


async def _run_shell(command: str, timeout: float | None = None, run: Any = None) -> str:
    """Run a shell command in the workspace root; returns its exit code and output.

    Standard output and standard error are returned together. A command that
    runs longer than the timeout is killed with every process it started.

    Args:
        command: the command line, run with the configured shell (``sh -c``).
        timeout: seconds the command may take (default from settings).
    """
    if not command.strip():
        raise ToolError("command must not be empty")
    settings = settings_of(run)
    limit = settings.shell_timeout if timeout is None else timeout
    if limit <= 0:
        raise ToolError(f"timeout must be positive, got {timeout}")
    limit = min(limit, settings.shell_max_timeout)
    process = await asyncio.create_subprocess_exec(
        settings.shell, "-c", command, cwd=str(workspace_of(run)),
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, start_new_session=True)
    try:
        output, _ = await asyncio.wait_for(process.communicate(), limit)
    except TimeoutError:
        _kill_group(process)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(process.wait(), 5)
        raise ToolError(f"command timed out after {limit:g}s and was killed: {command[:200]!r}") \
            from None
    finally:
        _kill_group(process)
    text = _cap(output.decode("utf-8", errors="replace"), settings.output_cap)
    return f"exit code: {process.returncode}\n{text}"


run_shell: FunctionTool = tool(_run_shell, name="shell", effects={"execute"}, timeout=None)
