"""Tier 3 decides from rules and the mode; saved rules apply later; sub-agents only narrow."""

from __future__ import annotations

import asyncio
import tomllib
from pathlib import Path
from typing import Any

import loom_harness_permissions
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from loom.errors import ConfigError
from loom.hookspecs import hookimpl
from loom.profile import AgentProfile
from loom.records import Record
from loom.requests import ModelRequest
from loom.testing import LoomHarness, call
from loom.tools import tool
from loom_harness_permissions import ActionView, Policy, compile_rules, inherit, inherit_policy
from loom_harness_permissions.rules import RuleSyntaxError, parse_rule, rule_for_call

WS = "/srv/project"


def view(tool_name: str, arguments: dict[str, Any], kinds: set[str], mode: str = "DEFAULT",
         risk: float | None = None, hook_allow: str | None = None) -> ActionView:
    order = ["read", "mutate", "network", "execute", "destroy", "escalate"]
    category = max(kinds, key=order.index)
    default_risk = {"read": 0.05, "mutate": 0.35, "network": 0.5, "execute": 0.5, "destroy": 0.75,
                    "escalate": 0.8}[category]
    return ActionView(tool_name, arguments, mode, frozenset(kinds), category,
                      default_risk if risk is None else risk, ("because",), WS, hook_allow)


def decide(policy: Policy, *args: Any, **kwargs: Any) -> tuple[str, str]:
    outcome = policy.decide(view(*args, **kwargs))
    return outcome.decision, outcome.rule


# --------------------------------------------------------------------- rules


@pytest.mark.parametrize(("rule", "tool_name", "arguments", "decision", "matches"), [
    ("shell(git status*)", "shell", {"command": "git status --short"}, "allow", True),
    ("shell(git status*)", "shell", {"command": "git status; rm -rf x"}, "allow", False),
    ("shell(git status*)", "shell", {"command": "git status $(rm -rf x)"}, "allow", False),
    ("shell(git status*)", "shell", {"command": "git status > out"}, "allow", False),
    ("shell(npm test)", "shell", {"command": "npm   test"}, "allow", True),
    ("shell(rm *)", "shell", {"command": "ls && /bin/rm -rf x"}, "deny", True),
    ("shell(rm *)", "shell", {"command": "echo $(\"rm\" -rf x)"}, "deny", True),
    ("shell(rm *)", "shell", {"command": "FOO=1 nohup rm -rf x"}, "deny", True),
    ("shell(rm *)", "shell", {"command": "ls"}, "deny", False),
    ("write(src/**)", "write", {"path": "src/pkg/a.py"}, "allow", True),
    ("write(src/**)", "write", {"path": "./src/a.py"}, "allow", True),
    ("write(src/**)", "write", {"path": f"{WS}/src/a.py"}, "allow", True),
    ("write(src/**)", "write", {"path": "src/../../etc/passwd"}, "allow", False),
    ("write(src/*)", "write", {"path": "src/pkg/a.py"}, "allow", False),
    ("write(*.md)", "write", {"path": "README.md"}, "allow", True),
    ("read(/etc/**)", "read", {"path": "../../etc/hosts"}, "deny", True),
    ("read", "read", {"path": "anything"}, "allow", True),
    ("mcp_*", "mcp_github_issue", {"title": "x"}, "allow", True),
    ("fetch(https://docs.python.org/*)", "fetch", {"url": "https://docs.python.org/3/"}, "allow", True),
    ("fetch(https://docs.python.org/*)", "fetch", {"url": "https://evil.example/"}, "allow", False),
])
def test_rule_matching(rule: str, tool_name: str, arguments: dict[str, Any], decision: str,
                       matches: bool) -> None:
    compiled = parse_rule(rule, decision)  # type: ignore[arg-type]
    assert compiled.matches(tool_name, arguments, WS) is matches


def test_rule_tables_name_the_argument() -> None:
    rule = parse_rule({"tool": "fetch", "argument": "url", "pattern": "https://*.internal/*"}, "deny")
    assert rule.text == "fetch[url](https://*.internal/*)"
    assert rule.matches("fetch", {"url": "https://wiki.internal/page"}, WS)
    assert not rule.matches("fetch", {"url": "https://example.com/"}, WS)


