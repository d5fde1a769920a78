"""The renewal compressor (see the package docstring)."""

from __future__ import annotations

import json
from typing import Any

from loom.context import ContextWindow
from loom.invariants import ContextEdit
from loom.messages import Message
from loom_compress_common.digest import structured_summary
from loom_compress_common.history import is_kept_user, protected_start
from loom_compress_common.ledger import LEDGER_KEY, Harvester
from loom_compress_common.level import ledger_of, pinned_ledger
from loom_compress_common.store import RawJSON, RestoreStore, message_json, ref
from loom_compress_common.stubs import STUB_PREFIX, short_tokens

from loom_compress_renewal.settings import RenewalSettings

HANDOFF_KEY = "Hand-off note"


def checkpoint_item(window: ContextWindow, step: int) -> RawJSON:
    """The whole window as a ``checkpoint`` item (the same fields as ``ContextWindow.snapshot``)."""
    head = {
        "system": window.system,
        "goal": window.goal,
        "skills": list(window.skills),
        "memory": list(window.memory),
        "pinned": dict(window.pinned),
        "plan": window.plan.model_dump(mode="json") if window.plan else None,
        "tokens": window.partition_tokens(),
        "budget": window.budget,
    }
    history = ",".join(map(message_json, window.history))
    body = json.dumps(head, ensure_ascii=False)[:-1] + f',"history":[{history}]}}'
    return RawJSON(f'{{"kind":"checkpoint","step":{int(step)},"window":{body}}}')


class Renewal:
    """Checkpoints the window and starts a fresh history with a hand-off note."""

    level = "renewal"

    def __init__(self, settings: RenewalSettings | None = None) -> None:
        self.settings = settings or RenewalSettings()

    @classmethod
    def from_settings(cls, settings: RenewalSettings) -> Renewal:
        """The factory the kernel calls with ``[settings.renewal]``."""
        return cls(settings)

    async def compress(self, window: ContextWindow, run: Any) -> ContextEdit | None:
        """Propose the renewal edit (None when the history is already fresh)."""
        step = getattr(run, "step", 0)
        return self.edit(window, RestoreStore.for_run(run), step=step)

    def edit(self, window: ContextWindow, store: RestoreStore, *, step: int = 0) -> ContextEdit | None:
        """The renewal edit, given where to checkpoint."""
        history = window.history
        cut = protected_start(window)
        region = history[:cut]
        tail = history[cut:]
        dropped = [m for m in region if not is_kept_user(m)]
        if not dropped:
            return None
        batch = store.put({"checkpoint": checkpoint_item(window, step)}, level=self.level)
        restore_ref = ref(batch, "checkpoint")
        ledger = ledger_of(window)
        harvester = Harvester(window, ledger)
        for index, message in enumerate(region):
            harvester.message(index, message, restore_ref)
        pinned = pinned_ledger(window, ledger, self.settings.ledger_fraction)
        tail_texts = {m.text_content for m in tail if m.role == "user"}
        users: list[Message] = []
        seen: set[str] = set()
        for message in region:
            if (
                is_kept_user(message)
                and message.text_content not in tail_texts
                and message.text_content not in seen
            ):
                seen.add(message.text_content)
                users.append(message)
        pinned[HANDOFF_KEY] = self._handoff(
            window,
            region,
            dropped,
            restore_ref,
            step,
            pinned.get(LEDGER_KEY, window.pinned.get(LEDGER_KEY, "")),
        )
        return ContextEdit(
            level=self.level,
            reason=f"renewed the context: {len(dropped)} messages checkpointed to disk",
            history=[*users, *tail],
            pinned=pinned,
            lossy=True,
            restore_refs=[restore_ref],
        )

    def _handoff(
        self,
        window: ContextWindow,
        region: list[Message],
        dropped: list[Message],
        restore_ref: str,
        step: int,
        ledger_text: str,
    ) -> str:
        tokens = window.estimator.factor * sum(window.estimator.raw_message(m) for m in dropped)
        head = (
            f"The context was renewed at step {step}: {len(dropped)} earlier messages "
            f"({short_tokens(tokens)}) are checkpointed on disk. Read any part back with "
            f'context_restore(ref="{restore_ref}", grep="<word>"). The user\'s messages are kept '
            "verbatim in the conversation; the Fact ledger holds facts from earlier outputs."
        )
        summaries = [
            m.text_content
            for m in region
            if m.role == "assistant" and m.text_content.startswith(f"{STUB_PREFIX}summary")
        ]
        budget = self.settings.handoff_chars - len(head)
        if summaries:
            body = summaries[-1].split("\n", 1)[-1]
        else:
            body = structured_summary(window, region, ledger_text=ledger_text, max_chars=budget)
        if len(body) > budget:
            body = body[: budget - 1] + "…"
        return f"{head}\n\n{body}"
