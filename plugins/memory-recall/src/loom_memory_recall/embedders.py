"""Embedders: text → L2-normalised float32 vectors.

The default, :class:`HashingEmbedder`, needs no model and no network: it
hashes words, pairs of neighbouring words and character n-grams into a
fixed number of dimensions with a random sign per feature (signed feature
hashing), so texts that share words or word stems point the same way. It is
deterministic across processes and machines (BLAKE2b, not Python's salted
``hash``).

Other embedders plug in by name through the ``loom.embedders`` entry-point
group (``name = "module:factory"``; the factory takes no argument), or by an
import string ``"module:factory"`` given as the name itself.
"""

from __future__ import annotations

import hashlib
import importlib
import re
import threading
import unicodedata
from collections.abc import Sequence
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from loom_memory_recall.errors import RecallError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Matrix = npt.NDArray[np.float32]

#: Entry-point group where other distributions register embedders.
ENTRY_POINT_GROUP = "loom.embedders"
DEFAULT_EMBEDDER = "hashing"

_TOKEN = re.compile(r"[^\W_]+")
#: Very common English words: they say little about what a text is about.
STOPWORDS = frozenset("""
a about after all also am an and any are as at be been before but by can could did do does
for from had has have he her his how i if in into is it its just me my no not now of on or our
out she so some than that the their them then there these they this to up us was we were what
when where which who why will with would you your
""".split())

@runtime_checkable
class Embedder(Protocol):
    """Turns texts into vectors; ``name`` and ``dims`` identify the vector space."""

    name: str
    dims: int

    def embed(self, texts: Sequence[str]) -> Matrix:
        """One L2-normalised float32 row per text (a zero row for a text with no features)."""
        ...


def tokens(text: str) -> list[str]:
    """Lower-case word tokens (letters and digits) of ``text``."""
    return _TOKEN.findall(unicodedata.normalize("NFKC", text).lower())


def _hash(feature: str) -> int:
    return int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "little")


class HashingEmbedder:
    """Signed feature hashing of words, word pairs and character 3- and 4-grams.

    Each word counts 1.0 (a stopword 0.2); its character n-grams (of the word
    wrapped in ``<`` and ``>``, so stems and inflections overlap) together
    count ``char_weight``; each pair of neighbouring content words counts
    ``pair_weight``. The features of each word are computed once and kept in
    a table (up to ``cache_size`` words), so embedding is a few array
    operations per batch.
    """

    def __init__(self, dims: int = 384, *, char_weight: float = 0.8, pair_weight: float = 0.5,
                 cache_size: int = 200_000) -> None:
        if not 16 <= dims <= 4096:
            raise RecallError(f"hashing embedder: dims must be between 16 and 4096, got {dims}")
        self.dims = dims
        self.name = "hashing" if dims == 384 else f"hashing-{dims}"
        self.char_weight = char_weight
        self.pair_weight = pair_weight
        self.cache_size = cache_size
        self._lock = threading.Lock()
        self._reset()

    def __repr__(self) -> str:
        return f"<HashingEmbedder {self.dims} dims>"

    def _reset(self) -> None:
        import numpy as np

        self._ids: dict[str, int] = {}
        self._hashes = np.zeros(0, dtype=np.uint64)  # per word: its own 64-bit hash
        self._stop = np.zeros(0, dtype=bool)  # per word: is it a stopword
        self._ptr = np.zeros(1, dtype=np.int64)  # per word: where its features start
        self._buckets = np.zeros(0, dtype=np.int64)
        self._values = np.zeros(0, dtype=np.float64)

    def _features_of(self, token: str) -> tuple[int, list[int], list[float], bool]:
        h = _hash("w|" + token)
        sign = 1.0 if h >> 63 else -1.0
        if token in STOPWORDS:
            return h, [h % self.dims], [0.2 * sign], True
        buckets, values = [h % self.dims], [sign]
        if len(token) > 2:
            wrapped = f"<{token}>"
            grams = [wrapped[i:i + n] for n in (3, 4) for i in range(len(wrapped) - n + 1)]
            weight = self.char_weight / len(grams) ** 0.5
            for gram in grams:
                g = _hash("c|" + gram)
                buckets.append(g % self.dims)
                values.append(weight if g >> 63 else -weight)
        return h, buckets, values, False

    def _learn(self, new: list[str]) -> None:
        """Add the features of words not seen before to the table."""
        import numpy as np

        hashes, stops, lengths, buckets, values = [], [], [], [], []
        for token in new:
            h, b, v, stop = self._features_of(token)
            self._ids[token] = len(self._ids)
            hashes.append(h)
            stops.append(stop)
            lengths.append(len(b))
            buckets.extend(b)
            values.extend(v)
        self._hashes = np.concatenate([self._hashes, np.asarray(hashes, dtype=np.uint64)])
        self._stop = np.concatenate([self._stop, np.asarray(stops, dtype=bool)])
        self._ptr = np.concatenate([self._ptr, self._ptr[-1] + np.cumsum(lengths, dtype=np.int64)])
        self._buckets = np.concatenate([self._buckets, np.asarray(buckets, dtype=np.int64)])
        self._values = np.concatenate([self._values, np.asarray(values, dtype=np.float64)])

    def embed(self, texts: Sequence[str]) -> Matrix:
        """L2-normalised rows, one per text (safe to call from several threads)."""
        tokenised = [tokens(t) for t in texts]
        with self._lock:  # the word table grows as new words come
            return self._embed(tokenised)

    def _embed(self, tokenised: list[list[str]]) -> Matrix:
        import numpy as np

        texts = tokenised
        seen = {w for words in tokenised for w in words}
        if len(self._ids) + len(seen) > self.cache_size:
            self._reset()
        new = [w for w in seen if w not in self._ids]
        if new:
            self._learn(sorted(new))
        ids = self._ids
        counts = np.fromiter((len(words) for words in tokenised), dtype=np.int64, count=len(texts))
        words = np.fromiter((ids[w] for ws in tokenised for w in ws), dtype=np.int64,
                            count=int(counts.sum()))
        rows = np.repeat(np.arange(len(texts), dtype=np.int64), counts)
        # every feature of every word occurrence (a ragged gather from the table)
        starts, ends = self._ptr[words], self._ptr[words + 1]
        lengths = ends - starts
        total = int(lengths.sum())
        offsets = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
        positions = offsets + np.arange(total, dtype=np.int64)
        flat = [np.repeat(rows, lengths) * self.dims + self._buckets[positions]]
        weights = [self._values[positions]]
        # pairs of neighbouring content words of the same text
        content = ~self._stop[words]
        crow, cword = rows[content], words[content]
        same = crow[1:] == crow[:-1]
        if same.any():
            first, second = self._hashes[cword[:-1][same]], self._hashes[cword[1:][same]]
            mixed = _mix(first * np.uint64(_GOLDEN) + second)
            flat.append(crow[1:][same] * self.dims + (mixed % np.uint64(self.dims)).astype(np.int64))
            weights.append(np.where(mixed >> np.uint64(63), self.pair_weight, -self.pair_weight))
        summed = np.bincount(np.concatenate(flat), weights=np.concatenate(weights),
                             minlength=len(texts) * self.dims)
        return normalise(summed.reshape(len(texts), self.dims))


