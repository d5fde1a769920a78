"""The project rules file (``.loom/permissions.toml``): saved "always allow" rules."""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
import tomllib
from pathlib import Path

from loom.errors import ConfigError

from loom_harness_permissions.rules import Rule, RuleSyntaxError, parse_rule

HEADER = ("# Permission rules for this project, read by the harness-permissions plugin.\n"
          "# Rules chosen with \"always allow\" on an approval are added here.\n"
          "# Syntax: \"tool\" or \"tool(pattern)\"; deny beats ask beats allow.\n")
_LOCK = threading.Lock()


class RulesFile:
    """Reads (re-reading when it changes) and appends to one rules file."""

    #: Seconds between two checks of the file for changes made by other programs.
    CHECK_EVERY = 0.5

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._rules: list[Rule] = []
        self._checked = -1.0

    def rules(self) -> list[Rule]:
        """The file's rules; re-read when it changed (checked at most every ``CHECK_EVERY`` s)."""
        now = time.monotonic()
        if self._checked >= 0 and now - self._checked < self.CHECK_EVERY:
            return self._rules
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._stamp, self._rules, self._checked = None, [], now
            return self._rules
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp:
            self._rules = self._load()  # a bad file raises on every call until it is fixed
            self._stamp = stamp
        self._checked = now
        return self._rules

    def _load(self) -> list[Rule]:
        text = self.path.read_text(encoding="utf-8")
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"malformed rules file: {exc}", file=str(self.path)) from None
        rules: list[Rule] = []
        for decision in ("deny", "ask", "allow"):
            entries = data.get(decision, [])
            if not isinstance(entries, list):
                raise ConfigError(f"{decision} must be a list of rules", file=str(self.path),
                                  key=decision)
            for entry in entries:
                try:
                    rules.append(parse_rule(entry, decision, source=f"rules file {self.path.name}"))
                except (RuleSyntaxError, ValueError) as exc:
                    raise ConfigError(str(exc), file=str(self.path), key=decision) from None
        unknown = set(data) - {"allow", "ask", "deny"}
        if unknown:
            raise ConfigError(f"unknown keys {sorted(unknown)}; allowed: allow, ask, deny",
                              file=str(self.path))
        return rules

    def add_allow(self, rule_text: str) -> bool:
        """Append an allow rule (atomically); False when it was already there."""
        parse_rule(rule_text, "allow")
        with _LOCK:
            data: dict[str, list[object]] = {"allow": [], "ask": [], "deny": []}
            if self.path.exists():
                loaded = tomllib.loads(self.path.read_text(encoding="utf-8"))
                for key in data:
                    data[key] = list(loaded.get(key, []))
            if rule_text in data["allow"]:
                return False
            data["allow"].append(rule_text)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            body = HEADER + "".join(
                f"{key} = [\n" + "".join(f"    {_toml(e)},\n" for e in data[key])
                + "]\n" for key in ("allow", "ask", "deny"))
            fd, tmp = tempfile.mkstemp(prefix=".permissions.", dir=self.path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(body)
            os.replace(tmp, self.path)
        self._stamp, self._checked = None, -1.0
        return True


def _toml(entry: object) -> str:
    if isinstance(entry, dict):
        return "{ " + ", ".join(f"{k} = {json.dumps(str(v), ensure_ascii=False)}"
                                for k, v in entry.items()) + " }"
    return json.dumps(str(entry), ensure_ascii=False)
