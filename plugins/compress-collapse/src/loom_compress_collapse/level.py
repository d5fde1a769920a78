"""The collapse level's compressor (see the package docstring)."""

from __future__ import annotations

from typing import Any

from loom.context import ContextWindow
from loom.invariants import ContextEdit
from loom.messages import Message
from loom.requests import ModelRequest
from loom_compress_common.digest import span_digest, transcript
from loom_compress_common.history import protected_start
from loom_compress_common.ledger import Harvester
from loom_compress_common.level import ledger_of, pinned_ledger
from loom_compress_common.store import RestoreStore, messages_item, ref
from loom_compress_common.stubs import STUB_PREFIX

from loom_compress_collapse.settings import CollapseSettings
from loom_compress_collapse.spans import finished_spans

DIGEST_SYSTEM = (
    "You condense a finished part of an agent's work into a short digest: one line "
    "per outcome, keeping every file path, value, identifier, error and fix exactly. "
    "No preamble."
)


class Collapse:
    """Folds finished spans into digests; the originals go to the restore store."""

    level = "collapse"

    def __init__(self, settings: CollapseSettings | None = None) -> None:
        self.settings = settings or CollapseSettings()

    @classmethod
    def from_settings(cls, settings: CollapseSettings) -> Collapse:
        """The factory the kernel calls with ``[settings.collapse]``."""
        return cls(settings)

    async def compress(self, window: ContextWindow, run: Any) -> ContextEdit | None:
        """Propose the collapse edit for ``window`` (None when no span is finished)."""
        spans = finished_spans(window.history, protected_start(window), self.settings.min_span_messages)
        bodies: dict[int, str] = {}
        if self.settings.use_model and spans:
            for n, (start, stop) in enumerate(spans):
                body = await _model_digest(run, window.history[start:stop], self.settings.digest_chars)
                if body:
                    bodies[n] = body
        return self.edit(window, RestoreStore.for_run(run), spans, bodies)

    def edit(
        self,
        window: ContextWindow,
        store: RestoreStore,
        spans: list[tuple[int, int]] | None = None,
        bodies: dict[int, str] | None = None,
    ) -> ContextEdit | None:
        """Fold ``spans`` (default: every finished span) of ``window``."""
        history = window.history
        if spans is None:
            spans = finished_spans(history, protected_start(window), self.settings.min_span_messages)
        if not spans:
            return None
        items = {str(n): messages_item(history[a:b]) for n, (a, b) in enumerate(spans)}
        batch = store.put(items, level=self.level)
        ledger = ledger_of(window)
        harvester = Harvester(window, ledger)
        new: list[Message] = []
        refs = []
        previous = 0
        for n, (start, stop) in enumerate(spans):
            restore_ref = ref(batch, n)
            refs.append(restore_ref)
            for index in range(start, stop):
                harvester.message(index, history[index], restore_ref)
            new.extend(history[previous:start])
            text = span_digest(history[start:stop], restore_ref, self.settings.digest_chars)
            if bodies and n in bodies:
                text = text.split("\n", 1)[0] + "\n" + bodies[n]
            new.append(Message.text("assistant", text, compressed=self.level))
            previous = stop
        new.extend(history[previous:])
        folded = sum(b - a for a, b in spans)
        return ContextEdit(
            level=self.level,
            reason=f"folded {len(spans)} finished spans ({folded} messages)",
            history=new,
            pinned=pinned_ledger(window, ledger, self.settings.ledger_fraction),
            lossy=True,
            restore_refs=refs,
        )


async def _model_digest(run: Any, messages: list[Message], max_chars: int) -> str:
    """A digest body written by the run's model, or "" when that is not possible."""
    provider = getattr(getattr(run, "runtime", None), "provider", None)
    if provider is None:
        return ""
    request = ModelRequest(
        model=getattr(run.profile, "model", None) or "",
        system=DIGEST_SYSTEM,
        messages=[Message.text("user", transcript(messages, 20_000))],
        max_tokens=max(256, max_chars // 3),
        metadata={"purpose": "context.digest"},
    )
    try:
        response = await provider.complete(request)
    except Exception:
        return ""
    text = response.message.text_content.strip()
    return text[:max_chars] if text and not text.startswith(STUB_PREFIX) else ""
