"""Tier 2 runs the user's hooks and never reads a bad answer as an allow."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import loom_harness_hooks
import pytest
from loom.errors import ConfigError
from loom.hookspecs import hookimpl
from loom.profile import AgentProfile
from loom.records import Record
from loom.requests import ModelRequest
from loom.testing import LoomHarness, call
from loom.tools import tool
from loom_harness_hooks.protocol import read_output


@tool(effects={"execute"})
def shell(command: str, run: Any = None) -> str:
    """Record the command in ran.log instead of running it.

    Args:
        command: the command line.
    """
    with Path(run.runtime.workspace, "ran.log").open("a") as log:
        log.write(command + "\n")
    return f"output of {command}: token=SECRET123"


class Tools:
    """Registers the test tool."""

    @hookimpl
    def loom_register_tools(self) -> list[Record]:
        return [shell]


def final(request: ModelRequest) -> str:
    result = request.messages[-1].tool_results[-1]
    return ("ERROR " if result.is_error else "") + result.content


def script_hook(tmp_path: Path, body: str, name: str = "hook.py") -> list[str]:
    """A hook command: a Python script with ``payload`` read from standard input."""
    path = tmp_path / name
    path.write_text("import json, sys, os, time\npayload = json.load(sys.stdin)\n" + body)
    return [sys.executable, str(path)]


def make(tmp_path: Path, hooks: list[dict[str, Any]], script: list[Any] | None = None,
         **extra: Any) -> LoomHarness:
    settings = {"hooks": hooks, **extra}
    h = LoomHarness(script or [call("shell", command="ls"), final],
                    plugins=[loom_harness_hooks, Tools()],
                    config={"settings": {"harness-hooks": settings}},
                    profile=AgentProfile(approval_timeout=0.05))
    h.runtime.workspace = tmp_path
    return h


def ran(tmp_path: Path) -> list[str]:
    log = tmp_path / "ran.log"
    return log.read_text().splitlines() if log.exists() else []


@pytest.mark.parametrize(("returncode", "stdout", "stderr", "decision", "error"), [
    (0, "", "", "allow", False),
    (0, '{"decision": "allow"}', "", "allow", False),
    (0, '{"decision": "ask", "reason": "sure?"}', "", "ask", False),
    (0, '{"decision": "deny", "reason": "no"}', "", "deny", False),
    (0, "deny", "", "deny", False),
    (0, "allow", "", "deny", False),
    (0, "\x00garbage{", "", "deny", False),
    (0, '["allow"]', "", "deny", False),
    (0, '{"decision": "ALLOW"}', "", "deny", False),
    (0, '{"decision": "allow", "arguments": "rm -rf /"}', "", "deny", False),
    (0, '{"decision": "allow", "extra": 1}', "", "deny", False),
    (2, '{"decision": "allow"}', "policy says no", "deny", False),
    (1, '{"decision": "allow"}', "Traceback", "deny", True),
])
def test_answers_are_read_strictly(returncode: int, stdout: str, stderr: str, decision: str,
                                   error: bool) -> None:
    answer = read_output(returncode, stdout, stderr, "deny")
    assert (answer.decision, answer.error) == (decision, error), answer


def test_an_allowing_hook_receives_the_call_as_json(tmp_path: Path) -> None:
    hook = script_hook(tmp_path, "open('seen.json', 'w').write(json.dumps(payload))\n")
    h = make(tmp_path, [{"match": "sh*", "command": hook}])
    assert h.run_sync("x").ok and ran(tmp_path) == ["ls"]
    seen = json.loads((tmp_path / "seen.json").read_text())
    assert seen["event"] == "before_tool" and seen["tool"] == "shell"
    assert seen["arguments"] == {"command": "ls"} and seen["effects"] == ["execute"]
    assert seen["workspace"] == os.path.realpath(tmp_path) and seen["mode"] == "DEFAULT"
    verdict = next(e.data for e in h.last_run.recorded if e.kind == "act.verdict")
    assert (verdict["decision"], verdict["tier"]) == ("allow", "2")
    assert h.last_run.state["harness.hook_allow"] == {seen["call_id"]: " ".join(hook)[:60]}


def test_hooks_only_see_matching_tools(tmp_path: Path) -> None:
    hook = script_hook(tmp_path, "sys.exit(2)\n")
    h = make(tmp_path, [{"match": "write*", "command": hook}])
    assert h.run_sync("x").ok and ran(tmp_path) == ["ls"]


@pytest.mark.parametrize(("body", "reason"), [
    ("print('policy: no listing', file=sys.stderr); sys.exit(2)\n", "policy: no listing"),
    ("print(json.dumps({'decision': 'deny', 'reason': 'not on Fridays'}))\n", "not on Fridays"),
    ("print('deny')\n", "not valid (not JSON): 'deny'"),
    ("print('%%% definitely not json')\n", "not valid (not JSON)"),
    ("print('allow')\n", "not valid (not JSON): 'allow'"),
    ("raise SystemExit(1)\n", "failed with exit code 1"),
    ("1/0\n", "ZeroDivisionError"),
])
def test_denials_reach_the_model_and_the_tool_never_runs(tmp_path: Path, body: str, reason: str) -> None:
    h = make(tmp_path, [{"command": script_hook(tmp_path, body), "name": "guard"}])
    result = h.run_sync("x")
    assert result.output.startswith("ERROR Not run: denied by")
    assert "hook 'guard'" in result.output and reason in result.output
    assert ran(tmp_path) == []


def test_a_hanging_hook_is_killed_and_denies(tmp_path: Path) -> None:
    hook = script_hook(tmp_path, "open('pid', 'w').write(str(os.getpid()))\ntime.sleep(60)\n")
    h = make(tmp_path, [{"command": hook, "name": "slow", "timeout": 0.5}])
    started = time.monotonic()
    result = h.run_sync("x")
    assert time.monotonic() - started < 5
    assert "did not answer within 0.5s" in result.output and ran(tmp_path) == []
    pid = int((tmp_path / "pid").read_text())
    with pytest.raises(ProcessLookupError):
        for _ in range(50):
            os.kill(pid, 0)
            time.sleep(0.05)


def test_on_error_ask_pauses_for_a_person(tmp_path: Path) -> None:
    hook = script_hook(tmp_path, "sys.exit(3)\n")
    h = make(tmp_path, [{"command": hook}], on_error="ask")
    result = h.run_sync("x")
    assert h.last_run.approvals and "failed with exit code 3" in h.last_run.approvals[0].reason
    assert "a person denied this call" in result.output and ran(tmp_path) == []


def test_a_missing_program_is_an_error(tmp_path: Path) -> None:
    h = make(tmp_path, [{"command": [str(tmp_path / "no-such-hook")]}])
    result = h.run_sync("x")
    assert "the hook failed: FileNotFoundError" in result.output and ran(tmp_path) == []


def test_rewritten_arguments_are_what_runs_and_what_later_tiers_see(tmp_path: Path) -> None:
    hook = script_hook(tmp_path, "print(json.dumps({'decision': 'allow', 'arguments': "
                                 "{'command': payload['arguments']['command'] + ' --color=never'}}))\n")

    class Later:
        def __init__(self) -> None:
            self.seen: list[dict[str, Any]] = []

        @hookimpl(trylast=True)
        def loom_veto(self, action: Any) -> None:
            self.seen.append(dict(action.arguments))

    later = Later()
    h = make(tmp_path, [{"command": hook}])
    h.runtime.plugins.add_plugin(later, "later")
    assert h.run_sync("x").ok
    assert ran(tmp_path) == ["ls --color=never"]
    assert later.seen == [{"command": "ls --color=never"}]
    rewritten = next(e.data for e in h.last_run.recorded if e.kind == "harness-hooks.arguments_rewritten")
    assert rewritten["before"] == {"command": "ls"}


def test_after_tool_hooks_redact_or_withhold_output(tmp_path: Path) -> None:
    redact = script_hook(tmp_path, "print(json.dumps({'decision': 'allow', 'result': "
                                   "payload['result']['content'].replace('SECRET123', '[redacted]')}))\n",
                         "redact.py")
    h = make(tmp_path, [{"when": "after_tool", "command": redact}])
    assert h.run_sync("x").output == "output of ls: token=[redacted]"
    withhold = script_hook(tmp_path, "sys.exit(2)\n", "withhold.py")
    h = make(tmp_path, [{"when": "after_tool", "command": withhold, "name": "dlp"}])
    assert h.run_sync("x").output.startswith("ERROR Output withheld by hook 'dlp'")


def test_run_start_hooks_can_stop_a_run_and_run_stop_hooks_hear_the_end(tmp_path: Path) -> None:
    stop = script_hook(tmp_path, "print('not today', file=sys.stderr); sys.exit(2)\n", "start.py")
    h = make(tmp_path, [{"when": "run_start", "command": stop}])
    result = h.run_sync("x")
    assert result.status == "stopped" and "not today" in result.reason and ran(tmp_path) == []
    record = script_hook(tmp_path, "open('end.json', 'w').write(json.dumps(payload))\n", "end.py")
    h = make(tmp_path, [{"when": "run_stop", "command": record}])
    assert h.run_sync("the goal").ok
    end = json.loads((tmp_path / "end.json").read_text())
    assert (end["event"], end["status"], end["goal"]) == ("run_stop", "succeeded", "the goal")


# ------------------------------------------------------------------ callables


CALLABLES = """
import asyncio
from loom.verdicts import Verdict