@pytest.mark.parametrize("bad", ["shell(", "shell()", "", "  "])
def test_bad_rules_are_refused_with_the_expected_form(bad: str) -> None:
    with pytest.raises(RuleSyntaxError, match="tool"):
        parse_rule(bad, "allow")


def test_bad_rules_in_settings_name_the_key() -> None:
    with pytest.raises(ConfigError, match=r"settings.harness-permissions.allow"):
        LoomHarness([], plugins=[loom_harness_permissions],
                    config={"settings": {"harness-permissions": {"allow": ["shell()"]}}})


def test_the_rule_saved_for_a_call_matches_only_that_call() -> None:
    assert rule_for_call("shell", {"command": "npm  test"}) == "shell(npm test)"
    assert rule_for_call("write", {"path": "src/*.py"}) == "write(src/[*].py)"
    assert rule_for_call("shell", {"command": "make && make install"}) is None
    saved = parse_rule(rule_for_call("write", {"path": "src/*.py"}) or "", "allow")
    assert saved.matches("write", {"path": "src/*.py"}, WS)
    assert not saved.matches("write", {"path": "src/app.py"}, WS)


# --------------------------------------------------------------------- modes


def test_default_mode() -> None:
    policy = Policy(rules=compile_rules(allow=["write(src/**)"]))
    assert decide(policy, "read", {"path": "a"}, {"read"}) == ("allow", "mode.default.read")
    assert decide(policy, "write", {"path": "a"}, {"mutate"}) == ("ask", "mode.default")
    assert decide(policy, "write", {"path": "src/a"}, {"mutate"}) == ("allow", "write(src/**)")
    assert decide(policy, "read", {"path": ".env"}, {"read"}, risk=0.75) == ("ask", "mode.default.risky")


def test_plan_mode_runs_only_reads_whatever_the_rules() -> None:
    policy = Policy(rules=compile_rules(allow=["write", "shell"]))
    for kinds in ({"mutate"}, {"destroy"}, {"network"}, {"execute"}, {"read", "execute"}):
        assert decide(policy, "shell", {"command": "ls"}, kinds, mode="PLAN") == ("deny", "mode.plan")
    assert decide(policy, "read", {"path": "a"}, {"read"}, mode="PLAN") == ("allow", "mode.plan.read")
    assert decide(policy, "write", {"path": "a"}, {"mutate"}, mode="PLAN", hook_allow="h")[0] == "deny"


def test_auto_mode_asks_only_about_destructive_and_risky_actions() -> None:
    policy = Policy()
    assert decide(policy, "shell", {"command": "make"}, {"execute"}, mode="AUTO") == ("allow", "mode.auto")
    assert decide(policy, "shell", {"command": "rm -r b"}, {"destroy"}, mode="AUTO") == \
        ("ask", "mode.auto.risky")
    assert decide(policy, "shell", {"command": "x"}, {"execute"}, mode="AUTO", risk=0.8)[0] == "ask"
    allowed = Policy(rules=compile_rules(allow=["shell(rm -r b)"]))
    assert decide(allowed, "shell", {"command": "rm -r b"}, {"destroy"}, mode="AUTO")[0] == "allow"


def test_deny_rules_win_in_every_mode_and_over_every_allow() -> None:
    policy = Policy(rules=compile_rules(allow=["shell", "shell(rm *)"], ask=["shell(rm *)"],
                                        deny=["shell(rm *)"]))
    for mode in ("PLAN", "DEFAULT", "AUTO"):
        assert decide(policy, "shell", {"command": "rm x"}, {"read"}, mode=mode,
                      hook_allow="h") == ("deny", "shell(rm *)")


def test_rules_are_found_by_tool_pattern_in_order_and_rules_added_later_count() -> None:
    policy = Policy(rules=compile_rules(allow=["read", "sh*(git status*)"], ask=["s*(git *)"]))
    assert decide(policy, "shell", {"command": "git status"}, {"execute"}) == ("ask", "s*(git *)")
    assert decide(policy, "read", {"path": "a.py"}, {"read"}) == ("allow", "read")
    policy.rules.append(parse_rule("shell(git status*)", "deny"))
    assert decide(policy, "shell", {"command": "git status"}, {"execute"}) \
        == ("deny", "shell(git status*)")
    policy.rules[-1] = parse_rule("read(secret/**)", "deny")
    assert decide(policy, "read", {"path": "secret/key.txt"}, {"read"}) == ("deny", "read(secret/**)")
    assert decide(policy, "shell", {"command": "git status"}, {"execute"}) == ("ask", "s*(git *)")


