"""Shared parts: the restore store, facts, the ledger, the restore tool, the dashboard."""

from __future__ import annotations

from pathlib import Path

import loom_compress_common
import pytest
from loom.testing import LoomHarness, call
from loom_compress_common import facts
from loom_compress_common.dashboard import render_html, render_terminal, timeline
from loom_compress_common.ledger import HEADER, Ledger
from loom_compress_common.replay import make_run
from loom_compress_common.restore import context_restore, restore_text
from loom_compress_common.store import RestoreError, RestoreStore, messages_item
from loom_compress_common.testing import History


def test_store_round_trip_and_clear_errors(tmp_path: Path) -> None:
    store = RestoreStore(tmp_path / "ctx")
    batch = store.put(
        {
            "0": {
                "kind": "tool_result",
                "tool": "grep",
                "arguments": {"pattern": "x"},
                "content": "a.py:1: x",
            },
            "1": messages_item(History("hi").messages),
        },
        level="test",
    )
    assert len(batch) == 12 and (tmp_path / "ctx" / f"{batch}.json").is_file()
    assert store.get(f"{batch}/0")["content"] == "a.py:1: x"
    assert store.get(f"{batch}/1")["messages"][0]["content"][0]["text"] == "hi"
    assert restore_text(store, f"{batch}/1") == "[user]\nhi"
    with pytest.raises(RestoreError, match="malformed restore reference 'nope'"):
        store.get("nope")
    with pytest.raises(RestoreError, match="batch '000000000000' is not in"):
        store.get("000000000000/0")
    with pytest.raises(RestoreError, match="has no item '7'"):
        store.get(f"{batch}/7")
    assert store.put({"0": {"kind": "x"}}, level="t") == store.put({"0": {"kind": "x"}}, level="t")


def test_facts_from_config_code_command_output_and_errors() -> None:
    config = facts.facts_from_output('[db]\nport = 6842\nhost = "db"\nname = "x"\n', path="app.toml")
    assert [f.text for f in config] == ["port = 6842", 'host = "db"']
    code = facts.facts_from_output("import os\nMAX_ROWS = 500\nlimit = 3\n", path="src/a.py")
    assert [f.text for f in code] == ["MAX_ROWS = 500"]
    shell = facts.facts_from_output("step 1 ok\ncluster id: clu-77f\nCreated bucket logs-eu in 2s\n")
    assert [f.text for f in shell] == ["cluster id = clu-77f", "Created bucket logs-eu in 2s"]
    errors = facts.facts_from_output("....F\nE   KeyError: 'x'\nFAILED t.py::a - KeyError: 'x'\n")
    assert [f.text for f in errors if f.kind == "error"] == ["FAILED t.py::a - KeyError: 'x'"]
    assert facts.is_error_output("build\nexit code 2", False) and not facts.is_error_output(
        "exit code 0", False
    )
    said = facts.decisions_in("Looked around. I'll use httpx instead of requests here. Then tests.")
    assert [f.text for f in said] == ["I'll use httpx instead of requests here."]


def test_ledger_supersedes_round_trips_and_evicts_least_important_oldest_first() -> None:
    ledger = Ledger()
    ledger.add(facts.Fact("value", "value:port", "port = 1", "read_file a.toml", "aaaaaaaaaaaa/0"))
    ledger.add(facts.Fact("error", "e", "KeyError: 'x'", "run_shell pytest"))
    ledger.resolve("KeyError: 'x'", "fixed by edit_file a.py; then it succeeded")
    ledger.add(facts.Fact("value", "value:port", "port = 2", "read_file a.toml", "bbbbbbbbbbbb/0"))
    ledger.touch(["a.py", "b.py"])
    text = ledger.render(10_000)
    assert "- values from read_file a.toml, ref bbbbbbbbbbbb/0: port = 2 (was 1)" in text
    assert (
        "- error: KeyError: 'x' → fixed by edit_file a.py; then it succeeded — from run_shell pytest" in text
    )
    again = Ledger.parse(text)
    assert again.render(10_000) == text
    small = again.render(len(HEADER) + 120)
    assert "touched a.py, b.py" in small and "port = 2" not in small


async def test_context_restore_tool_reads_a_stub_back_in_a_run(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    store = RestoreStore.for_run(run)
    batch = store.put(
        {
            "0": {
                "kind": "tool_result",
                "tool": "read_file",
                "arguments": {"path": "a.py"},
                "content": "\n".join(f"line {i}" for i in range(100)),
            }
        },
        level="test",
    )
    text = await context_restore.handler({"ref": f"{batch}/0", "grep": "line 4", "limit": 300}, run)
    assert text.splitlines()[0] == "line 4" and "line 40" in text and "line 5" not in text.splitlines()
    paged = await context_restore.handler({"ref": f"{batch}/0", "limit": 200}, run)
    assert "more characters: call again with offset=200" in paged
    missing = await context_restore.handler({"ref": "abc"}, run)
    assert missing.startswith("context_restore: malformed restore reference")


def test_dashboard_from_a_real_runs_events(tmp_path: Path) -> None:
    harness = LoomHarness(
        [call("context_restore", ref="000000000000/0"), "done"], plugins=[loom_compress_common]
    )
    harness.runtime.workspace = tmp_path
    harness.run_sync("look something up")
    events = harness.last_run.recorded
    data = timeline(events)
    assert [p.step for p in data.steps] == [1]
    chart = render_terminal(events)
    assert chart.splitlines()[2].startswith("   1 ρ=0.00")
    page = render_html([e.model_dump() for e in events], title="run <1>")
    assert "<title>run &lt;1&gt;</title>" in page and "<rect" in page and "</svg>" in page


def test_dashboard_marks_compressions_and_rejections() -> None:
    events = [
        {"kind": "step.started", "data": {"step": 1}},
        {
            "kind": "observe.pressure",
            "data": {
                "step": 1,
                "tokens": 900,
                "budget": 1000,
                "pressure": 0.9,
                "partitions": {"system": 100, "history": 800},
            },
        },
        {
            "kind": "context.edited",
            "data": {
                "level": "micro",
                "tokens_before": 900,
                "tokens_after": 400,
                "reason": "masked 3 tool outputs",
            },
        },
        {"kind": "context.edit_rejected", "data": {"level": "bad", "violation": "user message dropped"}},
    ]
    chart = render_terminal(events, width=10)
    assert chart.splitlines()[2] == "   1 ρ=0.90 SHHHHHHHH | micro −500, bad rejected"
    assert "step   1 micro     900 → 400 tokens: masked 3 tool outputs" in chart
    assert "rejected: user message dropped" in chart
