"""The offline hashing embedder: deterministic, normalised, and sensitive to shared words and stems."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from loom_memory_recall.embedders import HashingEmbedder, load_embedder
from loom_memory_recall.errors import RecallError

TEXTS = ["The staging database listens on port 6842",
         "Alice prefers green tea in the morning",
         "Deploys are frozen on Fridays"]


def test_the_same_text_gets_the_same_vector_in_another_embedder_and_another_process() -> None:
    here = HashingEmbedder().embed(TEXTS)
    again = HashingEmbedder().embed(list(reversed(TEXTS)))[::-1]
    assert np.array_equal(here, again)
    code = ("import json; from loom_memory_recall.embedders import HashingEmbedder; "
            f"print(json.dumps(HashingEmbedder().embed({TEXTS!r}).tolist()))")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={"PYTHONHASHSEED": "12345"})
    assert np.array_equal(here, np.asarray(json.loads(other.stdout), dtype=np.float32))


def test_rows_are_unit_length_float32_and_a_text_without_words_is_a_zero_row() -> None:
    vectors = HashingEmbedder().embed([*TEXTS, "", "  ... !!"])
    assert vectors.dtype == np.float32 and vectors.shape == (5, 384)
    assert np.allclose(np.linalg.norm(vectors[:3], axis=1), 1.0, atol=1e-5)
    assert not vectors[3].any() and not vectors[4].any()


def test_a_batch_gives_the_same_rows_as_one_text_at_a_time() -> None:
    embedder = HashingEmbedder()
    batch = embedder.embed(TEXTS)
    singles = np.vstack([HashingEmbedder().embed([t]) for t in TEXTS])
    assert np.allclose(batch, singles, atol=1e-6)


def test_shared_words_and_stems_score_higher_than_unrelated_text() -> None:
    e = HashingEmbedder()
    fact, inflected, unrelated = e.embed([
        "The staging database listens on port 6842",
        "which ports does the staging databases listen to",
        "Alice prefers green tea in the morning"])
    assert float(fact @ inflected) > 0.4
    assert abs(float(fact @ unrelated)) < 0.15


def test_dimensions_are_checked_and_named() -> None:
    assert HashingEmbedder(512).name == "hashing-512"
    assert load_embedder("hashing-256").dims == 256
    with pytest.raises(RecallError, match="between 16 and 4096"):
        HashingEmbedder(8)


def test_an_unknown_embedder_name_lists_the_known_ones() -> None:
    with pytest.raises(RecallError, match=r"unknown embedder 'minilmm'; known: .*hashing"):
        load_embedder("minilmm")
    with pytest.raises(RecallError, match="cannot be imported"):
        load_embedder("no_such_module_here:Factory")


def test_threads_embedding_new_words_at_once_get_the_same_vectors() -> None:
    from concurrent.futures import ThreadPoolExecutor

    texts = [f"word{i} term{i * 7} thing{i % 13} shared words here" for i in range(400)]
    expected = HashingEmbedder().embed(texts)
    shared = HashingEmbedder(cache_size=300)  # small: the table is also reset while in use
    with ThreadPoolExecutor(8) as pool:
        rows = list(pool.map(lambda t: shared.embed([t])[0], texts))
    assert np.allclose(np.vstack(rows), expected, atol=1e-6)
