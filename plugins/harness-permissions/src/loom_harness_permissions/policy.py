"""The permission decision: rules, then the mode; and how a sub-agent's policy narrows its parent's.

For one action, in this order (the first that applies decides):

1. a **deny** rule matches → deny (in every mode);
2. the action is an **escalation** (it changes the mode or permissions) →
   ask, always: no rule and no mode lets it run without a person;
3. **PLAN** mode and the action is anything but read-only → deny;
4. an **ask** rule matches → ask;
5. an **allow** rule matches (or a tier-2 hook answered allow) → allow;
6. the mode decides: DEFAULT allows read-only actions below ``ask_at`` and
   asks about the rest; PLAN allows read-only actions below ``ask_at``;
   AUTO allows everything except destructive actions and actions whose
   risk is at least ``ask_at``, which are asked about.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from functools import lru_cache
from typing import Any, NamedTuple

from loom_harness_permissions.rules import Decision, Rule, RuleSpec, parse_rule
from loom_harness_permissions.store import RulesFile

#: Modes from the most restrictive to the most permissive.
MODE_ORDER = ("PLAN", "DEFAULT", "AUTO")
_RANK = {"allow": 0, "ask": 1, "deny": 2}
CATEGORY_NAMES = {"read": "read-only", "mutate": "mutating", "network": "network",
                  "execute": "code execution", "destroy": "destructive", "escalate": "escalation"}
_SEVERITY = {k: i for i, k in enumerate(CATEGORY_NAMES)}
EFFECT_RISK = {"read": 0.05, "mutate": 0.35, "network": 0.5, "execute": 0.5, "destroy": 0.7,
               "escalate": 0.8}


def stricter_mode(a: str, b: str) -> str:
    """The more restrictive of two modes (PLAN < DEFAULT < AUTO)."""
    return a if MODE_ORDER.index(a) <= MODE_ORDER.index(b) else b


class ActionView(NamedTuple):
    """What the decision needs about one action (a named tuple: built once per call, cheaply)."""

    tool: str
    arguments: dict[str, Any]
    mode: str
    kinds: frozenset[str]
    category: str
    risk: float
    reasons: tuple[str, ...]
    workspace: str
    hook_allow: str | None = None

    @classmethod
    def build(cls, tool: str, arguments: dict[str, Any], mode: str, effects: Iterable[Any],
              classification: dict[str, Any] | None, workspace: str,
              hook_allow: str | None = None) -> ActionView:
        """From tier 1's classification when it is there (and current), else from declared effects."""
        if classification is not None:
            return cls(tool, arguments, mode, frozenset(classification["kinds"]),
                       classification["category"], float(classification["risk"]),
                       tuple(classification["reasons"]), workspace, hook_allow)
        kinds, category, risk, reason = _from_effects(tool, frozenset(effects))
        return cls(tool, arguments, mode, kinds, category, risk, (reason,), workspace, hook_allow)


@lru_cache(maxsize=256)
def _from_effects(tool: str, effects: frozenset[Any]) -> tuple[frozenset[str], str, float, str]:
    """Kinds, category, risk and reason of a tool judged by its declared effects alone."""
    names = frozenset(str(getattr(e, "value", e)) for e in effects)
    kinds = frozenset(k for k in names if k in _SEVERITY) or frozenset({"read"})
    category = max(kinds, key=_SEVERITY.__getitem__)
    risk = max(EFFECT_RISK[k] for k in kinds)
    return kinds, category, risk, f"{tool} declares the effects {', '.join(sorted(kinds))}"


class Outcome(NamedTuple):
    """A decision with the rule that made it and the reason shown to people and the model."""

    decision: Decision
    rule: str
    reason: str

    def stricter(self, other: Outcome) -> Outcome:
        """The stricter of two outcomes (deny > ask > allow); ties keep ``self``."""
        return other if _RANK[other.decision] > _RANK[self.decision] else self


