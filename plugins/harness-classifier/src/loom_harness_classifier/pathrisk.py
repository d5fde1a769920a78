"""Findings for reading, writing and deleting one path."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from loom_harness_classifier.findings import Findings
from loom_harness_classifier.paths import PathInfo, classify_path, is_broad_pattern


@dataclass(slots=True)
class Context:
    """What the analysis of one action knows and accumulates.

    ``nested`` analyses a nested command line (``sh -c``, ``eval``,
    ``find -exec``) into the same findings, one level deeper.
    """

    workspace: str
    findings: Findings
    nested: Callable[[str], None] = field(default=lambda text: None)
    sensitive: bool = False
    network: bool = False
    interpreter: bool = False


def read_path(ctx: Context, raw: str, verb: str = "reads") -> PathInfo:
    """A path that is read."""
    info = classify_path(raw, ctx.workspace)
    add = ctx.findings.add
    if info.secret:
        ctx.sensitive = True
        if info.inside:
            add("read", 0.8, "path.secret", f"{verb} {raw!r}, which looks like a credential file")
        else:
            add("read", 0.95, "path.secret-outside",
                f"{verb} the credential file {raw!r} outside the workspace")
    elif info.env_file:
        ctx.sensitive = True
        add("read", 0.75, "path.env-file", f"{verb} {raw!r}, an environment file that may hold secrets")
    elif info.place in ("outside", "system", "broad", "scratch"):
        add("read", 0.7, "path.read-outside", f"{verb} {raw!r}, outside the workspace")
    elif info.place == "device":
        add("read", 0.05, "path.read-device", f"{verb} the device {raw!r}")
    elif info.place == "unknown":
        add("read", 0.3, "path.read-dynamic", f"{verb} {raw!r}, a path that depends on a variable")
    else:
        add("read", 0.05, "path.read", f"{verb} {raw!r}")
    return info


def write_path(ctx: Context, raw: str, verb: str = "writes") -> PathInfo:
    """A path that is created or changed."""
    info = classify_path(raw, ctx.workspace)
    add = ctx.findings.add
    if info.loom_config:
        add("escalate", 0.99, "path.loom-config",
            f"{verb} {raw!r}, Loom's own configuration: an attempt to change its permissions or mode")
    elif info.secret or info.startup:
        add("destroy", 0.95, "path.write-secret",
            f"{verb} {raw!r}, a credential or start-up file")
    elif info.place == "broad":
        add("destroy", 0.95, "path.write-broad", f"{verb} {raw!r}, a folder above the workspace")
    elif info.place == "system":
        add("destroy", 0.95, "path.write-system", f"{verb} {raw!r}, a system file")
    elif info.place == "outside":
        add("mutate", 0.85, "path.write-outside", f"{verb} {raw!r}, outside the workspace")
    elif info.place == "device":
        add("mutate", 0.05, "path.write-device", f"{verb} the device {raw!r}")
    elif info.place == "unknown":
        add("mutate", 0.6, "path.write-dynamic", f"{verb} {raw!r}, a path that depends on a variable")
    elif info.place == "scratch":
        add("mutate", 0.75, "path.write-scratch", f"{verb} {raw!r}, a temporary path outside the workspace")
    elif info.env_file:
        add("mutate", 0.5, "path.write-env", f"{verb} the environment file {raw!r}")
    else:
        add("mutate", 0.35, "path.write", f"{verb} {raw!r} in the workspace")
    return info


def delete_path(ctx: Context, raw: str, *, recursive: bool, verb: str = "deletes") -> PathInfo:
    """A path that is deleted or overwritten beyond recovery."""
    info = classify_path(raw, ctx.workspace)
    add = ctx.findings.add
    tree = "recursively " if recursive else ""
    if info.loom_config:
        add("escalate", 0.99, "path.loom-config",
            f"{verb} {raw!r}, Loom's own configuration: an attempt to change its permissions")
    elif is_broad_pattern(raw) or info.place in ("broad", "root"):
        add("destroy", 0.99 if recursive else 0.9, "path.delete-tree",
            f"{tree}{verb} {raw!r}: the whole workspace, home folder or file system")
    elif info.place in ("system", "device") or info.secret or info.startup:
        add("destroy", 0.97, "path.delete-system", f"{tree}{verb} {raw!r}, a system or credential file")
    elif info.place == "outside":
        add("destroy", 0.92, "path.delete-outside", f"{tree}{verb} {raw!r}, outside the workspace")
    elif info.place == "unknown":
        add("destroy", 0.9 if recursive else 0.75, "path.delete-dynamic",
            f"{tree}{verb} {raw!r}, a path that depends on a variable")
    elif info.place == "scratch":
        add("destroy", 0.8, "path.delete-scratch",
            f"{tree}{verb} {raw!r}, a temporary path outside the workspace")
    else:
        add("destroy", 0.75 if recursive else 0.6, "path.delete",
            f"{tree}{verb} {raw!r} in the workspace")
    return info


def looks_like_path(word: str) -> bool:
    """Whether an argument is spelled like a path (has a slash, or starts with . or ~)."""
    return ("/" in word or word.startswith((".", "~")) or word.startswith("$HOME")) \
        and not word.startswith(("-", "http://", "https://"))
