"""The snip level's compressor (see the package docstring)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from loom.context import ContextWindow
from loom.invariants import ContextEdit
from loom.messages import Message, ToolCallBlock, ToolResultBlock
from loom_compress_common.history import calls_by_id, path_argument, protected_start
from loom_compress_common.ledger import Harvester
from loom_compress_common.level import ledger_of, pinned_ledger
from loom_compress_common.store import RestoreStore, ref
from loom_compress_common.stubs import is_compressed, short_tokens, stub

from loom_compress_snip.settings import SnipSettings

_NOISE = re.compile(
    r"(?m)^[^\n]*(?:\r|\b\d{1,3}(?:\.\d+)?%|[━█▉▊▋▌▍▎▏#=>\-]{12,}|\b(?:Downloading|Fetching|"
    r"Receiving objects|Resolving deltas|Compressing objects|Counting objects|Enumerating objects|"
    r"Collecting|Using cached|Requirement already satisfied|Progress:|Unpacking objects)\b)[^\n]*\n?"
)
_NOISE_HINTS = ("%", "\r", "Downloading", "Collecting", "objects", "Requirement already", "━", "███")
_CHARS_PER_TOKEN = 3.4


@dataclass
class _Change:
    index: int
    position: int
    result: ToolResultBlock
    kind: str
    note: str = ""
    removed: int = 0


class Snip:
    """Stubs superseded and duplicate outputs, strips noise, moves oversized outputs to disk."""

    level = "snip"

    def __init__(self, settings: SnipSettings | None = None) -> None:
        self.settings = settings or SnipSettings()
        self._clean: set[str] = set()

    @classmethod
    def from_settings(cls, settings: SnipSettings) -> Snip:
        """The factory the kernel calls with ``[settings.snip]``."""
        return cls(settings)

    async def compress(self, window: ContextWindow, run: Any) -> ContextEdit | None:
        """Propose the snip edit for ``window`` (None when there is nothing to snip)."""
        return self.edit(window, RestoreStore.for_run(run), self.settings)

    def edit(self, window: ContextWindow, store: RestoreStore, settings: SnipSettings) -> ContextEdit | None:
        """The edit itself, given where to store originals."""
        history = window.history
        cut = protected_start(window)
        calls = calls_by_id(history)
        changes = self._find(history, calls, cut, settings, window.estimator.factor)
        if not changes:
            return None
        items = {
            str(n): {
                "kind": "tool_result",
                "tool": c.result.name,
                "call_id": c.result.call_id,
                "arguments": dict(call.arguments) if (call := calls.get(c.result.call_id)) else {},
                "content": c.result.content,
            }
            for n, c in enumerate(changes)
        }
        batch = store.put(items, level=self.level)
        ledger = ledger_of(window)
        harvester = Harvester(window, ledger)
        new = list(history)
        by_message: dict[int, dict[int, str]] = {}
        refs = []
        for n, change in enumerate(changes):
            restore_ref = ref(batch, n)
            refs.append(restore_ref)
            if change.kind == "oversized":
                harvester.result(change.index, change.result, restore_ref)
            by_message.setdefault(change.index, {})[change.position] = self._replacement(
                change, restore_ref, history, settings
            )
        for index, replaced in by_message.items():
            message = new[index]
            blocks = [
                b.model_copy(update={"content": replaced[p]}) if p in replaced else b
                for p, b in enumerate(message.content)
            ]
            new[index] = Message(
                role=message.role, content=blocks, meta={**message.meta, "compressed": self.level}
            )
        kinds = sorted({c.kind for c in changes})
        return ContextEdit(
            level=self.level,
            reason=f"snipped {len(changes)} tool outputs ({', '.join(kinds)})",
            history=new,
            pinned=pinned_ledger(window, ledger, settings.ledger_fraction),
            lossy=True,
            restore_refs=refs,
        )

    def _find(
        self,
        history: list[Message],
        calls: dict[str, ToolCallBlock],
        cut: int,
        settings: SnipSettings,
        factor: float,
    ) -> list[_Change]:
        read_tools = set(settings.read_tools)
        later_paths: set[tuple[str, str]] = set()
        later_contents: set[str] = set()
        changes: list[_Change] = []
        max_chars = settings.max_output_tokens * _CHARS_PER_TOKEN / max(factor, 0.1)
        for index in range(len(history) - 1, -1, -1):
            message = history[index]
            if message.role != "tool":
                continue
            for position, block in enumerate(message.content):
                if not isinstance(block, ToolResultBlock):
                    continue
                content = block.content
                call = calls.get(block.call_id)
                name = call.name if call else block.name
                path = path_argument(call.arguments) if call and name in read_tools else None
                compressed = is_compressed(content)
                superseded = path is not None and (name, path) in later_paths
                duplicate = (
                    not compressed
                    and len(content) >= settings.min_duplicate_chars
                    and content in later_contents
                )
                if path is not None and not block.is_error:
                    later_paths.add((name, path))
                if not compressed and len(content) >= settings.min_duplicate_chars:
                    later_contents.add(content)
                if index >= cut or compressed:
                    continue
                if superseded:
                    changes.append(_Change(index, position, block, "superseded", f"{name} {path}"))
                elif duplicate:
                    changes.append(_Change(index, position, block, "duplicate"))
                elif block.call_id not in self._clean:
                    change = self._noise_or_size(index, position, block, settings, max_chars)
                    if change is None:
                        self._clean.add(block.call_id)
                    else:
                        changes.append(change)
        changes.reverse()
        return changes

    @staticmethod
    def _noise_or_size(
        index: int, position: int, block: ToolResultBlock, settings: SnipSettings, max_chars: float
    ) -> _Change | None:
        content = block.content
        if any(h in content for h in _NOISE_HINTS):
            cleaned, removed = _NOISE.subn("", content)
            if removed >= settings.noise_min_lines:
                return _Change(index, position, block, "noise", cleaned, removed)
        if len(content) > max_chars:
            return _Change(index, position, block, "oversized")
        return None

    @staticmethod
    def _replacement(
        change: _Change, restore_ref: str, history: list[Message], settings: SnipSettings
    ) -> str:
        content = change.result.content
        if change.kind == "superseded":
            return stub(f"superseded: {change.note} was read again later", restore_ref)
        if change.kind == "duplicate":
            return stub(
                f"duplicate: same {len(content)}-character output as a later "
                f"{change.result.name or 'tool'} call",
                restore_ref,
            )
        if change.kind == "noise":
            head = stub(f"snipped {change.removed} progress lines", restore_ref)
            return f"{head}\n{change.note}"
        keep = settings.preview_chars
        head_part = content[: keep * 2 // 3].rsplit("\n", 1)[0] if keep else ""
        tail_part = content[len(content) - keep // 3 :].split("\n", 1)[-1] if keep else ""
        lines = content.count("\n") + 1
        what = (
            f"preview of a {lines}-line output ({short_tokens(len(content) / _CHARS_PER_TOKEN)}); "
            f"the middle is stored, facts in the Fact ledger"
        )
        return f"{stub(what, restore_ref)}\n{head_part}\n[…]\n{tail_part}"