def no_opinion(payload):
    return None


def deny_rm(payload):
    if "rm" in payload["arguments"]["command"]:
        return {"decision": "deny", "reason": "no rm here"}
    return {"decision": "allow"}


async def ask_async(payload):
    await asyncio.sleep(0)
    return Verdict.ask("an async hook wants a person")


def broken(payload):
    return "allow"


def crashing(payload):
    raise RuntimeError("hook bug")
"""


@pytest.mark.parametrize(("target", "command", "expected"), [
    ("no_opinion", "ls", "output of ls"),
    ("deny_rm", "rm -rf x", "hook 'deny_rm': no rm here"),
    ("deny_rm", "ls", "output of ls"),
    ("ask_async", "ls", "a person denied this call"),
    ("broken", "ls", "not valid (expected a JSON object, got str)"),
    ("crashing", "ls", "RuntimeError: hook bug"),
])
def test_callable_hooks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str, command: str,
                        expected: str) -> None:
    (tmp_path / "harness_hooks_callables.py").write_text(CALLABLES)
    monkeypatch.syspath_prepend(str(tmp_path))
    hooks = [{"callable": f"harness_hooks_callables:{target}", "name": target}]
    h = make(tmp_path, hooks, [call("shell", command=command), final])
    assert expected in h.run_sync("x").output


@pytest.mark.parametrize(("hook", "message"), [
    ({"command": ["x"], "callable": "a:b"}, "exactly one of command"),
    ({"when": "before_tool"}, "exactly one of command"),
    ({"command": []}, "non-empty list"),
    ({"callable": "not a target"}, "package.module:function"),
    ({"command": ["x"], "when": "sometimes"}, "before_tool"),
])
def test_bad_hook_settings_name_the_key(tmp_path: Path, hook: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match="settings.harness-hooks.hooks") as info:
        make(tmp_path, [hook])
    assert message in str(info.value)
