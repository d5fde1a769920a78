"""MemoryAPI on a real SQLite file: keep, search, forget, provenance, several writers."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from loom_memory_recall import MemoryAPI, MemoryNotFound, MemoryVersionError, RecallError
from loom_memory_recall.embedders import HashingEmbedder

DISTRACTORS = [
    "Alice prefers green tea in the morning",
    "The CI pipeline runs on every push to main",
    "Deploys are frozen on Fridays after 3pm",
    "The logo uses the colour #3366ff",
    "Invoices are sent on the first Monday of the month",
    "The mobile app supports Android 10 and later",
    "Bob owns the billing service",
    "Backups of the production bucket are kept for 30 days",
    "The design review happens on Thursdays",
    "The office wifi password rotates every quarter",
]
FACT = "The staging database listens on port 6842"


@pytest.fixture
def memory(tmp_path: Path) -> MemoryAPI:
    api = MemoryAPI(tmp_path / "memory.db")
    yield api  # type: ignore[misc]
    api.close()


def test_the_relevant_fact_ranks_first_among_distractors(memory: MemoryAPI) -> None:
    memory.add_many(DISTRACTORS)
    fact = memory.add(FACT)
    memory.add_many([f"Note {i}: the {w} service restarts nightly" for i, w in
                     enumerate(["search", "email", "auth", "cache"])])
    for query in ("which port does the staging database listen on?",
                  "staging DB port", "database port for staging"):
        hits = memory.search(query, k=3)
        assert hits[0].item.id == fact.id, (query, [h.item.text for h in hits])
        assert hits[0].score > hits[1].score


def test_provenance_is_kept_with_each_memory(memory: MemoryAPI) -> None:
    before = time.time()
    item = memory.add(FACT, tags=["db", "staging", "db"], author="agent", session_id="s-1",
                      run_id="r-9", source="goal: find the staging port")
    again = memory.get(item.id)
    assert again == item
    assert (again.kind, again.author, again.session_id, again.run_id) == ("fact", "agent", "s-1", "r-9")
    assert again.tags == ("db", "staging") and again.source == "goal: find the staging port"
    assert before <= again.created_at <= time.time()
    line = again.line()
    assert line.startswith(f"[memory {item.id}] {FACT} (fact, kept by the agent in session s-1, run r-9 on ")
    assert line.endswith("; tags: db, staging)")


def test_forget_removes_it_from_search_get_and_list(memory: MemoryAPI) -> None:
    memory.add_many(DISTRACTORS)
    fact = memory.add(FACT)
    assert memory.search("staging database port", k=1)[0].item.id == fact.id
    assert memory.forget(fact.id).text == FACT
    assert all(h.item.id != fact.id for h in memory.search("staging database port", k=20))
    assert fact.id not in [m.id for m in memory.recent(100)]
    with pytest.raises(MemoryNotFound, match=f"no memory with id {fact.id}"):
        memory.get(fact.id)
    with pytest.raises(MemoryNotFound):
        memory.forget(fact.id)


def test_the_same_text_is_kept_once_and_a_note_kept_on_purpose_becomes_a_fact(memory: MemoryAPI) -> None:
    note = memory.add("decision: use orjson for the cache", kind="note", author="agent", tags=["x"])
    again = memory.add("Decision:  use ORJSON for the cache", tags=["y"], author="user")
    assert again.id == note.id and again.kind == "fact" and again.author == "user"
    assert again.tags == ("x", "y") and memory.count() == 1
    assert memory.search("orjson cache", k=1, kinds=["fact"])[0].item.id == note.id
    assert memory.search("orjson cache", k=1, kinds=["note"]) == []


def test_tags_kinds_and_min_score_narrow_a_search(memory: MemoryAPI) -> None:
    memory.add("The staging database listens on port 6842", tags=["db"])
    memory.add("The staging web server listens on port 8080", tags=["web"])
    memory.add("error: the staging deploy failed on a missing key", kind="note", author="agent")
    assert [h.item.tags for h in memory.search("staging port", k=5, tags=["web"])] == [("web",)]
    assert {h.item.kind for h in memory.search("staging", k=5, kinds=["note"])} == {"note"}
    assert memory.search("green tea with Alice", k=5, min_score=0.3) == []
    assert [m.kind for m in memory.recent(kind="note")] == ["note"]
    assert [m.text for m in memory.recent(tag="db")] == ["The staging database listens on port 6842"]


def test_list_is_newest_first_and_count_counts(memory: MemoryAPI) -> None:
    for text in DISTRACTORS[:3]:
        memory.add(text)
    assert [m.text for m in memory.recent(2)] == [DISTRACTORS[2], DISTRACTORS[1]]
    assert memory.count() == 3


def test_a_second_connection_sees_the_firsts_additions_and_deletions(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    with MemoryAPI(path) as first, MemoryAPI(path) as second:
        first.add_many(DISTRACTORS)
        assert second.search("green tea", k=1)[0].item.text == DISTRACTORS[0]  # loads the index
        fact = first.add(FACT)
        assert second.search("staging database port", k=1)[0].item.id == fact.id
        second.forget(fact.id)
        assert all(h.item.id != fact.id for h in first.search("staging database port", k=20))
        first.add("note: the staging cache is redis", kind="note", author="agent")
        first.add("note: the staging cache is redis")  # promoted to a fact by the other writer
        assert second.search("staging cache redis", k=1, kinds=["fact"])[0].item.kind == "fact"


def test_a_changed_embedder_embeds_the_kept_memories_again(tmp_path: Path) -> None:
    path = tmp_path / "memory.db"
    with MemoryAPI(path) as small:
        small.add_many([*DISTRACTORS, FACT])
    with MemoryAPI(path, embedder=HashingEmbedder(512)) as large:
        assert large.search("staging database port", k=1)[0].item.text == FACT
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT DISTINCT embedder, length(vector) FROM memories").fetchall()
    assert rows == [("hashing-512", 512 * 4)]


def test_reading_a_missing_file_finds_nothing_and_does_not_make_it(tmp_path: Path) -> None:
    memory = MemoryAPI(tmp_path / "nowhere" / "memory.db")
    assert memory.search("anything") == [] and memory.recent() == [] and memory.count() == 0
    assert not (tmp_path / "nowhere").exists()


def test_bad_input_says_what_is_wrong(memory: MemoryAPI) -> None:
    with pytest.raises(RecallError, match="text is empty"):
        memory.add("   ")
    with pytest.raises(RecallError, match="at most 8000 fit"):
        memory.add("x" * 9000)
    with pytest.raises(RecallError, match="kind must be one of fact, note"):
        memory.add("a fact", kind="episode")  # type: ignore[arg-type]
    with pytest.raises(RecallError, match="author must be 'agent' or 'user'"):
        memory.add("a fact", author="robot")  # type: ignore[arg-type]
    with pytest.raises(RecallError, match="k must be at least 1"):
        memory.search("a", k=0)


def test_a_file_that_is_not_a_memory_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    store = tmp_path / "loom.db"
    with sqlite3.connect(store) as conn:
        conn.execute("CREATE TABLE schema_version (version INTEGER)")
        conn.execute("CREATE TABLE runs (run_id TEXT)")
    with pytest.raises(RecallError, match="is the run store's database .* a file of its own"):
        MemoryAPI(store).add(FACT)
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE things (x)")
    with pytest.raises(RecallError, match="not a memory database"):
        MemoryAPI(other).add(FACT)
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(RecallError, match="damaged or not a database"):
        MemoryAPI(garbage).add(FACT)
    with sqlite3.connect(store) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert tables == {"schema_version", "runs"}


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "memory.db"
    with MemoryAPI(path) as memory:
        memory.add(FACT)
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO memory_schema VALUES (99, 'from the future', 0)")
    with pytest.raises(MemoryVersionError, match="schema version 99, newer"):
        MemoryAPI(path).search("port")
