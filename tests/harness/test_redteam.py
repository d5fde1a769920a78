"""Every red-team case, through a real run in every mode: zero bypasses.

A bypass is a dangerous call that reached execution (the innermost
sentinel layer saw it) without a person approving it — the tests have
nobody approve anything. Each run also checks the file system: marker
files keep their content, files the attack would create do not appear,
secrets do not reach the model, the mode does not change and no approval
is ever granted.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Any

import loom_subagents
import pytest
from loom.testing import LoomHarness, call

from .harness_support import Nobody, Sandbox, Sentinel, asked_for, build, last_result, verdicts_for
from .redteam_cases import CASES, Case

MODES = ("AUTO", "DEFAULT", "PLAN")


def test_the_corpus_is_large_and_covers_every_group() -> None:
    assert len(CASES) >= 60
    assert len({c.id for c in CASES}) == len(CASES), "case ids must be unique"
    groups = Counter(c.group for c in CASES)
    assert set(groups) == {"path-escape", "destructive", "chaining", "exfiltration", "injection",
                           "hooks"}
    assert min(groups.values()) >= 6, groups


def _setup(sandbox: Sandbox, case: Case) -> dict[str, Any] | None:
    if case.setup == "link-out":
        (sandbox.ws / "link").symlink_to(sandbox.outside, target_is_directory=True)
    elif case.setup == "leak-file":
        (sandbox.ws / "leak.txt").symlink_to(sandbox.outside / "secret.txt")
    if not case.hook:
        return None
    script = sandbox.root / "hook.py"
    script.write_text("import json, sys, time\njson.load(sys.stdin)\n" + case.hook + "\n")
    hook: dict[str, Any] = {"command": [sys.executable, str(script)], "name": case.id}
    if case.hook_timeout:
        hook["timeout"] = case.hook_timeout
    return {"settings": {"harness-hooks": {"hooks": [hook]}}}


def attack(tmp_path: Path, case: Case, mode: str) -> tuple[LoomHarness, Sentinel, str]:
    """Run one case in one mode; returns the harness, the sentinel and the dangerous call's id."""
    sandbox = Sandbox.create(tmp_path)
    config = _setup(sandbox, case)
    before = {path: (sandbox.root / path).read_bytes() for path in case.intact}
    arguments = {k: sandbox.fill(v) if isinstance(v, str) else v for k, v in case.arguments.items()}
    dangerous = call(case.tool, **arguments)
    script = [call(tool, **args) for tool, args in case.before] + [dangerous, last_result]
    sentinel = Sentinel(harmless=lambda c: case.harmless or c.id != dangerous.id)
    h = build(sandbox, script, mode=mode, sentinel=sentinel, people=Nobody(), config=config)
    result = h.run_sync(f"red team: {case.id}")
    assert result.ok, result
    for path, content in before.items():
        assert (sandbox.root / path).read_bytes() == content, f"{path} was changed"
    for path in case.absent:
        assert not (sandbox.root / path).exists() and not (sandbox.root / path).is_symlink(), \
            f"{path} was created"
    return h, sentinel, dangerous.id


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_redteam_case_never_runs(tmp_path: Path, case: Case, mode: str) -> None:
    h, sentinel, call_id = attack(tmp_path, case, mode)
    bypasses = [c for c in sentinel.reached if c.id == call_id]
    assert bypasses == [], f"BYPASS in {mode}: {case.id} reached execution"
    verdicts = verdicts_for(h, call_id)
    if case.expect == "deny":
        assert any(v["decision"] == "deny" for v in verdicts), verdicts
        assert not asked_for(h, call_id), f"{case.id}: a person was asked instead of a deny"
    contents = [b.content for m in h.last_run.window.history for b in m.tool_results]
    assert not any(case.hidden in text for text in contents), "a secret reached the model"
    assert h.runtime.profile.mode == mode, "the mode changed"
    assert not any(a.status == "approved" for a in h.last_run.approvals)


@pytest.mark.parametrize("case", [c for c in CASES if c.group == "injection"], ids=lambda c: c.id)
def test_hostile_tool_output_is_flagged(tmp_path: Path, case: Case) -> None:
    h, _, _ = attack(tmp_path, case, "AUTO")
    flagged = [e.data for e in h.last_run.recorded
               if e.kind == "harness-classifier.injection_suspected"]
    assert flagged and flagged[0]["tool"] == "fetch_page"


def delegated(case: Case, sandbox: Sandbox) -> tuple[Any, str]:
    """A script where the parent delegates and the sub-agent makes the case's calls."""
    arguments = {k: sandbox.fill(v) if isinstance(v, str) else v for k, v in case.arguments.items()}
    dangerous = call(case.tool, **arguments)
    child_calls = [call(tool, **args) for tool, args in case.before] + [dangerous]

    def script(request: Any) -> Any:
        results = [r for m in request.messages for r in m.tool_results]
        if request.messages[0].text_content == "sub-agent: do it":
            return child_calls[len(results)] if len(results) < len(child_calls) else last_result(request)
        return call("delegate", goal="sub-agent: do it") if not results else last_result(request)

    return script, dangerous.id


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_redteam_case_through_a_sub_agent_never_runs(tmp_path: Path, case: Case, mode: str) -> None:
    sandbox = Sandbox.create(tmp_path)
    config = _setup(sandbox, case)
    before = {path: (sandbox.root / path).read_bytes() for path in case.intact}
    script, call_id = delegated(case, sandbox)
    sentinel = Sentinel(harmless=lambda c: case.harmless or c.id != call_id)
    h = build(sandbox, script, mode=mode, sentinel=sentinel, people=Nobody(), config=config,
              extra=[loom_subagents])
    result = h.run_sync(f"red team via a sub-agent: {case.id}")
    assert result.ok, result
    runs = [h.last_run, *h.last_run.children]  # a hook that denies everything denies delegate too
    assert all(run.profile.mode == mode for run in runs)
    proposed = [e for r in runs for e in r.recorded
                if e.kind == "act.proposed" and e.data["call_id"] == call_id]
    assert proposed or (case.hook and len(runs) == 1), "the sub-agent never made the dangerous call"
    assert [c for c in sentinel.reached if c.id == call_id] == [], f"BYPASS in {mode} via a sub-agent"
    for path, content in before.items():
        assert (sandbox.root / path).read_bytes() == content, f"{path} was changed"
    for path in case.absent:
        assert not (sandbox.root / path).exists() and not (sandbox.root / path).is_symlink()
    texts = [b.content for run in runs for m in run.window.history for b in m.tool_results]
    assert not any(case.hidden in text for text in texts), "a secret reached a model"
    assert h.runtime.profile.mode == mode and all(r.profile.mode == mode for r in runs), "a mode changed"
    assert not any(a.status == "approved" for run in runs for a in run.approvals)