_GOLDEN = 0x9E3779B97F4A7C15


def _mix(h: Any) -> Any:
    """A 64-bit finaliser (splitmix64) over a uint64 array: spreads combined hashes."""
    import numpy as np

    h = h ^ (h >> np.uint64(30))
    h = h * np.uint64(0xBF58476D1CE4E5B9)
    h = h ^ (h >> np.uint64(27))
    h = h * np.uint64(0x94D049BB133111EB)
    return h ^ (h >> np.uint64(31))


def normalise(matrix: Any) -> Matrix:
    """Rows scaled to unit length (zero rows stay zero), as float32."""
    import numpy as np

    rows = np.asarray(matrix, dtype=np.float64)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    unit: Matrix = (rows / norms).astype(np.float32)
    return unit


def check_embedder_name(name: str) -> dict[str, Any]:
    """Refuse a name no embedder answers to (without importing anything); returns the
    installed ``loom.embedders`` entry points by name."""
    found = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    if name == DEFAULT_EMBEDDER or re.fullmatch(r"hashing-\d+", name) or name in found or ":" in name:
        return found
    known = ", ".join(sorted({DEFAULT_EMBEDDER, "hashing-<dims>", *found}))
    raise RecallError(f"unknown embedder {name!r}; known: {known} (or an import string "
                      "'module:factory'); install the distribution that provides it")


def load_embedder(name: str) -> Embedder:
    """The embedder called ``name``: ``"hashing"`` (or ``"hashing-<dims>"``), an
    entry point of the ``loom.embedders`` group, or an import string ``"module:factory"``."""
    if name == DEFAULT_EMBEDDER:
        return HashingEmbedder()
    match = re.fullmatch(r"hashing-(\d+)", name)
    if match:
        return HashingEmbedder(int(match.group(1)))
    found = check_embedder_name(name)
    if name in found:
        factory = found[name].load()
    elif ":" in name:
        module, _, attr = name.partition(":")
        try:
            factory = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise RecallError(f"embedder {name!r} cannot be imported: {exc}") from exc
    else:  # pragma: no cover - check_embedder_name refused it
        raise RecallError(f"unknown embedder {name!r}")
    embedder = factory()
    if not isinstance(embedder, Embedder):
        raise RecallError(f"embedder {name!r}: its factory returned {type(embedder).__name__}, "
                          "which lacks name, dims or embed(texts)")
    return embedder