def test_escalation_always_asks_even_when_allowed_in_auto() -> None:
    policy = Policy(rules=compile_rules(allow=["set_mode"]))
    for mode in ("PLAN", "DEFAULT", "AUTO"):
        assert decide(policy, "set_mode", {"mode": "AUTO"}, {"escalate"}, mode=mode,
                      hook_allow="h") == ("ask", "mode.escalation")


# ----------------------------------------------------------- sub-agent policies


def test_a_child_policy_cannot_widen_its_parent() -> None:
    parent = Policy(rules=compile_rules(allow=["write(src/**)"], deny=["shell(curl *)"]))
    child = inherit(parent, mode="AUTO", allow=["shell", "write"], deny=["write(src/secret*)"])
    assert decide(child, "shell", {"command": "make"}, {"execute"}) == ("ask", "mode.default")
    assert decide(child, "write", {"path": "src/a.py"}, {"mutate"})[0] == "allow"
    assert decide(child, "write", {"path": "src/secret.py"}, {"mutate"})[0] == "deny"
    assert decide(child, "shell", {"command": "curl x"}, {"network"})[0] == "deny"
    planner = inherit(child, mode="PLAN")
    assert decide(planner, "write", {"path": "src/a.py"}, {"mutate"}, mode="AUTO")[0] == "deny"
    assert inherit(planner, mode="AUTO").effective_mode("AUTO") == "PLAN"
    with pytest.raises(ValueError, match="unknown mode"):
        inherit(parent, mode="YOLO")


RULE_TEXTS = st.sampled_from(["shell", "shell(git *)", "shell(rm *)", "write", "write(src/**)",
                              "read", "read(.env)", "fetch(https://*)", "*"])
KINDS = st.sets(st.sampled_from(["read", "mutate", "network", "execute", "destroy", "escalate"]),
                min_size=1)
ACTIONS = st.tuples(st.sampled_from(["shell", "write", "read", "fetch"]),
                    st.sampled_from([{"command": "git status"}, {"command": "rm -rf x"},
                                     {"path": "src/a.py"}, {"path": ".env"},
                                     {"url": "https://x"}, {"command": "ls; rm x"}]),
                    KINDS, st.sampled_from(["PLAN", "DEFAULT", "AUTO"]),
                    st.floats(min_value=0, max_value=1))
RANK = {"allow": 0, "ask": 1, "deny": 2}


@settings(max_examples=300, deadline=None)
@given(parent_rules=st.tuples(st.lists(RULE_TEXTS), st.lists(RULE_TEXTS), st.lists(RULE_TEXTS)),
       child_rules=st.tuples(st.lists(RULE_TEXTS), st.lists(RULE_TEXTS), st.lists(RULE_TEXTS)),
       parent_mode=st.sampled_from([None, "PLAN", "DEFAULT", "AUTO"]),
       child_mode=st.sampled_from([None, "PLAN", "DEFAULT", "AUTO"]), action=ACTIONS)
def test_property_a_child_is_never_looser_than_its_parent(
        parent_rules: tuple[list[str], ...], child_rules: tuple[list[str], ...],
        parent_mode: str | None, child_mode: str | None, action: tuple[Any, ...]) -> None:
    parent = Policy(rules=compile_rules(*parent_rules), mode=parent_mode)
    child = inherit(parent, mode=child_mode, allow=child_rules[0], ask=child_rules[1],
                    deny=child_rules[2])
    tool_name, arguments, kinds, mode, risk = action
    subject = view(tool_name, arguments, kinds, mode=mode, risk=risk)
    assert RANK[child.decide(subject).decision] >= RANK[parent.decide(subject).decision]


# ------------------------------------------------------------------- in a run


