"""Memory in real Loom runs: tools, recall into the first request, sessions across runtimes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import loom_memory_recall
import loom_memory_sqlite
import pytest
from loom.errors import ConfigError
from loom.hookspecs import hookimpl
from loom.invariants import ContextEdit
from loom.testing import LoomHarness, call
from loom_memory_recall import MemoryAPI

FACT = "The staging database listens on port 6842"


def config(path: Path, **settings: Any) -> dict[str, Any]:
    return {"settings": {"memory": {"path": str(path), **settings}}}


def harness(script: Any, path: Path, plugins: tuple[Any, ...] = (), **settings: Any) -> LoomHarness:
    return LoomHarness(script, plugins=[loom_memory_recall, *plugins], config=config(path, **settings))


def tool_results(h: LoomHarness) -> list[str]:
    return [b.content for m in h.last_run.window.history for b in m.tool_results]


async def test_remembered_in_one_session_recalled_by_a_new_runtime(tmp_path: Path) -> None:
    db = tmp_path / "memory.db"
    first = harness([call("remember", text=FACT, tags=["db"]), "noted"], db)
    assert (await first.run("find out where staging's database listens")).ok
    assert tool_results(first) == ["Remembered as memory 1."]
    session_id, run_id = first.last_run.session.id, first.last_run.id

    second = harness([call("recall", query="staging database port"), "6842"], db)  # a new runtime
    assert (await second.run("What port does the staging database use?")).ok
    (found,) = tool_results(second)
    assert found.startswith("[memory 1] score ") and f": {FACT}\n  (fact, kept by the agent" in found
    assert "source: goal: find out where staging's database listens" in found
    system = second.model.requests[0].system
    memory_part = system.split("# Memory\n", 1)[1].split("\n\n", 1)[0]
    assert memory_part.startswith(f"[memory 1] {FACT} (fact, kept by the agent in session "
                                  f"{session_id}, run {run_id} on ")
    assert memory_part.endswith("; tags: db)")
    assert second.last_run.window.memory == [memory_part]


async def test_a_fact_remembered_in_another_process_reaches_the_first_request(tmp_path: Path) -> None:
    db = tmp_path / "memory.db"
    script = textwrap.dedent(f"""
        import loom_memory_recall
        from loom.testing import LoomHarness, call
        h = LoomHarness([call("remember", text={FACT!r}), "ok"], plugins=[loom_memory_recall],
                        config={{"settings": {{"memory": {{"path": {str(db)!r}}}}}}})
        assert h.run_sync("keep the port").ok
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    h = harness(["6842"], db)
    await h.run("which port does the staging database listen on?")
    assert f"[memory 1] {FACT} (fact, kept by the agent" in h.model.requests[0].system


async def test_only_relevant_memories_are_recalled(tmp_path: Path) -> None:
    db = tmp_path / "memory.db"
    with MemoryAPI(db) as memory:
        memory.add("Alice prefers green tea in the morning")
        memory.add("Deploys are frozen on Fridays")
        memory.add(FACT, author="user", source="told in the team chat")
    h = harness(["ok"], db, k=2)
    await h.run("Which port is the staging database on?")
    assert len(h.last_run.window.memory) == 1
    assert h.last_run.window.memory[0].startswith(f"[memory 3] {FACT} (fact, kept by a user on ")
    off = harness(["ok"], db, k=0)
    await off.run("Which port is the staging database on?")
    assert off.last_run.window.memory == [] and "# Memory" not in off.model.requests[0].system


