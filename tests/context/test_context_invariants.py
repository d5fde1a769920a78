"""Property: no sequence of edits by the compression levels breaks an invariant.

Histories are generated (tool turns with one to three calls, re-reads,
duplicate and noisy outputs, errors and fixes, agent text, user messages
and Δ notes); random sequences of levels run on them, each edit is checked
with the kernel's :func:`~loom.invariants.check_edit` and applied, and the
result must still map to valid Anthropic, OpenAI and Gemini messages:
every tool result right after the call it answers.
"""

from __future__ import annotations

import asyncio
import tempfile
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from loom.invariants import check_edit, tool_pairing_violations
from loom.messages import Message
from loom.requests import ModelRequest
from loom_compress_auto.level import Auto
from loom_compress_auto.settings import AutoSettings
from loom_compress_collapse.level import Collapse
from loom_compress_collapse.settings import CollapseSettings
from loom_compress_common.replay import make_run
from loom_compress_common.testing import History
from loom_compress_micro.level import Micro
from loom_compress_micro.settings import MicroSettings
from loom_compress_reactive.level import Reactive
from loom_compress_renewal.level import Renewal
from loom_compress_snip.level import Snip
from loom_compress_snip.settings import SnipSettings
from loom_provider_anthropic.mapping import convert_messages as anthropic_messages
from loom_provider_gemini.mapping import convert_contents as gemini_contents
from loom_provider_openai.chat import convert_messages as openai_messages

OUTPUTS = [
    "\n".join(f"def f{i}(x):\n    return x * {i}" for i in range(80)),
    '[db]\nport = 5433\nhost = "db.internal"\n' + "\n".join(f"k{i} = {i}" for i in range(20)),
    "collected 9 items\n........F\nFAILED tests/t.py::t - KeyError: 'tenant'\n1 failed",
    "collected 9 items\n.........\n9 passed",
    "\n".join(f"Downloading p{i}.whl (1.{i} MB)\n  ━━━━━━━━━━━━━━━━ 100%" for i in range(15)),
    "ok",
    "deployment id: dep-{n}\n" + "log line\n" * 300,
]
TEXTS = ["", "", "Done with this part.", "I'll use sqlite instead of postgres.", "Looking at the next file."]
PATHS = ["a.py", "b.py", "config/app.toml"]

call_spec = st.tuples(
    st.sampled_from(["read_file", "run_shell", "edit_file", "grep"]),
    st.integers(0, len(OUTPUTS) - 1),
    st.booleans(),
    st.sampled_from(PATHS),
)
turn = st.one_of(
    st.tuples(st.just("tools"), st.lists(call_spec, min_size=1, max_size=3), st.sampled_from(TEXTS)),
    st.tuples(st.just("text"), st.sampled_from(TEXTS[2:])),
    st.tuples(st.just("user"), st.sampled_from(["keep py3.9", "use tabs", "keep py3.9", "no new deps"])),
    st.tuples(st.just("delta"), st.just("[sensor] 2 files changed")),
)
LEVELS = ["snip", "micro", "collapse", "auto", "reactive", "renewal"]


def build(turns: list[Any]) -> list[Message]:
    history = History("the goal")
    for n, item in enumerate(turns):
        if item[0] == "tools":
            calls = [
                (
                    name,
                    OUTPUTS[o].replace("{n}", str(n)),
                    err,
                    {"path": path} if name != "run_shell" else {"command": f"cmd {path}"},
                )
                for name, o, err, path in item[1]
            ]
            history.calls(calls, text=item[2])
        elif item[0] == "text":
            history.text(item[1])
        else:
            history.user(item[1], delta=item[0] == "delta")
    return history.messages


def level(name: str, keep_turns: int) -> Any:
    return {
        "snip": Snip(SnipSettings(max_output_tokens=200, min_duplicate_chars=2)),
        "micro": Micro(MicroSettings(keep_turns=keep_turns, batch_fraction=0.0, min_output_chars=0)),
        "collapse": Collapse(CollapseSettings(min_span_messages=1)),
        "auto": Auto(AutoSettings(use_model=False)),
        "reactive": Reactive(),
        "renewal": Renewal(),
    }[name]


def provider_problems(history: list[Message]) -> list[str]:
    """Pairing as each provider's wire format sees it."""
    problems = []
    wire, _ = anthropic_messages(history)
    for i, message in enumerate(wire):
        results = [b["tool_use_id"] for b in message["content"] if b.get("type") == "tool_result"]
        if results:
            uses = {b["id"] for b in wire[i - 1]["content"] if b.get("type") == "tool_use"} if i else set()
            problems += [f"anthropic: {r} has no tool_use before it" for r in results if r not in uses]
    chat = openai_messages(ModelRequest(messages=history))
    open_calls: set[str] = set()
    for item in chat:
        if item["role"] == "tool":
            if item["tool_call_id"] not in open_calls:
                problems.append(f"openai: tool message {item['tool_call_id']} answers no open call")
            open_calls.discard(item["tool_call_id"])
        else:
            if open_calls:
                problems.append(f"openai: calls {sorted(open_calls)} unanswered before a {item['role']}")
            open_calls = {c["id"] for c in item.get("tool_calls", [])}
    contents, _ = gemini_contents(history)
    for i, content in enumerate(contents):
        answers = [p for p in content.parts or [] if p.function_response is not None]
        if answers:
            before = contents[i - 1] if i else None
            asked = [p for p in (before.parts or []) if p.function_call is not None] if before else []
            if not before or before.role != "model" or len(asked) != len(answers):
                problems.append(f"gemini: {len(answers)} responses after {len(asked)} calls")
    return problems


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    turns=st.lists(turn, min_size=1, max_size=24),
    sequence=st.lists(st.sampled_from(LEVELS), min_size=1, max_size=6),
    protected=st.integers(0, 3),
    keep_turns=st.integers(0, 3),
    window=st.sampled_from([1_500, 6_000, 60_000]),
)
def test_no_sequence_of_level_edits_breaks_an_invariant(
    turns: list[Any], sequence: list[str], protected: int, keep_turns: int, window: int
) -> None:
    with tempfile.TemporaryDirectory() as workspace:
        run = make_run(workspace, window_tokens=window, protected_turns=protected)
        run.window.history = build(turns)
        assert provider_problems(run.window.history) == []

        async def go() -> None:
            for name in sequence:
                edit = await level(name, keep_turns).compress(run.window, run)
                if edit is None:
                    continue
                assert check_edit(run.window, edit) == [], (name, check_edit(run.window, edit))
                assert await run.apply_edit(edit) or edit.history == run.window.history
                assert tool_pairing_violations(run.window.history) == []
                assert provider_problems(run.window.history) == [], name

        asyncio.run(go())
        assert not [e for e in run.recorded if e.kind == "context.edit_rejected"]
