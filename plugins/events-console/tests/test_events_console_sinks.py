"""The console and JSONL sinks see every event of a real run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import loom_events_console
import pytest
from loom.errors import ConfigError
from loom.hookspecs import hookimpl
from loom.records import Record
from loom.testing import LoomHarness, call
from loom.tools import tool


@tool
def lookup(key: str) -> str:
    """Look a key up.

    Args:
        key: the key.
    """
    return f"value of {key}"


class Tools:
    """Registers the lookup tool."""

    @hookimpl
    def loom_register_tools(self) -> list[Record]:
        return [lookup]


def harness(settings: dict[str, Any], sinks: list[str]) -> LoomHarness:
    return LoomHarness([call("lookup", key="colour"), "The colour is blue."],
                       plugins=[loom_events_console, Tools()],
                       config={"stages": {"event_sinks": sinks}, "settings": settings})


async def test_jsonl_sink_writes_every_event_in_order(tmp_path: Path) -> None:
    h = harness({"jsonl": {"path": str(tmp_path / "log" / "{run_id}.jsonl")}}, ["jsonl"])
    result = await h.run("what colour?")
    lines = (tmp_path / "log" / f"{result.run_id}.jsonl").read_text().splitlines()
    events = [json.loads(line) for line in lines]
    assert [e["kind"] for e in events] == h.event_kinds()
    assert [e["seq"] for e in events] == list(range(len(events)))
    assert events[-1]["data"]["output"] == "The colour is blue."
    proposed = next(e for e in events if e["kind"] == "act.proposed")
    assert proposed["data"]["arguments"] == {"key": "colour"}
    assert all(e["run_id"] == result.run_id for e in events)


async def test_jsonl_sink_appends_and_excludes_kinds(tmp_path: Path) -> None:
    path = tmp_path / "all.jsonl"
    settings = {"jsonl": {"path": str(path), "exclude_kinds": ["observe.pressure"]}}
    h = harness(settings, ["jsonl"])
    first = await h.run("one")
    h2 = harness(settings, ["jsonl"])
    second = await h2.run("two")
    run_ids = [json.loads(line)["run_id"] for line in path.read_text().splitlines()]
    assert set(run_ids) == {first.run_id, second.run_id}
    assert run_ids.index(second.run_id) > run_ids.index(first.run_id)
    kinds = [json.loads(line)["kind"] for line in path.read_text().splitlines()]
    assert "observe.pressure" not in kinds and kinds.count("run.finished") == 2


async def test_console_sink_prints_progress_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    await harness({"console": {"verbosity": 1, "color": "never"}}, ["console"]).run("colour?")
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert lines[0] == "run started: colour? (profile default, mode DEFAULT)"
    assert "step 1" in lines and "step 2" in lines
    assert '  -> lookup(key="colour")' in lines
    assert "  <- lookup ok: value of colour" in lines
    assert "run succeeded after 2 step(s)" in err
    assert err.rstrip().endswith("The colour is blue.")


async def test_console_verbosity_zero_is_quiet(capsys: pytest.CaptureFixture[str]) -> None:
    await harness({"console": {"verbosity": 0, "color": "never"}}, ["console"]).run("colour?")
    err = capsys.readouterr().err
    assert "lookup" not in err
    assert err.splitlines()[0].startswith("run started")
    assert "run succeeded" in err


def test_bad_settings_are_rejected_with_the_key() -> None:
    with pytest.raises(ConfigError, match=r"settings\.console\.verbosity"):
        harness({"console": {"verbosity": 7}}, ["console"])
    with pytest.raises(ConfigError, match=r"unknown placeholder \{run\}"):
        harness({"jsonl": {"path": "{run}.jsonl"}}, ["jsonl"])
    with pytest.raises(ConfigError, match=r"settings\.jsonl\.paht: unknown setting"):
        harness({"jsonl": {"paht": "x.jsonl"}}, ["jsonl"])
