"""The numpy all-MiniLM-L6-v2 encoder against reference vectors, and as the memory's embedder.

``minilm_reference.json`` holds the vectors sentence-transformers computed
from the same packaged model files for the same texts (rounded to 6
decimals): the numpy encoder must agree with them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from loom_embed_minilm import MiniLMEmbedder, model_folder
from loom_embed_minilm.model import read_safetensors
from loom_embed_minilm.tokenizer import WordPieceTokenizer
from loom_memory_recall import MemoryAPI
from loom_memory_recall.embedders import load_embedder

REFERENCE = json.loads((Path(__file__).parent / "minilm_reference.json").read_text())


@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbedder:
    return MiniLMEmbedder()


def test_vectors_match_the_reference_implementation(embedder: MiniLMEmbedder) -> None:
    vectors = embedder.embed(REFERENCE["texts"])
    expected = np.asarray(REFERENCE["vectors"], dtype=np.float32)
    assert vectors.shape == (len(REFERENCE["texts"]), 384) and vectors.dtype == np.float32
    assert np.abs(vectors - expected).max() < 1e-5


def test_the_tokenizer_splits_punctuation_accents_and_unknown_words() -> None:
    tokenizer = WordPieceTokenizer.from_file(model_folder() / "tokenizer.json")
    assert tokenizer.words("Café naïve, résumé!! 数据") == ["cafe", "naive", ",", "resume", "!", "!",
                                                           "数", "据"]
    ids = tokenizer.encode("supercalifragilistic")
    pieces = {i: w for w, i in tokenizer.vocab.items()}
    words = [pieces[i] for i in ids]
    assert words[0] == "[CLS]" and words[-1] == "[SEP]"
    assert all(w.startswith("##") for w in words[2:-1])
    assert len(tokenizer.encode("word " * 1000, max_length=256)) == 256


def test_meaning_beats_shared_words(embedder: MiniLMEmbedder) -> None:
    fact, synonyms, lexical = embedder.embed([
        "The staging database listens on port 6842",
        "Which port does the pre-production DB use?",
        "The staging area listens to music on the radio"])
    assert float(fact @ synonyms) > float(fact @ lexical)


def test_it_is_the_minilm_embedder_of_memory_and_ranks_a_synonym_query(tmp_path: Path) -> None:
    embedder = load_embedder("minilm")
    assert isinstance(embedder, MiniLMEmbedder) and embedder.dims == 384
    with MemoryAPI(tmp_path / "memory.db", embedder="minilm") as memory:
        memory.add_many(["Alice prefers green tea in the morning",
                         "Deploys are frozen on Fridays",
                         "Bob owns the billing service"])
        fact = memory.add("The staging database listens on port 6842")
        hits = memory.search("what TCP port is the pre-prod DB on?", k=2)
        assert hits[0].item.id == fact.id


def test_unsupported_weights_are_named(tmp_path: Path) -> None:
    header = json.dumps({"w": {"dtype": "BF16", "shape": [1], "data_offsets": [0, 2]}}).encode()
    path = tmp_path / "bad.safetensors"
    path.write_bytes(len(header).to_bytes(8, "little") + header + b"\0\0")
    with pytest.raises(ValueError, match="tensor w has dtype BF16"):
        read_safetensors(path)
