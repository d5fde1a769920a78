"""The context window: five partitions, calibrated token accounting, pressure.

Partitions, in the order they are rendered for the model:

- ``system``  — the profile's instructions (stable; cache-friendly);
- ``skill``   — names and descriptions of available skills, opened skills;
- ``memory``  — recalled session, semantic and persistent memory;
- ``working`` — the goal, the plan, pinned state (e.g. a fact ledger);
- ``history`` — the conversation: user, assistant and tool messages.

Compression plugins only ever propose a new ``history`` and additions to
pinned state; :mod:`loom.invariants` checks every proposal before it is
applied.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from loom.messages import (
    ImageBlock,
    Message,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
    ToolResultBlock,
)
from loom.plans import Plan
from loom.requests import ToolSpec

PARTITIONS: tuple[str, ...] = ("system", "skill", "memory", "working", "history")
DEFAULT_SHARES: dict[str, float] = {
    "system": 0.10,
    "skill": 0.05,
    "memory": 0.10,
    "working": 0.10,
    "history": 0.65,
}

# Characters per token by content type, before calibration. Prose tokenises
# coarser than JSON, code and identifiers; pinned working state (fact ledgers,
# notes full of paths, numbers and identifiers) is counted like JSON.
_CHARS_PER_TOKEN = {"text": 4.0, "json": 3.0, "tool_output": 3.4, "thinking": 4.0, "pinned": 3.0}
_PINNED_EXTRA = 1 / _CHARS_PER_TOKEN["pinned"] - 1 / _CHARS_PER_TOKEN["text"]
_MESSAGE_OVERHEAD = 4
_IMAGE_TOKENS = 1000


class TokenEstimator:
    """Offline token counter, calibrated from the usage providers report.

    ``raw_*`` figures are per-content-type character estimates; ``factor`` is
    an exponential moving average of (reported input tokens / raw estimate),
    so estimates converge on the provider's own tokenizer as a run goes on.
    Per-message estimates are cached by identity (messages are immutable).
    """

    def __init__(self, *, factor: float = 1.0, smoothing: float = 0.3) -> None:
        self.factor = factor
        self.smoothing = smoothing
        self._cache: dict[int, tuple[Message, float]] = {}

    def raw_message(self, message: Message) -> float:
        """Uncalibrated estimate of one message, cached by identity."""
        hit = self._cache.get(id(message))
        if hit is not None and hit[0] is message:
            return hit[1]
        total = float(_MESSAGE_OVERHEAD)
        for block in message.content:
            if isinstance(block, TextBlock):
                total += len(block.text) / _CHARS_PER_TOKEN["text"]
            elif isinstance(block, ToolResultBlock):
                total += len(block.content) / _CHARS_PER_TOKEN["tool_output"] + 4
            elif isinstance(block, ToolCallBlock):
                args = block.raw_arguments or json.dumps(block.arguments)
                total += (len(args) + len(block.name)) / _CHARS_PER_TOKEN["json"] + 6
            elif isinstance(block, ThinkingBlock):
                total += len(block.text) / _CHARS_PER_TOKEN["thinking"]
            elif isinstance(block, ImageBlock):
                total += _IMAGE_TOKENS
        if len(self._cache) > 50_000:
            self._cache.clear()
        self._cache[id(message)] = (message, total)
        return total

    def raw_text(self, text: str) -> float:
        """Uncalibrated estimate of prose."""
        return len(text) / _CHARS_PER_TOKEN["text"]

    def raw_tools(self, tools: Iterable[ToolSpec]) -> float:
        """Uncalibrated estimate of tool declarations."""
        return sum(
            (len(t.name) + len(t.description) + len(json.dumps(t.parameters)))
            / _CHARS_PER_TOKEN["json"]
            for t in tools
        )

    def count(self, messages: Iterable[Message]) -> int:
        """Calibrated estimate of a list of messages."""
        return round(sum(self.raw_message(m) for m in messages) * self.factor)

    def calibrate(self, raw_estimate: float, reported_tokens: int) -> None:
        """Fold one observation (raw estimate vs the provider's count) into ``factor``."""
        if raw_estimate <= 0 or reported_tokens <= 0:
            return
        observed = reported_tokens / raw_estimate
        self.factor += self.smoothing * (observed - self.factor)


class ContextWindow:
    """What the model sees, in five partitions, with token accounting.

    ``budget`` = model window − output reserve (capped by ``cap``); pressure
    ρ = tokens in use / budget.
    """

    def __init__(
        self,
        *,
        system: str = "",
        goal: str = "",
        window_tokens: int = 200_000,
        output_reserve: int = 8_192,
        cap: int | None = None,
        shares: dict[str, float] | None = None,
        estimator: TokenEstimator | None = None,
    ) -> None:
        self.system = system
        self.goal = goal
        self.skills: list[str] = []
        self.memory: list[str] = []
        self.pinned: dict[str, str] = {}
        self.plan: Plan | None = None
        self.history: list[Message] = []
        self.tools: list[ToolSpec] = []
        self.window_tokens = window_tokens
        self.output_reserve = output_reserve
        self.cap = cap
        self.shares = dict(shares or DEFAULT_SHARES)
        self.estimator = estimator or TokenEstimator()
        self.protected_turns = 2
        self._history_sum: tuple[list[Message] | None, int, Message | None, float] = (None, 0, None, 0.0)
        self._tools_sum: tuple[list[ToolSpec] | None, int, float] = (None, 0, 0.0)

    @property
    def budget(self) -> int:
        """Tokens available for the prompt (the output reserve is capped at a
        quarter of the window, so small local models keep a usable budget)."""
        reserve = min(self.output_reserve, self.window_tokens // 4)
        budget = max(1, self.window_tokens - reserve)
        return min(budget, self.cap) if self.cap else budget

    def working_text(self) -> str:
        """The working partition rendered as text: goal, plan, pinned state."""
        parts = [f"# Goal\n{self.goal}"] if self.goal else []
        if self.plan is not None and self.plan.steps:
            parts.append(f"# Plan\n{self.plan.render()}")
        for key, value in self.pinned.items():
            parts.append(f"# {key}\n{value}")
        return "\n\n".join(parts)

    def system_prompt(self) -> str:
        """System, skill, memory and working partitions joined, stable parts first."""
        sections = [self.system]
        if self.skills:
            sections.append("# Skills\n" + "\n".join(self.skills))
        if self.memory:
            sections.append("# Memory\n" + "\n".join(self.memory))
        working = self.working_text()
        if working:
            sections.append(working)
        return "\n\n".join(s for s in sections if s)

    def raw_history(self) -> float:
        """Uncalibrated estimate of the history, updated incrementally on append."""
        history = self.history
        owner, length, last, total = self._history_sum
        raw = self.estimator.raw_message
        if owner is history and length <= len(history) and (
                length == 0 or history[length - 1] is last):
            total += sum(raw(m) for m in history[length:])
        else:
            total = sum(raw(m) for m in history)
        self._history_sum = (history, len(history), history[-1] if history else None, total)
        return total

    def raw_pinned_extra(self) -> float:
        """What pinned state adds to its prose estimate (it is denser than prose)."""
        return sum(len(k) + len(v) + 4 for k, v in self.pinned.items()) * _PINNED_EXTRA

    def raw_tools(self) -> float:
        """Uncalibrated estimate of the tool declarations (cached per tool list)."""
        owner, length, total = self._tools_sum
        if owner is not self.tools or length != len(self.tools):
            total = self.estimator.raw_tools(self.tools)
            self._tools_sum = (self.tools, len(self.tools), total)
        return total

    def partition_tokens(self) -> dict[str, int]:
        """Calibrated tokens per partition (tool declarations count as system)."""
        est = self.estimator
        f = est.factor
        return {
            "system": round((est.raw_text(self.system) + self.raw_tools()) * f),
            "skill": round(sum(map(len, self.skills)) / 4.0 * f),
            "memory": round(sum(map(len, self.memory)) / 4.0 * f),
            "working": round((est.raw_text(self.working_text()) + self.raw_pinned_extra()) * f),
            "history": round(self.raw_history() * f),
        }

    def tokens(self) -> int:
        """Calibrated tokens in use across all partitions."""
        return sum(self.partition_tokens().values())

    def raw_request_estimate(self) -> float:
        """Uncalibrated estimate of the whole prompt, for calibration."""
        est = self.estimator
        return (est.raw_text(self.system_prompt()) + self.raw_pinned_extra() + self.raw_tools()
                + self.raw_history())

    def pressure(self) -> float:
        """ρ = tokens in use / budget."""
        return self.tokens() / self.budget

    def snapshot(self) -> dict[str, Any]:
        """A JSON-able picture of the window, for checkpoints and dashboards."""
        return {
            "system": self.system,
            "goal": self.goal,
            "skills": list(self.skills),
            "memory": list(self.memory),
            "pinned": dict(self.pinned),
            "plan": self.plan.model_dump() if self.plan else None,
            "history": [m.model_dump(mode="json") for m in self.history],
            "tools": [t.model_dump(mode="json") for t in self.tools],
            "tokens": self.partition_tokens(),
            "budget": self.budget,
        }
