"""Permission rules: ``tool`` or ``tool(pattern)``, matched against a call's main argument.

Matching is deliberately lopsided, so that a rule can never be stretched:

- an **allow** rule matches a shell command only when the command is one
  simple command (no ``;``, ``&&``, ``|``, ``$(...)``, backticks,
  redirections or line breaks): ``shell(git status*)`` never allows
  ``git status; rm -rf x``;
- a **deny** (or ask) rule matches when any part of the command matches,
  after quotes are removed and wrappers (``env``, ``command``, ``nohup``,
  ``sudo``...) and program paths (``/bin/rm``) are stripped: ``shell(rm *)``
  also denies ``ls && /bin/rm -rf x``.

Paths are matched relative to the workspace (symbolic links resolved):
``*`` matches within one folder, ``**`` across folders. A path that leads
out of the workspace is matched as an absolute path, so ``write(src/**)``
never allows ``src/../../etc/passwd``.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

Decision = Literal["allow", "ask", "deny"]
#: Argument names tried, in order, as a call's main argument.
PRIMARY_KEYS = ("command", "cmd", "path", "file_path", "file", "url", "pattern", "query", "name")
PATH_KEYS = frozenset({"path", "file_path", "file"})
COMMAND_KEYS = frozenset({"command", "cmd"})
SHELL_META = re.compile(r"[;&|<>$`\n\r(){}\\]")
SEGMENT_SPLIT = re.compile(r"\$\(|`|<\(|>\(|&&|\|\||[;&|\n()<>]")
WRAPPERS = frozenset({"env", "command", "builtin", "nohup", "nice", "time", "exec", "sudo", "doas",
                      "xargs", "busybox", "stdbuf", "timeout", "setsid"})
RULE_SYNTAX = re.compile(r"^\s*(?P<tool>[^()\s]+)\s*(?:\((?P<pattern>.*)\))?\s*$", re.S)


class RuleSpec(BaseModel):
    """A rule as a table: ``{ tool = "fetch", argument = "url", pattern = "https://docs.*" }``."""

    model_config = ConfigDict(extra="forbid")

    tool: str
    argument: str | None = None
    pattern: str | None = None


class RuleSyntaxError(ValueError):
    """A rule that cannot be parsed; the message shows the rule and the expected form."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One compiled rule. ``source`` says where it came from (settings, a profile, the rules file)."""

    decision: Decision
    tool: str
    pattern: str | None
    argument: str | None
    text: str
    source: str = "settings"

    def matches(self, tool: str, arguments: dict[str, Any], workspace: str) -> bool:
        """Whether the rule applies to ``tool`` called with ``arguments``."""
        if not fnmatchcase(tool, self.tool):
            return False
        if self.pattern is None:
            return True
        if self.argument is not None:
            value = arguments.get(self.argument)
            keys = [self.argument] if isinstance(value, str) else []
        else:
            keys = [next((k for k in PRIMARY_KEYS if isinstance(arguments.get(k), str)), "")]
            if not keys[0]:
                keys = [k for k, v in arguments.items() if isinstance(v, str)] \
                    if self.decision != "allow" else []
        return any(self._match_value(k, arguments[k], workspace) for k in keys if k)

    def _match_value(self, key: str, value: str, workspace: str) -> bool:
        assert self.pattern is not None
        if key in COMMAND_KEYS:
            if self.decision == "allow":
                return not SHELL_META.search(value) and _match_text(self.pattern, " ".join(value.split()))
            return any(_match_text(self.pattern, c) for c in command_variants(value))
        if key in PATH_KEYS:
            return any(_match_path(self.pattern, p) for p in path_variants(value, workspace))
        return _match_text(self.pattern, value)


