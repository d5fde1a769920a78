"""Confinement to the workspace root: every path a built-in tool touches goes through here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from loom.errors import ToolError


def workspace_of(run: Any) -> Path:
    """The workspace root of ``run`` (its runtime's ``workspace``), resolved."""
    root = getattr(getattr(run, "runtime", None), "workspace", None)
    return Path(root if root is not None else Path.cwd()).resolve()


def confine(root: Path, raw: str, *, what: str = "path") -> Path:
    """Resolve ``raw`` against ``root`` and refuse anything that leaves it.

    Relative paths are taken from the workspace root; ``..`` components and
    symbolic links are resolved first, so neither can lead outside. Absolute
    paths are accepted only when they point inside the workspace, and
    ``~``-paths are refused (they name a home folder, not the workspace).
    Raises :class:`~loom.errors.ToolError` naming the path and the root.
    """
    if not isinstance(raw, str) or not raw.strip():
        raise ToolError(f"{what} must be a non-empty string")
    if "\x00" in raw:
        raise ToolError(f"{what} {raw!r} contains a NUL character")
    if raw.startswith("~"):
        raise ToolError(f"{what} {raw!r} is a home-folder path; use a path inside the "
                        f"workspace {str(root)!r}")
    candidate = Path(raw)
    if not candidate.is_absolute():
        candidate = root / candidate
    resolved = candidate.resolve()
    if resolved != root and root not in resolved.parents:
        hint = " (it leads through a symbolic link)" if _through_link(root, candidate) else ""
        raise ToolError(f"{what} {raw!r} is outside the workspace {str(root)!r}{hint}; "
                        "only paths inside the workspace can be used")
    return resolved


def _through_link(root: Path, candidate: Path) -> bool:
    current = candidate
    while current != current.parent:
        if current.is_symlink():
            return True
        if current == root:
            break
        current = current.parent
    return False


def relative(root: Path, path: Path) -> str:
    """``path`` shown relative to the workspace root (``.`` for the root)."""
    try:
        rel = path.relative_to(root)
    except ValueError:
        return str(path)
    return rel.as_posix() or "."
