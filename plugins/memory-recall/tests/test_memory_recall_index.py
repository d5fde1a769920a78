"""The vector index agrees with a plain sort over every row, through adds and removals."""

from __future__ import annotations

import numpy as np
from loom_memory_recall.embedders import normalise
from loom_memory_recall.index import VectorIndex


def brute_force(matrix: np.ndarray, ids: list[int], query: np.ndarray, k: int) -> list[int]:
    scores = matrix @ query
    order = np.argsort(-scores, kind="stable")[:k]
    return [ids[i] for i in order]


def test_top_k_matches_a_full_sort_after_adds_and_removals() -> None:
    rng = np.random.default_rng(7)
    vectors = normalise(rng.normal(size=(3000, 64)))
    index = VectorIndex(64)
    ids = list(range(1, 3001))
    for start in range(0, 3000, 700):  # grows past its first capacity several times
        index.add(ids[start:start + 700], ["fact"] * len(ids[start:start + 700]),
                  vectors[start:start + 700])
    removed = set(range(1, 3001, 3))
    index.remove(sorted(removed))
    kept = [i for i in ids if i not in removed]
    matrix = vectors[[i - 1 for i in kept]]
    for _ in range(20):
        query = normalise(rng.normal(size=(1, 64)))[0]
        found = [memory_id for memory_id, _ in index.search(query, 10)]
        assert found == brute_force(matrix, kept, query, 10)
    assert len(index) == len(kept)


def test_kinds_and_allowed_ids_filter_the_search() -> None:
    vectors = normalise(np.eye(4, 8, dtype=np.float32) + 0.1)
    index = VectorIndex(8)
    index.add([10, 11, 12, 13], ["fact", "note", "fact", "note"], vectors)
    query = vectors[1]
    assert index.search(query, 1)[0][0] == 11
    assert index.search(query, 1, kinds=["fact"])[0][0] != 11
    assert [i for i, _ in index.search(query, 4, allowed=np.array([12, 13]))] in ([12, 13], [13, 12])
    index.set_kind(11, "fact")
    assert index.search(query, 1, kinds=["fact"])[0][0] == 11


def test_an_empty_index_and_k_larger_than_the_index() -> None:
    index = VectorIndex(8)
    assert index.search(np.ones(8, dtype=np.float32), 5) == []
    index.add([1], ["fact"], normalise(np.ones((1, 8))))
    assert [i for i, _ in index.search(np.ones(8, dtype=np.float32), 5)] == [1]
