"""Typed run events.

Every phase of the loop and every decision that changes what the agent sees
or may do is an :class:`Event`. ``kind`` is one of :data:`EVENT_KINDS` (plugins
may add their own kinds, spelled ``"<plugin>.<what>"``).
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel, Field

#: Event kinds the kernel emits, with what ``data`` holds.
EVENT_KINDS: dict[str, str] = {
    "run.started": "goal, profile, mode",
    "run.resumed": "step, phase (of the last committed checkpoint)",
    "run.finished": "status (succeeded|failed|cancelled|stopped), output, reason, error, steps",
    "step.started": "step",
    "step.finished": "step, tool_calls",
    "reason.started": "step, messages, tools",
    "reason.finished": "step, stop_reason, usage, provider, text",
    "reason.delta": "step, kind, text (streamed fragment); call_id, name for tool_call fragments",
    "act.proposed": "call_id, tool, arguments",
    "act.verdict": "call_id, tool, decision, reason, tier, plugin, rule, risk, arguments",
    "act.finished": "call_id, tool, is_error, content (truncated)",
    "approval.requested": "approval_id, call_id, tool, arguments, reason, risk",
    "approval.resolved": "approval_id, approved, by, reason, always",
    "observe.pressure": "step, tokens, budget, pressure, partitions",
    "context.edited": "level, tokens_before, tokens_after, reason, restore_refs",
    "context.edit_rejected": "level, violation",
    "delta.injected": "step, source, text",
    "artifact.attached": "name, media_type, size, digest",
    "plugin.error": "plugin, hook, error",
    "provider.error": "provider, error, retryable",
    "run.stopping": "reason",
}


class Event(BaseModel):
    """One thing that happened in a run, in order (``seq``)."""

    kind: str
    run_id: str = ""
    seq: int = 0
    time: float = Field(default_factory=time.time)
    data: dict[str, Any] = Field(default_factory=dict)

    def __str__(self) -> str:
        return f"[{self.seq}] {self.kind} {self.data}"
