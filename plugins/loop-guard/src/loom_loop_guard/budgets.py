"""Budgets: how much of each limit a run has used."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from loom_loop_guard.settings import LoopGuardSettings


@dataclass(frozen=True)
class BudgetUse:
    """One budget: its name, what is used, its limit, and how to say it."""

    key: str
    used: float
    limit: float
    unit: str

    @property
    def fraction(self) -> float:
        """Used share of the limit (may exceed 1)."""
        return self.used / self.limit

    @property
    def exhausted(self) -> bool:
        """Whether the limit is reached."""
        return self.used >= self.limit

    def describe(self) -> str:
        """``"1,200 of 1,000 tokens"`` and the like."""
        if self.unit == "USD":
            return f"${self.used:.4f} of ${self.limit:.4f}"
        if self.unit == "seconds":
            return f"{self.used:.1f} of {self.limit:g} seconds"
        return f"{int(self.used):,} of {int(self.limit):,} {self.unit}"


def total_tokens(usage: Any) -> int:
    """Every token a run was billed for: input, output, cached and cache writes."""
    return int(usage.input_tokens + usage.output_tokens + usage.cached_tokens
               + usage.cache_write_tokens)


def budget_uses(run: Any, settings: LoopGuardSettings) -> list[BudgetUse]:
    """The budgets that have a limit (settings override the profile)."""
    profile = run.profile
    uses: list[BudgetUse] = []
    tokens = settings.max_total_tokens or profile.max_total_tokens
    if tokens:
        uses.append(BudgetUse("max_total_tokens", total_tokens(run.usage), tokens, "tokens"))
    seconds = settings.max_wall_seconds or profile.max_wall_seconds
    if seconds and run.started_at:
        uses.append(BudgetUse("max_wall_seconds", time.monotonic() - run.started_at, seconds,
                              "seconds"))
    usd = settings.max_usd or profile.max_usd
    if usd:
        uses.append(BudgetUse("max_usd", run.usage.cost_usd, usd, "USD"))
    return uses


_NAMES = {"max_total_tokens": "token budget", "max_wall_seconds": "wall-clock budget",
          "max_usd": "cost budget", "max_steps": "step budget"}


def budget_name(key: str) -> str:
    """A readable name for a budget key."""
    return _NAMES.get(key, key)
