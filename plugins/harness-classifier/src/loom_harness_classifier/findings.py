"""Findings about a proposed action, and the classification built from them."""

from __future__ import annotations

from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, Literal

Kind = Literal["read", "mutate", "network", "execute", "destroy", "escalate"]

#: Kinds from least to most severe; the category is the most severe kind found.
SEVERITY: dict[str, int] = {"read": 0, "mutate": 1, "network": 2, "execute": 3, "destroy": 4,
                            "escalate": 5}
#: Category names as documented (read-only, mutating, ...).
CATEGORY_NAMES: dict[str, str] = {"read": "read-only", "mutate": "mutating", "network": "network",
                                  "execute": "code execution", "destroy": "destructive",
                                  "escalate": "escalation"}


@dataclass(slots=True)
class Finding:
    """One observation: a kind, a risk in 0..1, a rule id and a reason a person can read."""

    kind: Kind
    risk: float
    rule: str
    reason: str


@dataclass(slots=True)
class Findings:
    """What the classifier found about one action, in the order found."""

    items: list[Finding] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    compound: bool = False
    network: int = 0

    def add(self, kind: Kind, risk: float, rule: str, reason: str) -> None:
        """Record one finding."""
        self.items.append(Finding(kind, risk, rule, reason))
        if kind == "network":
            self.network += 1

    def extend(self, other: Findings) -> None:
        """Take over the findings of a nested command (a substitution, ``sh -c``...)."""
        self.items.extend(other.items)
        self.network += other.network
        self.commands.extend(other.commands)
        self.compound = self.compound or other.compound

    def kinds(self) -> set[str]:
        """Every kind found."""
        return {f.kind for f in self.items}

    def has(self, kind: str) -> bool:
        """Whether a finding of ``kind`` exists."""
        return any(f.kind == kind for f in self.items)

    def classification(self, deny_at: float) -> dict[str, Any]:
        """The plain-data classification shared with the other tiers through ``run.state``.

        The riskiest finding (ties: the more severe kind, then the first)
        gives the risk and the rule; the reasons are the findings' reasons
        from the riskiest down (ties keep their order), without repeats, at
        most eight, leaving out the declared effects when an argument told more.
        """
        items = self.items
        if not items:
            return {"category": "read", "category_name": CATEGORY_NAMES["read"], "kinds": ["read"],
                    "risk": 0.0, "reasons": [], "rule": "", "deny": 0.0 >= deny_at,
                    "commands": self.commands, "compound": self.compound}
        severity = SEVERITY
        ranks: dict[str, int] = {}
        keyed: list[tuple[tuple[float, int], Finding]] = []
        top = items[0]
        top_key = (top.risk, severity[top.kind])
        for item in items:
            key = (item.risk, severity[item.kind])
            ranks[item.kind] = key[1]
            keyed.append((key, item))
            if key > top_key:
                top, top_key = item, key
        kinds = sorted(ranks, key=ranks.__getitem__) if len(ranks) > 1 else [top.kind]
        risk = round(min(1.0, top_key[0]), 3)
        if len(keyed) == 1:
            reasons = [top.reason]
        else:
            if not top.rule.startswith("effect."):
                keyed = [pair for pair in keyed if not pair[1].rule.startswith("effect.")]
            keyed.sort(key=_first, reverse=True)  # stable: equal weights keep their order
            reasons = []
            for _, item in keyed:
                if item.reason not in reasons:
                    reasons.append(item.reason)
        category = kinds[-1]
        return {
            "category": category,
            "category_name": CATEGORY_NAMES[category],
            "kinds": kinds,
            "risk": risk,
            "reasons": reasons[:8],
            "rule": top.rule,
            "deny": risk >= deny_at,
            "commands": self.commands,
            "compound": self.compound,
        }


_first = itemgetter(0)
