"""Classify one proposed action from its tool's declared effects and its arguments."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from loom_harness_classifier.commands import analyze_shell
from loom_harness_classifier.findings import Finding, Findings
from loom_harness_classifier.pathrisk import Context, delete_path, read_path, write_path

#: Risk of each declared effect before the arguments are looked at.
EFFECT_RISK: dict[str, float] = {"read": 0.05, "mutate": 0.35, "network": 0.5, "execute": 0.5,
                                 "destroy": 0.7, "escalate": 0.8}
EFFECT_WORDS: dict[str, str] = {"read": "reads", "mutate": "changes files", "network": "uses the network",
                                "execute": "runs code", "destroy": "deletes things",
                                "escalate": "changes the agent's mode or permissions"}
PATH_KEYS = frozenset({"path", "paths", "file", "files", "file_path", "filepath", "filename",
                       "target", "destination", "dest", "src", "source", "directory", "dir",
                       "folder", "cwd", "output", "output_path", "notebook_path"})
COMMAND_KEYS = frozenset({"command", "cmd", "script", "commandline", "command_line"})
GLOB_KEYS = frozenset({"pattern", "glob", "include"})
URL_KEYS = frozenset({"url", "uri", "urls", "endpoint", "href"})
SHELL_TOOLS = frozenset({"shell", "bash", "sh", "exec", "run", "terminal", "run_command",
                         "execute", "run_shell", "shell_command"})
MODE_KEYS = frozenset({"mode", "permission_mode", "profile_mode", "agent_mode"})
MODES = frozenset({"AUTO", "DEFAULT", "PLAN"})
LOOM_MARKER = re.compile(r"LOOM_PROFILE__MODE|LOOM_SETTINGS__HARNESS|\[tool\.loom|\[settings\.harness")


def _loom_marker(text: str) -> bool:
    """Whether :data:`LOOM_MARKER` is in ``text`` (each of its words holds ``LOOM_`` or ``[``)."""
    return ("LOOM_" in text or "[" in text) and LOOM_MARKER.search(text) is not None


@lru_cache(maxsize=64)
def _declared(effects: frozenset[Any]) -> tuple[str, ...]:
    """Declared effect names, known ones only, in a fixed order (``read`` when none)."""
    names = sorted({str(getattr(e, "value", e)) for e in effects} & set(EFFECT_RISK))
    return tuple(names) or ("read",)


@lru_cache(maxsize=256)
def _effect_findings(tool: str, declared: tuple[str, ...]) -> tuple[Finding, ...]:
    """The findings of the declared effects alone (built once per tool and effects; never changed)."""
    return tuple(Finding(effect, EFFECT_RISK[effect], f"effect.{effect}",  # type: ignore[arg-type]
                         f"{tool} declares that it {EFFECT_WORDS[effect]}") for effect in declared)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [v for v in value if isinstance(v, str)]
    return []


def _escapes(pattern: str) -> bool:
    return pattern.startswith(("/", "~", "$")) or pattern == ".." or pattern.startswith("../") \
        or "/../" in pattern or pattern.endswith("/..")


def classify(tool: str, arguments: Mapping[str, Any], effects: Iterable[Any],
             workspace: str) -> Findings:
    """The findings for calling ``tool`` with ``arguments`` in ``workspace`` (absolute, resolved)."""
    findings = Findings()
    declared = _declared(frozenset(effects))
    findings.items.extend(_effect_findings(tool, declared))
    if "network" in declared:
        findings.network += 1
    if "escalate" in declared:
        return findings
    ctx = Context(workspace, findings)
    writes = "mutate" in declared or "destroy" in declared
    for key, value in arguments.items():
        lowered = key.lower()
        is_text = isinstance(value, str)
        if lowered in PATH_KEYS:
            for raw in (value,) if is_text else _strings(value):
                if "destroy" in declared:
                    delete_path(ctx, raw, recursive=True, verb=f"{tool} deletes")
                elif writes:
                    write_path(ctx, raw, verb=f"{tool} writes")
                else:
                    read_path(ctx, raw, verb=f"{tool} reads")
        elif lowered in COMMAND_KEYS and ("execute" in declared or tool.lower() in SHELL_TOOLS):
            for text in (value,) if is_text else _strings(value):
                analyze_shell(text, workspace, findings)
        elif lowered in GLOB_KEYS and isinstance(value, str) and _escapes(value):
            read_path(ctx, value.split("*", 1)[0] or "/", verb=f"{tool} searches")
        elif lowered in URL_KEYS and _strings(value) and "network" not in declared:
            findings.add("network", 0.5, "argument.url", f"{tool} is given a URL")
        elif lowered in MODE_KEYS and isinstance(value, str) and value.upper() in MODES:
            findings.add("escalate", 0.99, "argument.mode-switch",
                         f"{tool} is asked to switch the mode to {value.upper()}, which it does not "
                         "declare it may do: an escalation attempt")
        if (is_text and ("LOOM_" in value or "[" in value) and _loom_marker(value)) \
                or (isinstance(value, list) and any(_loom_marker(v) for v in _strings(value))):
            findings.add("escalate", 0.99, "argument.loom-settings",
                         f"{tool}'s {key!r} argument changes Loom's mode or permission settings")
    return findings
