"""Small helpers every level uses: its settings, the ledger in the window."""

from __future__ import annotations

from typing import Any, TypeVar

from loom.context import ContextWindow
from pydantic import BaseModel

from loom_compress_common.ledger import LEDGER_KEY, Ledger, ledger_chars

_S = TypeVar("_S", bound=BaseModel)


def settings_for(run: Any, name: str, model: type[_S]) -> _S:
    """The validated ``[settings.<name>]`` of a level, or its defaults."""
    found = run.settings(name) if run is not None and hasattr(run, "settings") else None
    return found if isinstance(found, model) else model()


def ledger_of(window: ContextWindow) -> Ledger:
    """The window's fact ledger (empty when there is none yet)."""
    return Ledger.parse(window.pinned.get(LEDGER_KEY))


def pinned_ledger(window: ContextWindow, ledger: Ledger, fraction: float) -> dict[str, str]:
    """``{"Fact ledger": text}`` when the rendered ledger differs from the pinned one."""
    text = ledger.render(ledger_chars(window, fraction))
    if not text or text == window.pinned.get(LEDGER_KEY):
        return {}
    return {LEDGER_KEY: text}
