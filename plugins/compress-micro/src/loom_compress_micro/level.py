"""The micro level's compressor (see the package docstring)."""

from __future__ import annotations

from typing import Any

from loom.context import ContextWindow
from loom.invariants import ContextEdit
from loom.messages import Message, ToolResultBlock
from loom_compress_common.history import calls_by_id, protected_start
from loom_compress_common.ledger import Harvester
from loom_compress_common.level import ledger_of, pinned_ledger
from loom_compress_common.store import RestoreStore, ref
from loom_compress_common.stubs import describe_call, is_stub, short_tokens, stub

from loom_compress_micro.settings import MicroSettings

_CHARS_PER_TOKEN = 3.4


class Micro:
    """Harvests facts into the ledger, then masks old tool outputs with stubs."""

    level = "micro"

    def __init__(self, settings: MicroSettings | None = None) -> None:
        self.settings = settings or MicroSettings()

    @classmethod
    def from_settings(cls, settings: MicroSettings) -> Micro:
        """The factory the kernel calls with ``[settings.micro]``."""
        return cls(settings)

    async def compress(self, window: ContextWindow, run: Any) -> ContextEdit | None:
        """Propose the micro edit for ``window`` (None when no batch is due)."""
        return self.edit(window, RestoreStore.for_run(run))

    def mask_limit(self, window: ContextWindow) -> int:
        """Outputs before this history index may be masked."""
        cut = protected_start(window)
        keep = self.settings.keep_turns
        if not keep:
            return cut
        assistants = [i for i, m in enumerate(window.history) if m.role == "assistant"]
        boundary = assistants[-keep] if len(assistants) >= keep else 0
        return min(cut, boundary)

    def edit(self, window: ContextWindow, store: RestoreStore) -> ContextEdit | None:
        """The edit itself, given where to store originals."""
        settings = self.settings
        history = window.history
        limit = self.mask_limit(window)
        found: list[tuple[int, int, ToolResultBlock]] = []
        chars = 0
        for index in range(limit):
            message = history[index]
            if message.role != "tool":
                continue
            for position, block in enumerate(message.content):
                if (
                    isinstance(block, ToolResultBlock)
                    and len(block.content) >= settings.min_output_chars
                    and not is_stub(block.content)
                ):
                    found.append((index, position, block))
                    chars += len(block.content)
        tokens = chars / _CHARS_PER_TOKEN * window.estimator.factor
        if not found or tokens < settings.batch_fraction * window.budget:
            return None
        calls = calls_by_id(history)
        items = {}
        for n, (_, _, block) in enumerate(found):
            call = calls.get(block.call_id)
            items[str(n)] = {
                "kind": "tool_result",
                "tool": block.name,
                "call_id": block.call_id,
                "arguments": dict(call.arguments) if call else {},
                "content": block.content,
            }
        batch = store.put(items, level=self.level)
        ledger = ledger_of(window)
        harvester = Harvester(window, ledger)
        new = list(history)
        replaced: dict[int, dict[int, str]] = {}
        refs = []
        for n, (index, position, block) in enumerate(found):
            restore_ref = ref(batch, n)
            refs.append(restore_ref)
            harvester.result(index, block, restore_ref)
            call = calls.get(block.call_id)
            what = describe_call(call.name, call.arguments, 70) if call else (block.name or "tool output")
            lines = block.content.count("\n") + 1
            size = short_tokens(len(block.content) / _CHARS_PER_TOKEN)
            note = "facts in the Fact ledger"
            replaced.setdefault(index, {})[position] = stub(
                f"masked: {what} — {lines} lines, {size}", restore_ref, note
            )
        for index in range(limit):
            if history[index].role != "tool":
                harvester.message(index, history[index])
        for index, blocks in replaced.items():
            message = new[index]
            content = [
                b.model_copy(update={"content": blocks[p]}) if p in blocks else b
                for p, b in enumerate(message.content)
            ]
            new[index] = Message(
                role=message.role, content=content, meta={**message.meta, "compressed": self.level}
            )
        return ContextEdit(
            level=self.level,
            reason=f"masked {len(found)} tool outputs older than the last "
            f"{settings.keep_turns} turns ({short_tokens(tokens)})",
            history=new,
            pinned=pinned_ledger(window, ledger, settings.ledger_fraction),
            lossy=True,
            restore_refs=refs,
        )
