"""Tier 3 of the safety harness: the permission decision.

Allow, ask and deny rules (``shell(git status*)``, ``write(src/**)``) from
``[settings.harness-permissions]`` (per project, and per profile under
``profiles.<name>``) and from the project rules file, combined with the
run's mode — DEFAULT, PLAN or AUTO — decide every proposed action. The
order is documented in :mod:`loom_harness_permissions.policy`.

``loom_veto`` is ``trylast``: tier 3 judges after tier 1 (the classifier,
``tryfirst``) and tier 2 (hooks), and reads what they left on
``run.state``: tier 1's classification (``harness.classification``, used
only when it was made for the same arguments) and tier 2's allows
(``harness.hook_allow``). Every decision is a verdict with ``tier="3"``
and the rule that made it, so the kernel records it as an ``act.verdict``
event. Approving with ``always=True`` saves an allow rule for that exact
call in the rules file (``loom_approval_resolved``); escalations are
never saved.

Sub-agents: a run started with a parent inherits the parent's policy
(:func:`inherit_policy`, called on its first decision): every parent rule,
the rules file, the stricter of the two modes, and each decision the
stricter of the child's and the parent's. A sub-agent manager may call
:func:`inherit_policy` itself before the child starts to add rules.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from loom.hookspecs import hookimpl
from loom.records import Record, SettingsRecord
from loom.verdicts import ProposedAction, Verdict

from loom_harness_permissions.policy import (
    MODE_ORDER,
    ActionView,
    Outcome,
    Policy,
    compile_rules,
    inherit,
    stricter_mode,
)
from loom_harness_permissions.rules import RuleSpec, parse_rule, rule_for_call
from loom_harness_permissions.settings import SETTINGS_NAME, PermissionsSettings, RuleTable, settings_of
from loom_harness_permissions.store import RulesFile

#: ``run.state`` keys shared with the other tiers and with sub-agent managers.
POLICY_KEY = "harness.policy"
CLASSIFICATION_KEY = "harness.classification"
HOOK_ALLOW_KEY = "harness.hook_allow"
TIER = "3"

__all__ = ["CLASSIFICATION_KEY", "HOOK_ALLOW_KEY", "MODE_ORDER", "POLICY_KEY", "SETTINGS_NAME",
           "ActionView", "Outcome", "PermissionsSettings", "Policy", "RuleSpec", "RuleTable",
           "RulesFile", "compile_rules", "inherit", "inherit_policy", "loom_approval_resolved",
           "loom_register_settings", "loom_veto", "parse_rule", "policy_for", "stricter_mode"]


def _workspace(run: Any) -> str:
    cached = run.state.get("harness-permissions.workspace")
    if cached is None:
        cached = os.path.realpath(getattr(run.runtime, "workspace", None) or os.getcwd())
        run.state["harness-permissions.workspace"] = cached
    return cached  # type: ignore[no-any-return]


def policy_for(run: Any) -> Policy:
    """The run's policy: set by a parent (see :func:`inherit_policy`) or built from settings.

    A sub-agent run (one with a ``parent``) that was given no policy inherits
    its parent's on first use, with the mode of its own (already narrowed)
    profile: it can never be wider than the parent.
    """
    policy = run.state.get(POLICY_KEY)
    if isinstance(policy, Policy):
        return policy
    parent = getattr(run, "parent", None)
    if parent is not None:
        return inherit_policy(parent, run, mode=run.profile.mode)
    settings = settings_of(run)
    rules = compile_rules(settings.allow, settings.ask, settings.deny)
    table = settings.profiles.get(run.profile.name)
    if table is not None:
        rules = compile_rules(table.allow, table.ask, table.deny,
                              source=f"profile {run.profile.name}") + rules
    rules_file = RulesFile(Path(_workspace(run)) / settings.rules_file) if settings.rules_file else None
    policy = Policy(rules=rules, ask_at=settings.ask_at, rules_file=rules_file)
    run.state[POLICY_KEY] = policy
    return policy


def inherit_policy(parent_run: Any, child_run: Any, *, mode: str | None = None,
                   allow: list[str] | tuple[str, ...] = (), ask: list[str] | tuple[str, ...] = (),
                   deny: list[str] | tuple[str, ...] = ()) -> Policy:
    """Give ``child_run`` a policy derived from ``parent_run``'s that can only narrow it.

    The child's mode is capped by the parent run's effective mode, the
    child keeps every parent rule (rules file included) and adds ``allow``,
    ``ask`` and ``deny``; each decision is the stricter of the child's and
    the parent's. Call it before the child run starts (a sub-agent manager
    implementing ``loom_spawn_subagent`` would).
    """
    parent = policy_for(parent_run)
    parent_mode = parent.effective_mode(parent_run.profile.mode)
    wanted = stricter_mode(mode, parent_mode) if mode is not None else parent_mode
    child = inherit(parent, mode=wanted, allow=allow, ask=ask, deny=deny)
    child.mode = wanted
    child_run.state[POLICY_KEY] = child
    return child


def _view(action: ProposedAction, run: Any) -> ActionView:
    classification = run.state.get(CLASSIFICATION_KEY, {}).get(action.call_id)
    if classification is not None and classification.get("arguments") != action.arguments:
        classification = None  # made for other arguments (a hook rewrote them): not trusted
    effects = action.spec.effects if action.spec is not None else ()
    hook_allow = run.state.get(HOOK_ALLOW_KEY, {}).get(action.call_id)
    return ActionView.build(action.tool, action.arguments, action.mode, effects, classification,
                            _workspace(run), hook_allow)


@hookimpl
def loom_register_settings() -> list[Record]:
    """Declare ``[settings.harness-permissions]`` (see :class:`PermissionsSettings`)."""
    return [SettingsRecord(name=SETTINGS_NAME, settings=PermissionsSettings,
                           description="tier 3 of the safety harness: rules and modes")]


@hookimpl(trylast=True)
def loom_veto(action: ProposedAction, run: Any) -> Verdict:
    """Decide from deny/ask/allow rules and the mode (tier 3, after tiers 1 and 2)."""
    view = _view(action, run)
    outcome = policy_for(run).decide(view)
    return Verdict(decision=outcome.decision, reason=outcome.reason, tier=TIER, plugin=SETTINGS_NAME,
                   rule=outcome.rule, risk=view.risk)


@hookimpl
async def loom_approval_resolved(approval: Any, run: Any) -> None:
    """Save an "always allow" rule for an approved call (never for an escalation)."""
    if approval.status != "approved" or not approval.always:
        return
    settings = settings_of(run)
    policy = policy_for(run)
    record = getattr(run, "tools", {}).get(approval.tool)
    action = ProposedAction(call_id=approval.call_id, tool=approval.tool,
                            arguments=approval.arguments, mode=run.profile.mode,
                            spec=record.spec if record is not None else None)
    view = _view(action, run)
    rule = rule_for_call(approval.tool, approval.arguments)
    why = ""
    if not settings.save_always or policy.rules_file is None:
        why = "saving rules is turned off (save_always / rules_file)"
    elif "escalate" in view.kinds:
        why = "changing the mode or permissions always needs a person; no rule is saved for it"
    elif rule is None:
        why = "a compound shell command (chains, pipes, substitutions) cannot become an allow rule"
    if why:
        await run.emit("harness-permissions.rule_not_saved", approval_id=approval.id,
                       tool=approval.tool, reason=why)
        return
    assert rule is not None and policy.rules_file is not None
    added = policy.rules_file.add_allow(rule)
    await run.emit("harness-permissions.rule_saved", approval_id=approval.id, rule=rule,
                   file=str(policy.rules_file.path), new=added)
