"""Proposed actions, veto verdicts and the deny-wins fold."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, Field

from loom.requests import ToolSpec

Decision = Literal["allow", "ask", "deny"]
_RANK: dict[str, int] = {"allow": 0, "ask": 1, "deny": 2}


class ProposedAction(BaseModel):
    """A tool call the model proposed, as the veto stage sees it."""

    call_id: str
    tool: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    spec: ToolSpec | None = None
    mode: str = "DEFAULT"


class Verdict(BaseModel):
    """One veto plugin's judgement of a proposed action.

    ``tier`` and ``plugin`` say who judged; ``rule`` which rule matched;
    ``risk`` is a 0..1 score. The kernel fills ``plugin`` when it is empty.
    """

    decision: Decision
    reason: str = ""
    tier: str = ""
    plugin: str = ""
    rule: str = ""
    risk: float = 0.0
    arguments: dict[str, Any] | None = None

    @classmethod
    def allow(cls, reason: str = "", **kw: Any) -> Verdict:
        """An allow verdict."""
        return cls(decision="allow", reason=reason, **kw)

    @classmethod
    def ask(cls, reason: str, **kw: Any) -> Verdict:
        """Ask a person before running the action."""
        return cls(decision="ask", reason=reason, **kw)

    @classmethod
    def deny(cls, reason: str, **kw: Any) -> Verdict:
        """Refuse the action; final."""
        return cls(decision="deny", reason=reason, **kw)


def fold_verdicts(verdicts: Iterable[Verdict]) -> Verdict:
    """Combine verdicts deny-wins: any deny wins, else any ask, else allow.

    The first verdict of the strongest decision is returned, so the reason
    shown is the one of the plugin that decided. No verdicts means allow.
    """
    best: Verdict | None = None
    for verdict in verdicts:
        if best is None or _RANK[verdict.decision] > _RANK[best.decision]:
            best = verdict
            if verdict.decision == "deny":
                break
    return best or Verdict.allow("no veto plugin objected", tier="kernel")
