"""File tools: read, list, glob, grep (read-only) and write, edit (mutating)."""

from __future__ import annotations

import itertools
import os
import re
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath
from typing import Any

from loom.errors import ToolError
from loom.tools import FunctionTool, tool

from loom_tools_builtin.settings import settings_of
from loom_tools_builtin.workspace import confine, relative, workspace_of

SKIP_DIRS = frozenset({".git", ".hg", ".svn"})


def _text(path: Path, raw: str, limit: int) -> str:
    if not path.is_file():
        raise ToolError(f"{raw!r} is not a file" if path.exists() else f"{raw!r} does not exist")
    size = path.stat().st_size
    if size > limit:
        raise ToolError(f"{raw!r} is {size} bytes, more than the {limit}-byte limit; "
                        "read a smaller file or raise max_file_bytes")
    data = path.read_bytes()
    if b"\x00" in data[:8192]:
        raise ToolError(f"{raw!r} looks like a binary file; only text files can be read")
    return data.decode("utf-8", errors="replace")


def _read_file(path: str, offset: int = 1, limit: int | None = None, run: Any = None) -> str:
    """Read a text file inside the workspace.

    Args:
        path: the file, relative to the workspace root.
        offset: the first line to return (1-based).
        limit: how many lines to return (all when omitted).
    """
    root = workspace_of(run)
    target = confine(root, path)
    text = _text(target, path, settings_of(run).max_file_bytes)
    if offset <= 1 and limit is None:
        return text
    lines = text.splitlines(keepends=True)
    start = max(offset, 1) - 1
    end = len(lines) if limit is None else start + max(limit, 0)
    return "".join(lines[start:end])


def _list_entries(path: str = ".", run: Any = None) -> str:
    """List the entries of a folder inside the workspace (folders end with "/").

    Args:
        path: the folder, relative to the workspace root.
    """
    root = workspace_of(run)
    folder = confine(root, path)
    if not folder.is_dir():
        raise ToolError(f"{path!r} is not a folder" if folder.exists() else f"{path!r} does not exist")
    names = sorted(e.name + ("/" if e.is_dir() else "") for e in folder.iterdir())
    cap = settings_of(run).max_results
    more = f"\n[{len(names) - cap} more entries not shown]" if len(names) > cap else ""
    return ("\n".join(names[:cap]) + more) if names else "(empty folder)"


def _check_pattern(pattern: str) -> None:
    if not pattern or pattern.startswith(("/", "~")) or os.path.isabs(pattern):
        raise ToolError(f"glob pattern {pattern!r} must be relative to the workspace")
    if ".." in PurePosixPath(pattern).parts:
        raise ToolError(f"glob pattern {pattern!r} may not contain '..'")


def _glob_paths(pattern: str, path: str = ".", run: Any = None) -> str:
    """Find files whose path matches a glob pattern ("**" matches any folders).

    Args:
        pattern: a relative glob pattern such as "src/**/*.py".
        path: the folder to search from, relative to the workspace root.
    """
    root = workspace_of(run)
    base = confine(root, path)
    _check_pattern(pattern)
    cap = settings_of(run).max_results
    found: list[str] = []
    for hit in itertools.islice(base.glob(pattern), cap * 4):
        resolved = hit.resolve()
        if resolved == root or root in resolved.parents:
            found.append(relative(root, hit.absolute()))
        if len(found) > cap:
            break
    found.sort()
    more = f"\n[more than {cap} matches; narrow the pattern]" if len(found) > cap else ""
    return ("\n".join(found[:cap]) + more) if found else f"no file matches {pattern!r}"


def _walk(root: Path, base: Path) -> Any:
    if base.is_file():
        yield base
        return
    for folder, dirs, files in os.walk(base, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        for name in sorted(files):
            path = Path(folder) / name
            if path.is_symlink():
                resolved = path.resolve()
                if resolved != root and root not in resolved.parents:
                    continue
            yield path


def _grep_files(pattern: str, path: str = ".", include: str = "*", ignore_case: bool = False,
               run: Any = None) -> str:
    """Search text files for a regular expression; prints "file:line: text" per match.

    Args:
        pattern: a Python regular expression.
        path: a file or folder to search, relative to the workspace root.
        include: a glob the file names (or relative paths) must match, e.g. "*.py".
        ignore_case: match without regard to case.
    """
    root = workspace_of(run)
    base = confine(root, path)
    try:
        regex = re.compile(pattern, re.IGNORECASE if ignore_case else 0)
    except re.error as exc:
        raise ToolError(f"invalid regular expression {pattern!r}: {exc}") from None
    settings = settings_of(run)
    lines: list[str] = []
    size = 0
    for file in _walk(root, base):
        rel = relative(root, file)
        if not (fnmatchcase(file.name, include) or fnmatchcase(rel, include)):
            continue
        try:
            if file.stat().st_size > settings.max_file_bytes:
                continue
            data = file.read_bytes()
        except OSError:
            continue
        if b"\x00" in data[:8192]:
            continue
        for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
            if regex.search(line):
                entry = f"{rel}:{number}: {line}"
                lines.append(entry)
                size += len(entry) + 1
                if len(lines) >= settings.max_results or size >= settings.output_cap:
                    lines.append("[more matches not shown; narrow the search]")
                    return "\n".join(lines)
    return "\n".join(lines) if lines else f"no match for {pattern!r}"


def _write_file(path: str, content: str, run: Any = None) -> str:
    """Write a text file inside the workspace, creating folders as needed; replaces the file.

    Args:
        path: the file, relative to the workspace root.
        content: the whole new content.
    """
    root = workspace_of(run)
    target = confine(root, path)
    if target.is_dir():
        raise ToolError(f"{path!r} is a folder, not a file")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(content, encoding="utf-8")
    return f"wrote {len(content.encode('utf-8'))} bytes to {relative(root, target)}"


def _edit_file(path: str, old: str, new: str, replace_all: bool = False, run: Any = None) -> str:
    """Replace an exact piece of text in a file inside the workspace.

    The text must occur exactly once (or set replace_all to replace every
    occurrence); otherwise nothing changes and the call fails.

    Args:
        path: the file, relative to the workspace root.
        old: the exact text to replace (whitespace and line breaks included).
        new: the text to put in its place.
        replace_all: replace every occurrence instead of exactly one.
    """
    root = workspace_of(run)
    target = confine(root, path)
    if not old:
        raise ToolError("old must not be empty; use write to create or replace a whole file")
    text = _text(target, path, settings_of(run).max_file_bytes)
    count = text.count(old)
    if count == 0:
        raise ToolError(f"the text to replace was not found in {path!r}; nothing changed")
    if count > 1 and not replace_all:
        raise ToolError(f"the text to replace occurs {count} times in {path!r}; include more "
                        "surrounding text to make it unique, or set replace_all; nothing changed")
    target.write_text(text.replace(old, new), encoding="utf-8")
    return f"replaced {count} occurrence{'s' if count > 1 else ''} in {relative(root, target)}"


read_file: FunctionTool = tool(_read_file, name="read", effects={"read"}, idempotent=True)
list_entries: FunctionTool = tool(_list_entries, name="list", effects={"read"}, idempotent=True)
glob_paths: FunctionTool = tool(_glob_paths, name="glob", effects={"read"}, idempotent=True)
grep_files: FunctionTool = tool(_grep_files, name="grep", effects={"read"}, idempotent=True)
write_file: FunctionTool = tool(_write_file, name="write", effects={"mutate"})
edit_file: FunctionTool = tool(_edit_file, name="edit", effects={"mutate"})
