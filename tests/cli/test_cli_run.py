"""``loom run`` end to end: the demo model, progress, JSON events, approvals, exit codes."""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

Loom = Callable[..., subprocess.CompletedProcess[str]]

VETO_ASK = '''\
from loom.hookspecs import hookimpl
from loom.verdicts import Verdict


@hookimpl
def loom_veto(action, run):
    """Ask a person before any tool call."""
    return Verdict.ask(f"may I run {action.tool}?", risk=0.5)
'''


ONLY_OURS = '[plugins]\nenable = ["events-console", "loop-guard"]\n'


def with_veto_ask(project: Path) -> None:
    (project / "veto_ask.py").write_text(VETO_ASK)
    (project / "loom.toml").write_text(ONLY_OURS + 'paths = ["veto_ask.py"]\n')


def test_demo_run_prints_progress_and_the_answer(loom: Loom) -> None:
    done = loom("run", "--demo", "What is in this folder?")
    assert done.returncode == 0, done.stderr
    answer = done.stdout.strip()
    assert answer.startswith("[scripted demo model] This answer is scripted")
    assert "Goal: 'What is in this folder?'" in answer
    assert "found 2 entries: loom.toml, notes.txt." in answer
    err = done.stderr
    assert "loom: using the scripted demo model (no real model is called)" in err
    assert "run started: What is in this folder?" in err
    assert "step 1\n" in err and "step 2\n" in err
    assert '  -> demo_list_dir(path=".")' in err
    assert "  <- demo_list_dir ok: loom.toml notes.txt" in err
    assert re.search(r"\n  context pressure 0\.\d\d \([\d,]+/[\d,]+ tokens\)\n", err)
    assert "run succeeded after 2 step(s)" in err


def test_json_prints_one_event_per_line(loom: Loom) -> None:
    done = loom("run", "--demo", "--json", "list files")
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "run.started" and kinds[-1] == "run.finished"
    assert {"step.started", "act.proposed", "act.verdict", "act.finished",
            "observe.pressure"} <= set(kinds)
    assert [e["seq"] for e in events] == list(range(len(events)))
    assert events[-1]["data"]["status"] == "succeeded"
    assert "[scripted demo model]" in events[-1]["data"]["output"]


def test_profile_flags_reach_the_run(loom: Loom) -> None:
    done = loom("run", "--demo", "--json", "--mode", "plan", "--preset", "quick", "list")
    started = json.loads(done.stdout.splitlines()[0])
    assert started["data"]["profile"] == "quick" and started["data"]["mode"] == "PLAN"


def test_step_limit_stops_the_run_with_exit_1(loom: Loom) -> None:
    done = loom("run", "--demo", "--max-steps", "1", "list")
    assert done.returncode == 1
    assert done.stdout == ""
    assert "stopped: step limit reached (1 steps)" in done.stderr


def test_approval_answered_yes_runs_the_tool(project: Path, loom: Loom) -> None:
    with_veto_ask(project)
    done = loom("run", "--demo", "list files", input="y\n")
    assert done.returncode == 0, done.stderr
    assert '?? approval needed: demo_list_dir(path=".") - may I run demo_list_dir?' in done.stderr
    assert "Allow this call? [y] yes once, [a] always, [n] no: y\n" in done.stderr
    assert "  approved by terminal" in done.stderr
    assert "found 3 entries: loom.toml, notes.txt, veto_ask.py." in done.stdout


def test_approval_answered_no_tells_the_agent_why(project: Path, loom: Loom) -> None:
    with_veto_ask(project)
    done = loom("run", "--demo", "list files", input="n\nnot on a Friday\n")
    assert done.returncode == 0, done.stderr
    assert "  denied by terminal: not on a Friday" in done.stderr
    assert ("The read-only tool demo_list_dir returned an error: Not run: a person denied this "
            "call (not on a Friday).") in done.stdout
    assert "notes.txt" not in done.stdout


def test_approval_without_input_is_denied_unless_yes(project: Path, loom: Loom) -> None:
    with_veto_ask(project)
    done = loom("run", "--demo", "list files")  # stdin is /dev/null
    assert done.returncode == 0, done.stderr
    assert "no answer: standard input is closed or at its end" in done.stdout
    assert "run with --yes to approve automatically" in done.stdout
    done = loom("run", "--demo", "--yes", "list files")
    assert "approving demo_list_dir automatically (--yes)" in done.stderr
    assert "Allow this call?" not in done.stderr
    assert "notes.txt" in done.stdout