async def test_recall_and_forget_tools_in_a_later_run(tmp_path: Path) -> None:
    db = tmp_path / "memory.db"
    with MemoryAPI(db) as memory:
        memory.add_many(["Alice prefers green tea in the morning", "Bob owns the billing service"])
        fact = memory.add(FACT, tags=["db"], source="ops handbook")
    h = harness([call("recall", query="staging database port", k=2),
                 call("forget", memory_id=fact.id), call("forget", memory_id=fact.id), "done"], db)
    assert (await h.run("look up the staging port, then drop it")).ok
    found, forgot, again = tool_results(h)
    assert found.startswith(f"[memory {fact.id}] score ")
    assert f": {FACT}\n  (fact, kept by a user on " in found and "source: ops handbook" in found
    assert forgot == f"Forgot memory {fact.id}: {FACT}"
    assert again == f"MemoryNotFound: no memory with id {fact.id} in {db}"
    later = harness(["ok"], db)
    await later.run("Which port does the staging database listen on?")
    assert FACT not in later.model.requests[0].system


def test_forget_is_a_mutating_tool_and_plan_mode_refuses_it(tmp_path: Path) -> None:
    from loom.profile import AgentProfile

    db = tmp_path / "memory.db"
    with MemoryAPI(db) as memory:
        fact = memory.add(FACT)
    h = LoomHarness([call("remember", text="plans are read-only"), call("forget", memory_id=fact.id),
                     "ok"], plugins=[loom_memory_recall], config=config(db),
                    profile=AgentProfile.from_preset("readonly"))
    h.run_sync("try to forget in PLAN mode")
    specs = {t.name: t for t in h.last_run.window.tools}
    assert {e.value for e in specs["forget"].effects} == {"mutate"}
    assert {e.value for e in specs["remember"].effects} == {"read"}
    remembered, refused = tool_results(h)
    assert remembered.startswith("Remembered as memory")
    assert refused.startswith("Not run: denied by kernel rule plan-mode")
    assert MemoryAPI(db).get(fact.id).text == FACT


def with_store(path: Path, store: Path, **settings: Any) -> dict[str, Any]:
    return {"stages": {"store": "sqlite"},
            "settings": {"memory": {"path": str(path), **settings}, "sqlite": {"path": str(store)}}}


async def test_a_session_continues_in_a_new_runtime_on_the_same_files(tmp_path: Path) -> None:
    db, store = tmp_path / "memory.db", tmp_path / "loom.db"
    plugins = [loom_memory_recall, loom_memory_sqlite]
    first = LoomHarness(["Paris."], plugins=plugins, config=with_store(db, store))
    session = first.runtime.create_session("trip-planning")
    await session.create_task("What is the capital of France?").start().wait()
    await first.runtime.aclose()

    second = LoomHarness(["You asked about France.", "hello"], plugins=plugins,
                         config=with_store(db, store))
    again = second.runtime.create_session("trip-planning")
    assert (await again.create_task("What did I ask you before?").start().wait()).ok
    texts = [m.text_content for m in second.model.requests[0].messages]
    assert texts == ["What is the capital of France?", "Paris.", "What did I ask you before?"]
    other = second.runtime.create_session("another-session")
    await other.create_task("hi").start().wait()
    assert [m.text_content for m in second.model.requests[1].messages] == ["hi"]
    await second.runtime.aclose()


