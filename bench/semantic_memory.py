"""Semantic memory: insert throughput, top-10 query latency and recall@10, against a LIKE baseline.

Run: ``python3 scripts/bench.py memory`` (``--quick`` stops at 10k items;
``--embedder minilm --sizes 2000`` measures another embedder on other sizes).

A seeded generator writes facts ("The kelvor service stores its invoices in
the tramsel bucket on port 6842") and, for a sample of them, a paraphrase-ish
query: some words swapped for synonyms, some inflected, some dropped, the
rest shuffled into a question. Each query has one right answer, the fact it
was made from. For 10,000 and 100,000 facts in a real SQLite file:

- insert throughput with the default (hashing) embedder: batches of 1,000
  through ``MemoryAPI.add_many``, and one at a time through ``add`` (what the
  ``remember`` tool does);
- the first search after opening the file (the index loads from SQLite);
- top-10 query latency (median, p95) of ``MemoryAPI.search`` (embed the
  query, scan the matrix, read the 10 rows), and of the matrix scan alone;
- recall@10: the share of queries whose fact is among the 10 results;
- the naive baseline on the same file and queries: SQLite ``LIKE`` keyword
  search, ranked by how many of the query's words a fact contains.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from loom_memory_recall import MemoryAPI
from loom_memory_recall.embedders import STOPWORDS, tokens

RESULTS = Path(__file__).resolve().parent / "results" / "semantic_memory.json"
SEED = 20261126
QUERIES = 300
SINGLES = 500  # the last facts are added one at a time

SYLLABLES = ["ka", "lor", "vel", "tra", "min", "sel", "dor", "qui", "zen", "bar", "ost", "ri",
             "mal", "ten", "gu", "fir", "nox", "pel", "cas", "um", "dra", "vis", "hel", "on"]
SERVICES = ["service", "database", "cache", "queue", "cluster", "worker", "gateway", "bucket"]
OBJECTS = ["invoices", "logs", "backups", "sessions", "reports", "images", "tokens", "metrics",
           "orders", "emails", "uploads", "payments"]
PLACES = ["region", "datacenter", "namespace", "account", "project", "server"]
TEMPLATES = [
    "The {a} {svc} stores its {obj} in the {b} {svc2} on port {n}",
    "{a} sends nightly {obj} to the {b} {svc2} in the {place} {c}",
    "Requests for {obj} go through the {a} {svc} before reaching {b}",
    "The {a} team owns the {b} {svc} and its {obj} since release {n}",
    "Deploying {a} requires restarting the {b} {svc} in the {place} {c}",
    "The {a} {svc} keeps {obj} for {n} days in the {b} {place}",
    "Errors in {a} usually mean the {b} {svc} ran out of {obj}",
    "Use the {a} {svc} to rebuild {obj} when {b} is down",
]
SYNONYMS = {
    "stores": "keeps", "keeps": "retains", "sends": "ships", "nightly": "daily",
    "requests": "calls", "reaching": "hitting", "owns": "maintains", "team": "group",
    "deploying": "releasing", "requires": "needs", "restarting": "rebooting",
    "errors": "failures", "usually": "often", "mean": "indicate", "rebuild": "regenerate",
    "down": "offline", "service": "system", "database": "db", "cache": "memcache",
    "queue": "broker", "cluster": "pool", "invoices": "bills", "logs": "traces",
    "backups": "snapshots", "reports": "summaries", "images": "pictures", "emails": "mail",
    "uploads": "attachments", "payments": "charges", "region": "zone", "server": "host",
    "days": "daily", "release": "version",
}
QUESTIONS = ["where", "which", "what about", "how does", "why", "tell me about", ""]


def name(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3)))


def fact(rng: random.Random) -> str:
    template = rng.choice(TEMPLATES)
    return template.format(a=name(rng), b=name(rng), c=name(rng), svc=rng.choice(SERVICES),
                           svc2=rng.choice(SERVICES), obj=rng.choice(OBJECTS),
                           place=rng.choice(PLACES), n=rng.randint(2, 9999))


def inflect(word: str, rng: random.Random) -> str:
    if word.endswith("s") and len(word) > 4:
        return word[:-1]
    if word.endswith("ing"):
        return word[:-3] + rng.choice(["s", "ed"])
    return word + rng.choice(["s", "ing"])


def paraphrase(text: str, rng: random.Random) -> str:
    """A question made from a fact: synonyms, inflections, dropped words, shuffled order."""
    words = [w for w in tokens(text) if w not in STOPWORDS]
    out = []
    for word in words:
        roll = rng.random()
        if word in SYNONYMS and roll < 0.5:
            out.append(SYNONYMS[word])
        elif roll < 0.25 and not word.isdigit():
            out.append(inflect(word, rng))
        elif roll < 0.6 or (word.isdigit() and roll < 0.8):
            continue  # dropped
        else:
            out.append(word)
    if len(out) < 2:
        out = words[:2]
    rng.shuffle(out)
    return f"{rng.choice(QUESTIONS)} {' '.join(out)}?".strip()


def corpus(size: int) -> list[str]:
    rng = random.Random(SEED)
    seen: dict[str, None] = {}
    while len(seen) < size:
        seen.setdefault(fact(rng), None)
    return list(seen)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def like_search(conn: sqlite3.Connection, query: str, k: int = 10) -> list[int]:
    """The naive baseline: rank by how many query words (3+ letters, no stopwords) occur."""
    words = [w for w in dict.fromkeys(tokens(query)) if len(w) > 2 and w not in STOPWORDS]
    if not words:
        return []
    score = " + ".join(["(text LIKE ?)"] * len(words))
    rows = conn.execute(f"SELECT id FROM (SELECT id, {score} AS hits FROM memories) WHERE hits > 0 "
                        "ORDER BY hits DESC, id DESC LIMIT ?", [*(f"%{w}%" for w in words), k])
    return [r[0] for r in rows]


def measure(size: int, folder: Path, embedder: str) -> dict[str, Any]:
    texts = corpus(size)
    path = folder / f"memory-{size}.db"
    memory = MemoryAPI(path, embedder=embedder)
    started = time.perf_counter()
    ids: list[int] = []
    batched = size - SINGLES
    for start in range(0, batched, 1000):
        ids.extend(m.id for m in memory.add_many(texts[start:min(start + 1000, batched)]))
    batch_seconds = time.perf_counter() - started
    started = time.perf_counter()
    ids.extend(memory.add(text).id for text in texts[batched:])
    single_seconds = time.perf_counter() - started
    singles = SINGLES
    memory.close()

    reopened = MemoryAPI(path, embedder=embedder)
    started = time.perf_counter()
    reopened.search("warm up", k=10)
    cold_ms = (time.perf_counter() - started) * 1000

    rng = random.Random(SEED + size)
    picks = rng.sample(range(size), QUERIES)
    queries = [(paraphrase(texts[i], rng), ids[i]) for i in picks]
    search_ms, scan_ms, like_ms = [], [], []
    found = like_found = 0
    index = reopened._ready()
    conn = sqlite3.connect(path)
    for query, target in queries:
        t0 = time.perf_counter()
        hits = reopened.search(query, k=10)
        t1 = time.perf_counter()
        vector = reopened.embedder.embed([query])[0]
        t2 = time.perf_counter()
        index.search(vector, 10)
        t3 = time.perf_counter()
        keyword = like_search(conn, query)
        t4 = time.perf_counter()
        search_ms.append((t1 - t0) * 1000)
        scan_ms.append((t3 - t2) * 1000)
        like_ms.append((t4 - t3) * 1000)
        found += target in [h.item.id for h in hits]
        like_found += target in keyword
    conn.close()
    reopened.close()
    return {
        "items": size,
        "insert_batched_per_s": round(batched / batch_seconds),
        "insert_single_per_s": round(singles / single_seconds),
        "first_search_after_open_ms": round(cold_ms, 1),
        "search_median_ms": round(statistics.median(search_ms), 2),
        "search_p95_ms": round(percentile(search_ms, 0.95), 2),
        "scan_median_ms": round(statistics.median(scan_ms), 2),
        "scan_p95_ms": round(percentile(scan_ms, 0.95), 2),
        "recall_at_10": round(found / QUERIES, 3),
        "like_median_ms": round(statistics.median(like_ms), 2),
        "like_p95_ms": round(percentile(like_ms, 0.95), 2),
        "like_recall_at_10": round(like_found / QUERIES, 3),
        "file_mb": round(path.stat().st_size / 1e6, 1),
        "examples": [{"query": q, "fact": texts[picks[i]]} for i, (q, _) in enumerate(queries[:3])],
    }


def option(name: str, default: str) -> str:
    if name in sys.argv:
        return sys.argv[sys.argv.index(name) + 1]
    return default


def main() -> int:
    embedder = option("--embedder", "hashing")
    sizes = [int(n) for n in option("--sizes", "10000" if "--quick" in sys.argv
                                    else "10000,100000").split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for size in sizes:
            rows.append(measure(size, Path(folder), embedder))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"semantic memory, {embedder} embedder, {QUERIES} paraphrase-ish queries, "
          f"seed {SEED}; load average {load:.2f} on {os.cpu_count()} CPUs")
    header = ("items", "insert/s batch", "insert/s one", "open+1st ms", "search p50 ms",
              "p95 ms", "scan p50 ms", "recall@10", "LIKE p50 ms", "LIKE p95 ms", "LIKE recall@10")
    print(" | ".join(header))
    for r in rows:
        print(" | ".join(str(v) for v in (
            f"{r['items']:,}", r["insert_batched_per_s"], r["insert_single_per_s"],
            r["first_search_after_open_ms"], r["search_median_ms"], r["search_p95_ms"],
            r["scan_median_ms"], r["recall_at_10"], r["like_median_ms"], r["like_p95_ms"],
            r["like_recall_at_10"])))
    print("example queries:")
    for example in rows[0]["examples"]:
        print(f"  {example['query']!r}  ←  {example['fact']!r}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    results = RESULTS if embedder == "hashing" else RESULTS.with_name(f"semantic_memory_{embedder}.json")
    results.write_text(json.dumps({"seed": SEED, "queries": QUERIES, "load_average": load,
                                   "embedder": embedder,
                                   "results": rows}, indent=2))
    print(f"written to {results}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
