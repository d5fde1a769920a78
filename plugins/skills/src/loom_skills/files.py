"""A skill's files: resources read on demand, scripts run as subprocesses.

Both are confined to the skill's folder: a path that resolves outside it
(``..``, an absolute path, a symbolic link leading out) is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path

from loom.errors import ToolError

from loom_skills.skill import Skill

#: How a script is started, by file extension; others must be executable.
INTERPRETERS: dict[str, list[str]] = {
    ".py": [sys.executable],
    ".sh": ["sh"],
    ".bash": ["bash"],
}


def inside(skill: Skill, relative: str) -> Path:
    """The file ``relative`` inside the skill folder, or a ToolError naming why not."""
    if not relative.strip():
        raise ToolError("path must not be empty")
    root = skill.folder.resolve()
    candidate = (root / relative).resolve()
    if candidate != root and root not in candidate.parents:
        raise ToolError(f"{relative!r} is outside the folder of skill {skill.name!r}; "
                        "use a path relative to the skill folder")
    return candidate


def read_resource(skill: Skill, relative: str, cap: int) -> str:
    """The text of one of the skill's files (at most ``cap`` characters)."""
    path = inside(skill, relative)
    if not path.is_file():
        listing = ", ".join(skill.resources()) or "none"
        raise ToolError(f"skill {skill.name!r} has no file {relative!r}; its files: {listing}")
    data = path.read_bytes()
    if b"\0" in data[:8192]:
        raise ToolError(f"{relative!r} is a binary file ({len(data)} bytes); only text can be read")
    text = data.decode("utf-8", errors="replace")
    if len(text) > cap:
        text = text[:cap] + f"\n[truncated: {len(text) - cap} more characters]"
    return text


def _command(skill: Skill, relative: str) -> list[str]:
    path = inside(skill, relative)
    if not path.is_file():
        alt = inside(skill, f"scripts/{relative}")
        if alt.is_file():
            path = alt
        else:
            scripts = ", ".join(skill.scripts()) or "none"
            raise ToolError(f"skill {skill.name!r} has no script {relative!r}; its scripts: {scripts}")
    interpreter = INTERPRETERS.get(path.suffix)
    if interpreter is not None:
        return [*interpreter, str(path)]
    if os.access(path, os.X_OK):
        return [str(path)]
    raise ToolError(f"cannot run {relative!r}: not executable and no interpreter is known for "
                    f"{path.suffix or 'files without an extension'} "
                    f"(known: {', '.join(sorted(INTERPRETERS))})")


def _kill(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)


async def run_script(skill: Skill, script: str, args: list[str], *, cwd: Path, timeout: float,
                     cap: int) -> str:
    """Run one of the skill's scripts in ``cwd``; returns its exit code and output.

    The script sees ``LOOM_SKILL_DIR`` (its skill's folder) and ``LOOM_SKILL_NAME``.
    It is killed with every process it started after ``timeout`` seconds, or
    when the call is cancelled.
    """
    command = [*_command(skill, script), *args]
    env = {**os.environ, "LOOM_SKILL_DIR": str(skill.folder), "LOOM_SKILL_NAME": skill.name}
    process = await asyncio.create_subprocess_exec(
        *command, cwd=str(cwd), env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, start_new_session=True)
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        _kill(process)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(process.wait(), 5)
        raise ToolError(f"script {script!r} of skill {skill.name!r} timed out after {timeout:g}s "
                        "and was killed") from None
    finally:
        _kill(process)
    text = output.decode("utf-8", errors="replace")
    if len(text) > cap:
        text = text[:cap] + f"\n[output truncated: {len(text) - cap} more characters]"
    return f"exit code: {process.returncode}\n{text}"
