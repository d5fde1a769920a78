"""The fact ledger: pinned working state that outlives masked content.

The ledger is plain text pinned under ``"Fact ledger"``; the text itself is
the state (so it survives renewal and needs no side storage)::

    - value: DATABASE_PORT = 6842 (was 5432) — from read_file path=config/app.toml, ref ab12cd34ef56/3
    - error: KeyError: 'exp' → fixed by edit_file path=src/auth/tokens.py — from run_shell …
    - decision: I'll use orjson instead of json for the cache payloads.
    - files: touched src/auth/tokens.py, config/app.toml

A newer fact with the same key replaces an older one (a value keeps what it
was). When the ledger outgrows its size, the least important and oldest
entries leave it first — their sources stay restorable from disk.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from loom.context import ContextWindow
from loom.messages import Message, ToolCallBlock, ToolResultBlock

from loom_compress_common.facts import (
    Fact,
    constraints_in,
    decisions_in,
    facts_from_output,
    is_error_output,
)
from loom_compress_common.history import calls_by_id, is_mutating, path_argument
from loom_compress_common.stubs import is_stub, name_call

LEDGER_KEY = "Fact ledger"
HEADER = (
    "Facts kept from content that left the context (newest last; "
    "context_restore(ref=...) brings back the source)."
)
_PRIORITY = {"files": 6, "constraint": 6, "decision": 5, "error": 4, "value": 3, "event": 2}
_LINE = re.compile(r"^- (\w+): (.*?)(?: — from (.*?))?(?:, ref ([0-9a-f]{12}/[\w.\-]+))?$")
_VALUES = re.compile(r"^- values(?: from (.*?))?(?:, ref ([0-9a-f]{12}/[\w.\-]+))?: (.*)$")
_MAX_FILES = 150


@dataclass
class Entry:
    """One ledger line."""

    kind: str
    text: str
    source: str = ""
    ref: str = ""

    def render(self) -> str:
        """The line as shown in the ledger."""
        line = f"- {self.kind}: {self.text}"
        if self.source:
            line += f" — from {self.source}"
        if self.ref:
            line += f", ref {self.ref}"
        return line


def _key(kind: str, text: str, source: str = "") -> str:
    if kind == "value":
        return f"value:{source}:" + text.split(" = ", 1)[0].lower()
    if kind == "files":
        return "files"
    if kind == "error":
        return "error:" + text.split(" → ", 1)[0][:120]
    return f"{kind}:{text[:120].lower()}"


class Ledger:
    """Ordered ledger entries by key; see the module docstring."""

    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {}

    @classmethod
    def parse(cls, text: str | None) -> Ledger:
        """Read a ledger back from its pinned text (unknown lines are dropped)."""
        ledger = cls()
        for line in (text or "").splitlines():
            grouped = _VALUES.match(line)
            if grouped:
                source, ref, body = grouped.groups()
                for item in body.split("; "):
                    if " = " in item:
                        ledger.entries[_key("value", item, source or "")] = Entry(
                            "value", item, source or "", ref or ""
                        )
                continue
            match = _LINE.match(line)
            if match:
                kind, body, source, ref = match.groups()
                ledger.entries[_key(kind, body, source or "")] = Entry(kind, body, source or "", ref or "")
        return ledger

    def add(self, fact: Fact) -> bool:
        """Add or supersede one fact; True if the ledger changed."""
        key = _key(fact.kind, fact.text, fact.source)
        old = self.entries.get(key)
        text = fact.text
        if old is not None:
            if fact.kind == "value":
                old_value = old.text.split(" = ", 1)[-1].split(" (was ", 1)[0]
                new_value = text.split(" = ", 1)[-1]
                if old_value == new_value:
                    return False
                text = f"{text} (was {old_value})"
            elif old.text.startswith(text):
                return False
            del self.entries[key]
        self.entries[key] = Entry(fact.kind, text, fact.source, fact.ref)
        return True

    def resolve(self, error_text: str, fix: str) -> bool:
        """Note how an error was fixed."""
        key = _key("error", error_text)
        entry = self.entries.get(key)
        if entry is None or " → " in entry.text:
            return False
        entry.text = f"{entry.text} → {fix}"
        return True

    def touch(self, paths: Iterable[str]) -> bool:
        """Add paths to the ``files`` entry."""
        entry = self.entries.get("files")
        known = entry.text.removeprefix("touched ").split(", ") if entry else []
        new = [p for p in paths if p not in known]
        if not new:
            return False
        merged = [*known, *dict.fromkeys(new)][-_MAX_FILES:]
        self.entries.pop("files", None)
        self.entries["files"] = Entry("files", "touched " + ", ".join(merged))
        return True

    def lines(self) -> list[tuple[list[str], str]]:
        """Rendered lines with the keys each holds; values from one source share a line."""
        groups: dict[tuple[str, str], list[str]] = {}
        order: list[tuple[str, str] | str] = []  # a value group, or the key of a single line
        for key, entry in self.entries.items():
            if entry.kind == "value":
                group = (entry.source, entry.ref)
                if group not in groups:
                    groups[group] = []
                    order.append(group)
                groups[group].append(key)
            else:
                order.append(key)
        out: list[tuple[list[str], str]] = []
        for item in order:
            if isinstance(item, str):
                out.append(([item], self.entries[item].render()))
                continue
            keys = groups[item]
            where = f" from {item[0]}" if item[0] else ""
            where += f", ref {item[1]}" if item[1] else ""
            out.append((keys, f"- values{where}: " + "; ".join(self.entries[k].text for k in keys)))
        return out

    def render(self, max_chars: int) -> str:
        """The ledger text, evicting the least important, oldest lines to fit."""
        lines = self.lines()
        size = len(HEADER) + sum(len(line) + 1 for _, line in lines)
        if size > max_chars:

            def rank(i: int) -> tuple[int, int]:
                kinds = {self.entries[k].kind for k in lines[i][0]}
                return (max(_PRIORITY.get(k, 1) for k in kinds), i)

            dropped: set[int] = set()
            for i in sorted(range(len(lines)), key=rank):
                if size <= max_chars:
                    break
                dropped.add(i)
                size -= len(lines[i][1]) + 1
            for i in dropped:
                for key in lines[i][0]:
                    del self.entries[key]
            lines = [item for i, item in enumerate(lines) if i not in dropped]
        return "\n".join([HEADER, *(line for _, line in lines)]) if lines else ""


class Harvester:
    """Collects facts from messages of one window into a ledger."""

    def __init__(self, window: ContextWindow, ledger: Ledger) -> None:
        self.window = window
        self.ledger = ledger
        self._calls: dict[str, ToolCallBlock] | None = None
        self._by_signature: dict[str, list[int]] | None = None

    @property
    def calls(self) -> dict[str, ToolCallBlock]:
        """Tool calls of the window by id."""
        if self._calls is None:
            self._calls = calls_by_id(self.window.history)
        return self._calls

    def result(self, index: int, result: ToolResultBlock, ref: str = "") -> None:
        """Harvest one tool output (at history ``index``)."""
        if is_stub(result.content):
            return
        call = self.calls.get(result.call_id)
        arguments = call.arguments if call else {}
        source = name_call(result.name or (call.name if call else "tool"), arguments)
        facts = facts_from_output(
            result.content, source=source, path=path_argument(arguments), is_error=result.is_error, ref=ref
        )
        for fact in facts:
            self.ledger.add(fact)
        if call is not None and is_error_output(result.content, result.is_error):
            fix = self._fix_for(index, call)
            if fix:
                for fact in facts:
                    if fact.kind == "error":
                        self.ledger.resolve(fact.text, fix)

    def message(self, index: int, message: Message, ref: str = "") -> None:
        """Harvest a whole message: outputs, decisions in text, files touched, user constraints."""
        if message.role == "user":
            if index and not message.meta.get("delta"):
                for fact in constraints_in(message.text_content):
                    self.ledger.add(fact)
            return
        if message.role == "tool":
            for result in message.tool_results:
                self.result(index, result, ref)
            return
        if message.role == "assistant":
            text = message.text_content
            if text and not is_stub(text):
                for fact in decisions_in(text, ref=ref):
                    self.ledger.add(fact)
            self.touched(message)

    def touched(self, message: Message) -> None:
        """Add the paths an assistant message's mutating calls name to the ``files`` entry."""
        self.ledger.touch(
            p
            for c in message.tool_calls
            if is_mutating(self.window, c.name)
            for p in [path_argument(c.arguments)]
            if p
        )

    def _signatures(self) -> dict[str, list[int]]:
        if self._by_signature is None:
            found: dict[str, list[int]] = {}
            for i, m in enumerate(self.window.history):
                if m.role == "tool":
                    for r in m.tool_results:
                        call = self.calls.get(r.call_id)
                        if call is not None:
                            found.setdefault(_signature(call), []).append(i)
            self._by_signature = found
        return self._by_signature

    def _fix_for(self, index: int, call: ToolCallBlock) -> str:
        """How a failing call was fixed: the changes made before it next succeeded."""
        history = self.window.history
        for later in self._signatures().get(_signature(call), []):
            if later <= index:
                continue
            ok = [
                r
                for r in history[later].tool_results
                if (c := self.calls.get(r.call_id)) is not None
                and _signature(c) == _signature(call)
                and not is_error_output(r.content, r.is_error)
            ]
            if not ok:
                continue
            between = [
                c
                for m in history[index + 1 : later]
                if m.role == "assistant"
                for c in m.tool_calls
                if _signature(c) != _signature(call)
            ]
            changed = [c for c in between if is_mutating(self.window, c.name)] or between
            changes = [name_call(c.name, c.arguments) for c in changed[-3:]]
            what = "; ".join(changes) if changes else "a retry"
            return f"fixed by {what}; then it succeeded"
        return ""


def _signature(call: ToolCallBlock) -> str:
    return call.name + repr(sorted(call.arguments.items()))


def ledger_chars(window: ContextWindow, fraction: float, floor: int = 800) -> int:
    """The ledger's size limit in characters: ``fraction`` of the budget."""
    return max(floor, int(window.budget * fraction * 4))