@tool(effects={"mutate"})
def save(path: str, run: Any = None) -> str:
    """Save a file.

    Args:
        path: where.
    """
    Path(run.runtime.workspace, path).write_text("saved")
    return f"saved {path}"


class Tools:
    """Registers the test tool."""

    @hookimpl
    def loom_register_tools(self) -> list[Record]:
        return [save]


def final(request: ModelRequest) -> str:
    return request.messages[-1].tool_results[-1].content


def make(tmp_path: Path, script: list[Any], config: dict[str, Any] | None = None,
         profile: AgentProfile | None = None) -> LoomHarness:
    h = LoomHarness(script, plugins=[loom_harness_permissions, Tools()],
                    config={"settings": {"harness-permissions": config or {}}},
                    profile=profile or AgentProfile())
    h.runtime.workspace = tmp_path
    return h


async def approve_first(run: Any, always: bool) -> None:
    while not run.pending_approvals:
        await asyncio.sleep(0.005)
    assert run.status == "paused"
    run.approvals[0].approve(always=always)


async def test_always_allow_saves_a_rule_that_later_calls_use(tmp_path: Path) -> None:
    h = make(tmp_path, [call("save", path="a.txt"), final, call("save", path="a.txt"), final])
    run = h.runtime.create_session().create_task("save").start()
    await asyncio.gather(run.wait(), approve_first(run, always=True))
    saved = tomllib.loads((tmp_path / ".loom" / "permissions.toml").read_text())
    assert saved["allow"] == ["save(a.txt)"]
    assert "harness-permissions.rule_saved" in [e.kind for e in run.recorded]
    again = await h.run("save again")
    assert again.ok and not h.last_run.approvals
    verdict = next(e.data for e in h.last_run.recorded if e.kind == "act.verdict")
    assert verdict["rule"] == "save(a.txt)" and verdict["tier"] == "3"


async def test_rules_file_edits_are_picked_up_and_bad_files_are_named(tmp_path: Path) -> None:
    (tmp_path / ".loom").mkdir()
    rules = tmp_path / ".loom" / "permissions.toml"
    rules.write_text('deny = ["save(*.txt)"]\n')
    h = make(tmp_path, [call("save", path="a.txt"), final])
    result = await h.run("x")
    assert "deny rule 'save(*.txt)' (rules file permissions.toml)" in result.output
    rules.write_text('deny = "save"\n')
    h2 = make(tmp_path, [call("save", path="a.txt"), final])
    result = await h2.run("x")
    assert "permissions.toml" in result.output and "deny must be a list" in result.output


async def test_profile_rules_apply_only_to_that_profile(tmp_path: Path) -> None:
    config = {"profiles": {"builder": {"allow": ["save"]}}}
    builder = make(tmp_path, [call("save", path="b.txt"), final], config,
                   AgentProfile(name="builder"))
    assert (await builder.run("x")).ok and (tmp_path / "b.txt").exists()
    other = make(tmp_path, [call("save", path="c.txt"), final], config,
                 AgentProfile(name="other", approval_timeout=0.05))
    result = await other.run("x")
    assert "a person denied this call" in result.output and not (tmp_path / "c.txt").exists()


async def test_inherit_policy_caps_the_child_run_by_the_parent_run(tmp_path: Path) -> None:
    parent = make(tmp_path, [], {"allow": ["save(a.txt)"]}, AgentProfile(mode="DEFAULT"))
    parent_run = parent.runtime.create_session().create_task("parent").start()
    child_run = parent.runtime.create_session().create_task("child").start()
    child = inherit_policy(parent_run, child_run, mode="AUTO", deny=["save(b.txt)"])
    assert child.mode == "DEFAULT" and child_run.state["harness.policy"] is child
    assert child.decide(view("save", {"path": "a.txt"}, {"mutate"}, mode="AUTO")).decision == "allow"
    assert child.decide(view("save", {"path": "x.txt"}, {"mutate"}, mode="AUTO")).decision == "ask"
    assert child.decide(view("save", {"path": "b.txt"}, {"mutate"}, mode="AUTO")).decision == "deny"
    for run in (parent_run, child_run):
        run.cancel()
        await asyncio.gather(run.wait(), return_exceptions=True)
