"""Each event kind has a readable line, shown at the right verbosity."""

from __future__ import annotations

from typing import Any

import pytest
from loom.events import EVENT_KINDS, Event
from loom_events_console.format import EventFormatter, event_to_json, short_args

SAMPLES: dict[str, tuple[dict[str, Any], str, int]] = {
    # kind: (data, expected line, lowest verbosity showing it)
    "run.started": ({"goal": "tidy the repo", "profile": "default", "mode": "PLAN"},
                    "run started: tidy the repo (profile default, mode PLAN)", 0),
    "run.finished": ({"status": "stopped", "steps": 4, "reason": "budget", "output": ""},
                     "run stopped after 4 step(s): budget", 0),
    "run.stopping": ({"reason": "loop detected"}, "stopping: loop detected", 0),
    "run.resumed": ({"step": 3, "phase": "acting"}, "run resumed after step 3 (phase acting)", 0),
    "step.started": ({"step": 3}, "step 3", 1),
    "step.finished": ({"step": 3, "tool_calls": 2}, "  step 3 done, 2 tool call(s)", 2),
    "reason.started": ({"step": 1, "messages": 5, "tools": 2},
                       "  reasoning over 5 messages, 2 tools", 3),
    "reason.finished": ({"stop_reason": "tool_use", "text": "Let me look.",
                         "usage": {"input_tokens": 1200, "output_tokens": 30}},
                        "  model (tool_use): 1,200 in, 30 out | Let me look.", 2),
    "reason.delta": ({"step": 1, "kind": "text", "text": "Hel"}, "  ~ Hel", 3),
    "act.proposed": ({"tool": "read_file", "arguments": {"path": "a.txt", "limit": 10}},
                     '  -> read_file(path="a.txt", limit=10)', 1),
    "act.verdict": ({"decision": "deny", "plugin": "policy", "rule": "no-rm",
                     "reason": "destroys files"},
                    "     deny by policy rule no-rm: destroys files", 1),
    "act.finished": ({"tool": "read_file", "is_error": True, "content": "no such file"},
                     "  <- read_file error: no such file", 1),
    "approval.requested": ({"tool": "shell", "arguments": {"cmd": "ls"}, "reason": "runs code",
                            "risk": 0.5},
                           '  ?? approval needed: shell(cmd="ls") - runs code, risk 0.50', 0),
    "approval.resolved": ({"approved": False, "by": "cli", "reason": "not now"},
                          "  denied by cli: not now", 0),
    "observe.pressure": ({"tokens": 1500, "budget": 10000, "pressure": 0.15},
                         "  context pressure 0.15 (1,500/10,000 tokens)", 1),
    "context.edited": ({"level": "snip", "tokens_before": 9000, "tokens_after": 4000,
                        "reason": "old tool output"},
                       "  compressed by snip: 9,000 -> 4,000 tokens: old tool output", 1),
    "context.edit_rejected": ({"level": "micro", "violation": "orphaned tool result"},
                              "  !! compression micro rejected: orphaned tool result", 0),
    "delta.injected": ({"source": "plugin", "text": "Budget warning"},
                       "  delta [plugin]: Budget warning", 1),
    "artifact.attached": ({"name": "report.md", "media_type": "text/markdown", "size": 2048},
                          "  + artifact report.md (text/markdown, 2,048 bytes)", 1),
    "plugin.error": ({"plugin": "snip", "hook": "loom_event", "error": "boom"},
                     "  !! plugin 'snip' failed in loom_event: boom", 0),
    "provider.error": ({"provider": "openai", "error": "429", "retryable": True},
                       "  !! provider openai: 429 (will retry)", 0),
    "subagent.started": ({"child": "c1", "goal": "read the notes", "mode": "PLAN", "max_steps": 20},
                         "  >> sub-agent c1 started (PLAN mode, at most 20 steps): read the notes", 0),
    "subagent.finished": ({"child": "c1", "status": "stopped", "steps": 20,
                           "reason": "step limit reached (20 steps)", "error": ""},
                          "  << sub-agent c1 stopped after 20 step(s): step limit reached (20 steps)", 0),
}


def test_a_sub_agents_approval_names_the_sub_agent() -> None:
    event = Event(kind="approval.requested", data={"tool": "write", "arguments": {"path": "a"},
                                                   "reason": "mutates", "subagent": "c1"})
    assert EventFormatter().format(event) == '  ?? approval needed (sub-agent c1): write(path="a") - mutates'


def test_every_kernel_event_kind_has_a_sample_and_a_format() -> None:
    assert set(EVENT_KINDS) <= set(SAMPLES)
    assert set(SAMPLES) == EventFormatter().known_kinds


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_line_and_verbosity_of_each_kind(kind: str) -> None:
    data, expected, level = SAMPLES[kind]
    event = Event(kind=kind, run_id="r1", data=data)
    assert EventFormatter(level, show_output=False).format(event) == expected
    if level > 0:
        assert EventFormatter(level - 1).format(event) is None


def test_allow_verdicts_only_from_verbosity_two() -> None:
    event = Event(kind="act.verdict", data={"decision": "allow", "plugin": "policy"})
    assert EventFormatter(1).format(event) is None
    assert EventFormatter(2).format(event) == "     allow by policy"


def test_final_answer_and_approval_outcomes() -> None:
    done = Event(kind="run.finished", data={"status": "succeeded", "steps": 2, "output": "42"})
    assert EventFormatter(0).format(done) == "run succeeded after 2 step(s)\n42"
    assert EventFormatter(0, show_output=False).format(done) == "run succeeded after 2 step(s)"
    ok = Event(kind="approval.resolved", data={"approved": True, "by": "cli", "always": True})
    assert EventFormatter(0).format(ok) == "  approved by cli (always)"


def test_plugin_event_kinds_and_colour() -> None:
    custom = Event(kind="snip.note", data={"kept": 3})
    assert EventFormatter(1).format(custom) is None
    assert EventFormatter(2).format(custom) == "  snip.note kept=3"
    coloured = EventFormatter(1, color=True).format(Event(kind="step.started", data={"step": 1}))
    assert coloured == "\x1b[1mstep 1\x1b[0m"


def test_long_arguments_are_shortened() -> None:
    text = short_args({"content": "x" * 500, "path": "notes.txt"}, limit=60)
    assert len(text) <= 60
    assert text.startswith('content="xxx') and '...' in text
    assert text.endswith('path="notes.txt"')  # a long value does not hide the next one


def test_event_to_json_survives_unusual_values() -> None:
    line = event_to_json(Event(kind="x.y", run_id="r", data={"obj": object(), "n": 1}))
    assert '"n": 1' in line and '"obj": "<object object at' in line and "\n" not in line