@dataclass
class Policy:
    """Rules and an optional mode cap; a child policy is never looser than its parent.

    ``mode`` caps the run's mode (None: the run's own mode). ``parent`` is
    the policy of the agent that spawned this one: every decision is the
    stricter of this policy's and the parent's.
    """

    rules: list[Rule] = field(default_factory=list)
    mode: str | None = None
    ask_at: float = 0.7
    rules_file: RulesFile | None = None
    parent: Policy | None = None
    #: The rules and rules-file rules the index was built from, and the rules per tool name seen.
    _index: tuple[tuple[Rule, ...], list[Rule] | None, dict[str, tuple[Rule, ...]]] = field(
        default_factory=lambda: ((), None, {}), init=False, repr=False, compare=False)

    def all_rules(self) -> list[Rule]:
        """Settings and profile rules, then the rules file's."""
        saved = self.rules_file.rules() if self.rules_file is not None else None
        return self.rules + saved if saved else self.rules

    def rules_for(self, tool: str) -> tuple[Rule, ...]:
        """The rules whose tool pattern matches ``tool``, in the order of :meth:`all_rules`.

        Indexed by tool name; the index is rebuilt whenever the rules (or the
        rules file's) change.
        """
        saved = self.rules_file.rules() if self.rules_file is not None else None
        own, indexed_saved, by_tool = self._index
        if saved is not indexed_saved or len(own) != len(self.rules) \
                or (own and any(a is not b for a, b in zip(own, self.rules, strict=True))):
            by_tool = {}
            self._index = (tuple(self.rules), saved, by_tool)  # one assignment: never half-built
        found = by_tool.get(tool)
        if found is None:
            every = self.rules + saved if saved else self.rules
            found = tuple(rule for rule in every if fnmatchcase(tool, rule.tool))
            if len(by_tool) >= 1024:
                by_tool.clear()
            by_tool[tool] = found
        return found

    def effective_mode(self, run_mode: str) -> str:
        """The run's mode, capped by this policy and every ancestor's."""
        mode = run_mode if run_mode in MODE_ORDER else "DEFAULT"
        policy: Policy | None = self
        while policy is not None:
            if policy.mode is not None:
                mode = stricter_mode(mode, policy.mode)
            policy = policy.parent
        return mode

    def decide(self, action: ActionView) -> Outcome:
        """The decision for ``action`` (see the module docstring for the order)."""
        outcome = self._own(action, self.effective_mode(action.mode))
        if self.parent is not None:
            outcome = outcome.stricter(self.parent.decide(action))
        return outcome

    def _own(self, action: ActionView, mode: str) -> Outcome:
        rules = self.rules_for(action.tool)
        summary = action.reasons[0] if action.reasons else action.category
        for rule in rules:
            if rule.decision == "deny" and rule.matches(action.tool, action.arguments, action.workspace):
                return Outcome("deny", rule.text, f"the deny rule {rule.text!r} ({rule.source}) matches")
        name = CATEGORY_NAMES.get(action.category, action.category)
        if "escalate" in action.kinds:
            return Outcome("ask", "mode.escalation",
                           f"changing the agent's mode or permissions always needs a person ({summary})")
        if mode == "PLAN" and action.kinds - {"read"}:
            return Outcome("deny", "mode.plan",
                           f"PLAN mode: only read-only actions run, and this is a {name} action "
                           f"({summary})")
        for rule in rules:
            if rule.decision == "ask" and rule.matches(action.tool, action.arguments, action.workspace):
                return Outcome("ask", rule.text, f"the ask rule {rule.text!r} ({rule.source}) matches")
        for rule in rules:
            if rule.decision == "allow" and rule.matches(action.tool, action.arguments, action.workspace):
                return Outcome("allow", rule.text, f"allowed by the rule {rule.text!r} ({rule.source})")
        if action.hook_allow:
            return Outcome("allow", f"hook:{action.hook_allow}",
                           f"allowed by the hook {action.hook_allow!r}")
        risky = action.risk >= self.ask_at
        if mode == "AUTO":
            if action.category == "destroy" or risky:
                return Outcome("ask", "mode.auto.risky",
                               f"AUTO mode still asks about {name} actions with risk "
                               f"{action.risk:.2f} ({summary})")
            return Outcome("allow", "mode.auto", f"AUTO mode: {name} action allowed ({summary})")
        if action.kinds == {"read"} and not risky:
            return Outcome("allow", f"mode.{mode.lower()}.read", f"{mode} mode: read-only action")
        if risky and action.kinds == {"read"}:
            return Outcome("ask", f"mode.{mode.lower()}.risky",
                           f"{mode} mode: a read with risk {action.risk:.2f} needs approval ({summary})")
        return Outcome("ask", "mode.default", f"DEFAULT mode: {name} actions need approval ({summary})")


def compile_rules(allow: Iterable[str | RuleSpec] = (), ask: Iterable[str | RuleSpec] = (),
                  deny: Iterable[str | RuleSpec] = (), source: str = "settings") -> list[Rule]:
    """Compile rule entries (deny first, for readability of listings)."""
    out = [parse_rule(e, "deny", source) for e in deny]
    out += [parse_rule(e, "ask", source) for e in ask]
    out += [parse_rule(e, "allow", source) for e in allow]
    return out


def inherit(parent: Policy, *, mode: str | None = None, allow: Iterable[str | RuleSpec] = (),
            ask: Iterable[str | RuleSpec] = (), deny: Iterable[str | RuleSpec] = ()) -> Policy:
    """The policy of a sub-agent spawned under ``parent``: it can only narrow.

    The child keeps every parent rule, adds its own, and its mode is capped
    by the parent's (asking for AUTO under a DEFAULT parent gives DEFAULT).
    Every decision is the stricter of the child's and the parent's, so an
    allow rule the child adds can never let through what the parent would
    deny or ask about.
    """
    if mode is not None and mode not in MODE_ORDER:
        raise ValueError(f"unknown mode {mode!r}; expected one of {', '.join(MODE_ORDER)}")
    capped = mode if parent.mode is None or mode is None else stricter_mode(mode, parent.mode)
    own = compile_rules(allow, ask, deny, source="sub-agent")
    return Policy(rules=list(parent.rules) + own, mode=capped if capped is not None else parent.mode,
                  ask_at=min(parent.ask_at, 1.0), rules_file=parent.rules_file, parent=parent)