async def test_a_session_continues_in_a_new_process(tmp_path: Path) -> None:
    db, store = tmp_path / "memory.db", tmp_path / "loom.db"
    script = textwrap.dedent(f"""
        import asyncio, loom_memory_recall, loom_memory_sqlite
        from loom.testing import LoomHarness, call
        async def main():
            h = LoomHarness([call("working_memory"), "the build uses Bazel"],
                            plugins=[loom_memory_recall, loom_memory_sqlite],
                            config={with_store(db, store)!r})
            session = h.runtime.create_session("build-questions")
            assert (await session.create_task("which build tool?").start().wait()).ok
            await h.runtime.aclose()
        asyncio.run(main())
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    h = LoomHarness(["Bazel, as I said."], plugins=[loom_memory_recall, loom_memory_sqlite],
                    config=with_store(db, store))
    session = h.runtime.create_session("build-questions")
    await session.create_task("remind me?").start().wait()
    await h.runtime.aclose()
    messages = h.model.requests[0].messages
    assert [m.role for m in messages] == ["user", "assistant", "tool", "assistant", "user"]
    assert messages[0].text_content == "which build tool?"
    assert messages[2].tool_results[0].content == "# Goal\nwhich build tool?"
    assert messages[3].text_content == "the build uses Bazel"


async def test_sessions_need_a_store_and_can_be_turned_off(tmp_path: Path) -> None:
    db, store = tmp_path / "memory.db", tmp_path / "loom.db"
    plugins = [loom_memory_recall, loom_memory_sqlite]
    first = LoomHarness(["Paris."], plugins=plugins, config=with_store(db, store))
    await first.runtime.create_session("s").create_task("capital of France?").start().wait()
    await first.runtime.aclose()
    off = LoomHarness(["?"], plugins=plugins, config=with_store(db, store, sessions=False))
    await off.runtime.create_session("s").create_task("what did I ask?").start().wait()
    await off.runtime.aclose()
    assert [m.text_content for m in off.model.requests[0].messages] == ["what did I ask?"]
    no_store = harness(["?"], db)
    await no_store.runtime.create_session("s").create_task("what did I ask?").start().wait()
    assert [m.text_content for m in no_store.model.requests[0].messages] == ["what did I ask?"]


async def test_a_run_without_a_ledger_writes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "memory.db"
    h = harness(["done"] * 3, db)
    for _ in range(3):
        assert (await h.run("a quick question")).ok
    assert not db.exists()


class PinsALedger:
    """Pins a fact ledger the way the compression plugins do."""

    LEDGER = ("Facts kept from content that left the context.\n"
              "- value: DATABASE_PORT = 6842 (was 5432) — from read_file path=config/app.toml, "
              "ref ab12cd34ef56/3\n"
              "- decision: use orjson for the cache payloads\n"
              "- files: touched src/app.py")

    @hookimpl
    async def loom_run_started(self, run: Any) -> None:
        await run.apply_edit(ContextEdit(level="test", history=list(run.window.history),
                                         pinned={"Fact ledger": self.LEDGER}, reason="test",
                                         lossy=False))


async def test_working_memory_shows_goal_and_pinned_state_and_the_ledger_becomes_notes(
        tmp_path: Path) -> None:
    db = tmp_path / "memory.db"
    h = harness([call("working_memory"), "ok"], db, plugins=(PinsALedger(),))
    assert (await h.run("tune the cache")).ok
    (shown,) = tool_results(h)
    assert shown.startswith("# Goal\ntune the cache\n\n# Fact ledger\nFacts kept from content")
    assert "- decision: use orjson for the cache payloads" in shown
    notes = MemoryAPI(db).recent(kind="note")
    assert sorted(n.text for n in notes) == ["decision: use orjson for the cache payloads",
                                             "value: DATABASE_PORT = 6842 (was 5432)"]
    value = next(n for n in notes if n.text.startswith("value"))
    assert value.author == "agent" and value.run_id == h.last_run.id
    assert value.source == ("fact ledger of the run for: tune the cache "
                            "(from read_file path=config/app.toml)")
    later = harness(["ok"], db, capture_ledger=False)
    await later.run("what is the DATABASE_PORT value?")
    recalled = later.last_run.window.memory[0]
    assert "value: DATABASE_PORT = 6842 (was 5432) (note, noted by the agent" in recalled


def test_settings_are_validated_with_the_key_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"settings\.memory\.top_k: unknown setting.*allowed: "):
        LoomHarness(["x"], plugins=[loom_memory_recall],
                    config={"settings": {"memory": {"top_k": 3}}})
    with pytest.raises(ConfigError, match=r"settings\.memory\.k"):
        LoomHarness(["x"], plugins=[loom_memory_recall], config={"settings": {"memory": {"k": -1}}})


def test_an_unknown_embedder_is_a_configuration_error_naming_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"settings\.memory\.embedder: .*unknown embedder "
                                          r"'minilmm'; known: .*hashing"):
        harness(["x"], tmp_path / "memory.db", embedder="minilmm")