def parse_rule(entry: str | RuleSpec | dict[str, Any], decision: Decision,
               source: str = "settings") -> Rule:
    """Compile a rule from ``"tool"``, ``"tool(pattern)"`` or a :class:`RuleSpec` table."""
    if isinstance(entry, dict):
        entry = RuleSpec.model_validate(entry)
    if isinstance(entry, RuleSpec):
        if not entry.tool.strip():
            raise RuleSyntaxError("a rule table needs a non-empty tool")
        pattern = entry.pattern if entry.pattern is not None or not entry.argument else "*"
        if entry.argument:
            text = f"{entry.tool}[{entry.argument}]({pattern})"
        else:
            text = entry.tool + (f"({pattern})" if pattern is not None else "")
        return Rule(decision, entry.tool, pattern, entry.argument, text, source)
    match = RULE_SYNTAX.match(entry)
    if match is None or not match.group("tool"):
        raise RuleSyntaxError(f"cannot read the rule {entry!r}: write 'tool' or 'tool(pattern)', "
                              "e.g. 'shell(git status*)' or 'write(src/**)'")
    pattern = match.group("pattern")
    if pattern is not None and not pattern.strip():
        raise RuleSyntaxError(f"the rule {entry!r} has an empty pattern; write 'tool' to match "
                              "every call of a tool")
    return Rule(decision, match.group("tool"), pattern, None, entry.strip(), source)


def command_variants(command: str) -> list[str]:
    """The command and each of its parts, normalised (quotes removed, wrappers stripped)."""
    out = [" ".join(command.split())]
    for segment in SEGMENT_SPLIT.split(command):
        segment = segment.strip()
        if not segment:
            continue
        try:
            words = shlex.split(segment, posix=True)
        except ValueError:
            words = segment.split()
        while words and (words[0] in WRAPPERS or re.match(r"^[A-Za-z_]\w*=", words[0])
                         or words[0].rsplit("/", 1)[-1] in WRAPPERS):
            words = words[1:]
            while words and words[0].startswith("-"):
                words = words[1:]
        if not words:
            continue
        words[0] = words[0].lstrip("\\").rsplit("/", 1)[-1]
        out.append(" ".join(words))
    return out


def path_variants(value: str, workspace: str) -> list[str]:
    """How a path argument is matched: relative to the workspace, or absolute when outside it."""
    raw = os.path.expanduser(value) if value.startswith("~") else value
    absolute = raw if os.path.isabs(raw) else os.path.join(workspace, raw)
    real = os.path.realpath(absolute)
    if real == workspace:
        return ["."]
    if real.startswith(workspace.rstrip("/") + "/"):
        return [real[len(workspace.rstrip("/")) + 1:]]
    return [real]


@lru_cache(maxsize=512)
def _path_regex(pattern: str) -> re.Pattern[str]:
    out = []
    i = 0
    pattern = pattern[2:] if pattern.startswith("./") else pattern
    while i < len(pattern):
        ch = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        out.append("[^/]*" if ch == "*" else "[^/]" if ch == "?" else re.escape(ch))
        i += 1
    return re.compile("".join(out) + r"\Z", re.S)


def _match_path(pattern: str, path: str) -> bool:
    if "[" in pattern:
        return fnmatchcase(path, pattern.replace("**", "*"))
    return _path_regex(pattern).match(path) is not None


def _match_text(pattern: str, text: str) -> bool:
    return fnmatchcase(text, pattern)


def escape(value: str) -> str:
    """``value`` as a pattern that matches only itself."""
    return re.sub(r"([*?\[])", r"[\1]", value)


def rule_for_call(tool: str, arguments: dict[str, Any]) -> str | None:
    """The exact rule that allows this very call again (None for a compound shell command)."""
    key = next((k for k in PRIMARY_KEYS if isinstance(arguments.get(k), str)), None)
    if key is None:
        return tool
    value = arguments[key]
    if key in COMMAND_KEYS:
        if SHELL_META.search(value):
            return None
        value = " ".join(value.split())
    if "(" in value or ")" in value:
        return None
    return f"{tool}({escape(value)})"