def test_unclear_answer_is_asked_again(project: Path, loom: Loom) -> None:
    with_veto_ask(project)
    done = loom("run", "--demo", "list files", input="maybe\na\n")
    assert "Please answer y (yes once), a (always) or n (no)." in done.stderr
    assert "  approved by terminal (always)" in done.stderr
    assert "notes.txt" in done.stdout


def test_no_provider_exits_4(loom: Loom) -> None:
    done = loom("run", "--provider", "no-such-provider", "hello")
    assert done.returncode == 4
    assert "no provider available" in done.stderr and "loom run --demo" in done.stderr
    assert loom("run", "--demo", "--provider", "x", "hello").returncode == 2


def test_blocked_console_plugin_falls_back_to_plain_progress(project: Path, loom: Loom) -> None:
    (project / "loom.toml").write_text(
        '[plugins]\nenable = ["loop-guard"]\ndisable = ["events-console"]\n')
    done = loom("run", "--demo", "list files")
    assert done.returncode == 0, done.stderr
    assert "[0] run.started {'goal': 'list files'" in done.stderr
    assert "notes.txt" in done.stdout


def test_console_sink_in_stages_replaces_the_builtin_display(project: Path, loom: Loom) -> None:
    (project / "loom.toml").write_text(ONLY_OURS + '\n[stages]\nevent_sinks = ["console", "jsonl"]\n')
    done = loom("run", "--demo", "list files")
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("run started: list files") == 1
    logs = list((project / ".loom" / "events").glob("*.jsonl"))
    assert len(logs) == 1
    assert json.loads(logs[0].read_text().splitlines()[-1])["kind"] == "run.finished"


def test_ctrl_c_while_waiting_for_approval_exits_130(project: Path,
                                                     cli_env: dict[str, str]) -> None:
    with_veto_ask(project)
    proc = subprocess.Popen([sys.executable, "-m", "loom_cli", "run", "--demo", "list files"],
                            cwd=project, env=cli_env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    seen = b""
    deadline = time.monotonic() + 60
    while b"Allow this call?" not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stderr], [], [], 1.0)
        if ready:
            seen += os.read(proc.stderr.fileno(), 4096)
    assert b"Allow this call?" in seen
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert b"run cancelled after 1 step(s)" in err
    assert out == b""


DELEGATING = '''\
from loom.hookspecs import hookimpl
from loom.records import ProviderRecord
from loom.testing import ScriptedModel, call
from loom.tools import tool
from loom.verdicts import Verdict


@tool
def read_notes() -> str:
    """Read the notes."""
    return open("notes.txt").read().strip()


def script(request):
    goal = request.messages[0].text_content
    results = [r for m in request.messages for r in m.tool_results]
    if goal == "read the notes":
        return call("read_notes") if not results else "the notes say: " + results[-1].content
    return call("delegate", goal="read the notes") if not results else results[-1].content


@hookimpl
def loom_register_providers():
    return [ProviderRecord(name="delegating", factory=lambda: ScriptedModel(script))]


@hookimpl
def loom_register_tools():
    return [read_notes]


@hookimpl
def loom_veto(action, run):
    """Ask a person before reading the notes."""
    if action.tool == "read_notes":
        return Verdict.ask("may I read the notes?", risk=0.2)
    return None
'''


def test_a_sub_agents_approval_is_asked_at_the_parents_terminal(project: Path, loom: Loom) -> None:
    (project / "delegating.py").write_text(DELEGATING)
    (project / "loom.toml").write_text(
        '[plugins]\nenable = ["events-console", "loop-guard", "subagents", "memory-sqlite"]\n'
        'paths = ["delegating.py"]\n[stages]\nprovider = "delegating"\nstore = "sqlite"\n')
    done = loom("run", "summarise the notes", input="y\n")
    assert done.returncode == 0, done.stderr
    child = re.search(r">> sub-agent (\w+) started \(DEFAULT mode", done.stderr)
    assert child is not None, done.stderr
    assert f"?? approval needed (sub-agent {child.group(1)}): read_notes() - may I read the notes?" \
        in done.stderr
    assert "  approved by terminal" in done.stderr
    assert f"<< sub-agent {child.group(1)} succeeded after 2 step(s)" in done.stderr
    assert "the notes say: hello" in done.stdout
    listing = loom("runs").stdout.splitlines()
    parent = next(line.split()[0] for line in listing if line.endswith("  summarise the notes"))
    assert any(line.startswith(child.group(1)) and f"(sub-agent of {parent}) read the notes" in line
               for line in listing), listing
    denied = loom("run", "summarise the notes", input="n\nprivate\n")
    assert "a person denied this call (private)" in denied.stdout

