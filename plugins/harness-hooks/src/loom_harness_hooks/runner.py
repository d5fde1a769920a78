"""Run one hook — an external command or a Python callable — with a timeout."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import inspect
import json
import os
import signal
from collections.abc import Callable
from typing import Any

from loom_harness_hooks.protocol import Answer, read_output, read_value
from loom_harness_hooks.settings import HookSpec, HooksSettings

_CALLABLES: dict[str, Callable[..., Any]] = {}


def load_callable(target: str) -> Callable[..., Any]:
    """Import ``"package.module:function"`` (once)."""
    found = _CALLABLES.get(target)
    if found is None:
        module_name, _, attr = target.partition(":")
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
        if not callable(obj):
            raise TypeError(f"{target!r} is not callable")
        found = _CALLABLES[target] = obj
    return found


async def run_hook(hook: HookSpec, payload: dict[str, Any], settings: HooksSettings,
                   cwd: str) -> Answer | None:
    """Run ``hook`` on ``payload``; None only when a callable has no opinion.

    A hook that raises, exits with an unexpected code, cannot be started or
    runs past its timeout gives an error answer decided by ``on_error``.
    """
    timeout = hook.timeout or settings.timeout
    on_error = hook.on_error or settings.on_error
    try:
        if hook.callable is not None:
            return await asyncio.wait_for(_call(hook.callable, payload), timeout)
        assert hook.command is not None
        return await _command(hook.command, payload, timeout, cwd, on_error)
    except TimeoutError:
        return Answer(on_error, f"the hook did not answer within {timeout:g}s", error=True)
    except Exception as exc:
        return Answer(on_error, f"the hook failed: {type(exc).__name__}: {exc}", error=True)


async def _call(target: str, payload: dict[str, Any]) -> Answer | None:
    function = load_callable(target)
    if inspect.iscoroutinefunction(function):
        value = await function(payload)
    else:
        value = await asyncio.to_thread(function, payload)
        if inspect.isawaitable(value):
            value = await value
    return read_value(value)


async def _command(argv: list[str], payload: dict[str, Any], timeout: float, cwd: str,
                   on_error: Any) -> Answer:
    data = json.dumps(payload, default=str).encode()
    process = await asyncio.create_subprocess_exec(
        *argv, cwd=cwd, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, start_new_session=True)
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(data), timeout)
    except BaseException:
        _kill(process)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(process.wait(), 5)
        raise
    finally:
        _kill(process)
    assert process.returncode is not None
    return read_output(process.returncode, stdout.decode("utf-8", "replace"),
                       stderr.decode("utf-8", "replace"), on_error)


def _kill(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
