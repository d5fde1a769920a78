"""The auto level's compressor (see the package docstring)."""

from __future__ import annotations

from typing import Any

from loom.context import ContextWindow
from loom.invariants import ContextEdit
from loom.messages import Message, ToolResultBlock
from loom.requests import ModelRequest
from loom_compress_common.digest import SECTIONS, structured_summary, transcript
from loom_compress_common.history import calls_by_id, is_kept_user, path_argument, protected_start
from loom_compress_common.ledger import Harvester
from loom_compress_common.level import ledger_of, pinned_ledger
from loom_compress_common.store import RestoreError, RestoreStore, messages_item, ref
from loom_compress_common.stubs import STUB_PREFIX, is_stub, refs_in, short_tokens

from loom_compress_auto.settings import AutoSettings

SUMMARY_SYSTEM = (
    "You summarise an agent's work so far so that it can continue without the full history. "
    "Write these sections as markdown headings, in order: "
    + ", ".join(f"## {s}" for s in SECTIONS)
    + ". Quote every user message verbatim under 'User messages'. Keep every file path, value, "
    "identifier, error message and fix exactly as written. Be brief; no preamble."
)


class Auto:
    """Replaces the unprotected history with a structured summary."""

    level = "auto"

    def __init__(self, settings: AutoSettings | None = None) -> None:
        self.settings = settings or AutoSettings()

    @classmethod
    def from_settings(cls, settings: AutoSettings) -> Auto:
        """The factory the kernel calls with ``[settings.auto]``."""
        return cls(settings)

    async def compress(self, window: ContextWindow, run: Any) -> ContextEdit | None:
        """Propose the auto edit for ``window`` (None when there is nothing to summarise)."""
        region = window.history[: protected_start(window)]
        if not _worth_it(region):
            return None
        summary, how = "", "without a model"
        if self.settings.use_model:
            summary, how = await self._model_summary(window, region, run)
        return self.edit(window, RestoreStore.for_run(run), summary=summary, how=how)

    async def _model_summary(self, window: ContextWindow, region: list[Message], run: Any) -> tuple[str, str]:
        provider = getattr(getattr(run, "runtime", None), "provider", None)
        if provider is None:
            return "", "without a model (no provider)"
        limit = int(window.budget * self.settings.transcript_fraction * 3)
        request = ModelRequest(
            model=getattr(run.profile, "model", None) or "",
            system=SUMMARY_SYSTEM,
            messages=[Message.text("user", "Summarise this work:\n\n" + transcript(region, limit))],
            max_tokens=self.settings.summary_max_tokens,
            metadata={"purpose": "context.summary"},
        )
        try:
            response = await provider.complete(request)
        except Exception as exc:
            return "", f"without a model ({type(exc).__name__})"
        text = response.message.text_content.strip()
        if not text:
            return "", "without a model (empty summary)"
        return text, "by the model"

    def edit(
        self, window: ContextWindow, store: RestoreStore, *, summary: str = "", how: str = "without a model"
    ) -> ContextEdit | None:
        """The edit, given a model's summary (empty: build one without a model)."""
        history = window.history
        cut = protected_start(window)
        region = history[:cut]
        if not _worth_it(region):
            return None
        batch = store.put({"0": messages_item(region)}, level=self.level)
        restore_ref = ref(batch, 0)
        ledger = ledger_of(window)
        harvester = Harvester(window, ledger)
        for index, message in enumerate(region):
            harvester.message(index, message, restore_ref)
        pinned = pinned_ledger(window, ledger, self.settings.ledger_fraction)
        if not summary:
            ledger_text = pinned.get("Fact ledger", window.pinned.get("Fact ledger", ""))
            summary = structured_summary(
                window, region, ledger_text=ledger_text, max_chars=self.settings.summary_max_tokens * 4
            )
        tokens = window.estimator.factor * sum(window.estimator.raw_message(m) for m in region)
        head = (
            f"{STUB_PREFIX}summary of {len(region)} earlier messages ({short_tokens(tokens)}), written "
            f'{how}; restore: context_restore(ref="{restore_ref}")]'
        )
        parts = [head, summary]
        per_file = min(
            self.settings.recent_file_chars, int(window.budget * 0.12 / max(1, self.settings.recent_files))
        )
        files = self._recent_files(history[:cut], store, per_file)
        if files:
            parts.append("## Recently used files\n" + files)
        users = [m for m in region if is_kept_user(m)]
        new = [*users, Message.text("assistant", "\n\n".join(parts), compressed=self.level), *history[cut:]]
        return ContextEdit(
            level=self.level,
            reason=f"summarised {len(region)} messages {how}",
            history=new,
            pinned=pinned,
            lossy=True,
            restore_refs=[restore_ref],
        )

    def _recent_files(self, history: list[Message], store: RestoreStore, per_file: int) -> str:
        settings = self.settings
        if not settings.recent_files or per_file <= 0:
            return ""
        calls = calls_by_id(history)
        read_tools = set(settings.read_tools)
        seen: list[str] = []
        out: list[str] = []
        for message in reversed(history):
            if message.role != "tool":
                continue
            for result in message.tool_results:
                call = calls.get(result.call_id)
                path = path_argument(call.arguments) if call and call.name in read_tools else None
                if not path or path in seen or result.is_error:
                    continue
                content = _original(result, store)
                if not content:
                    continue
                seen.append(path)
                body = content[:per_file]
                more = len(content) - len(body)
                out.append(f"### {path}\n{body}" + (f"\n[… {more} more characters]" if more > 0 else ""))
                if len(seen) >= settings.recent_files:
                    return "\n\n".join(out)
        return "\n\n".join(out)


def _original(result: ToolResultBlock, store: RestoreStore) -> str:
    """A tool output's content, restored from disk when it was replaced by a stub."""
    content = result.content
    for _ in range(3):
        if not is_stub(content):
            return content
        refs = refs_in(content)
        if not refs:
            return ""
        try:
            item = store.get(refs[0])
        except RestoreError:
            return ""
        content = str(item.get("content", ""))
    return ""


def _worth_it(region: list[Message]) -> bool:
    """Whether a region holds anything but user messages and a single earlier summary."""
    rest = [m for m in region if not is_kept_user(m)]
    return not (
        len(rest) <= 1 and all(m.role == "assistant" and m.text_content.startswith(STUB_PREFIX) for m in rest)
    )
