"""An in-memory vector index: a float32 matrix searched by brute-force cosine.

Rows are L2-normalised, so a dot product is the cosine. A search is one
matrix-vector product and an ``argpartition`` for the top k: at 100,000
rows of 384 dimensions that is about 150 MB scanned per query, a few
milliseconds on one core. Rows are appended into spare capacity and removed
by moving the last row into the hole.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

KINDS = ("fact", "note")


class VectorIndex:
    """Ids, kinds and unit vectors, searchable by cosine similarity."""

    def __init__(self, dims: int) -> None:
        self.dims = dims
        self._matrix = np.zeros((0, dims), dtype=np.float32)
        self._ids = np.zeros(0, dtype=np.int64)
        self._kinds = np.zeros(0, dtype=np.int8)
        self._size = 0
        self._row: dict[int, int] = {}

    def __len__(self) -> int:
        return self._size

    def __contains__(self, memory_id: object) -> bool:
        return memory_id in self._row

    @property
    def ids(self) -> npt.NDArray[np.int64]:
        """The ids in the index (in row order)."""
        return self._ids[: self._size]

    def _reserve(self, extra: int) -> None:
        needed = self._size + extra
        if needed <= len(self._ids):
            return
        capacity = max(needed, 2 * len(self._ids), 1024)
        matrix = np.zeros((capacity, self.dims), dtype=np.float32)
        matrix[: self._size] = self._matrix[: self._size]
        ids = np.zeros(capacity, dtype=np.int64)
        ids[: self._size] = self._ids[: self._size]
        kinds = np.zeros(capacity, dtype=np.int8)
        kinds[: self._size] = self._kinds[: self._size]
        self._matrix, self._ids, self._kinds = matrix, ids, kinds

    def add(self, ids: list[int], kinds: list[str], vectors: npt.NDArray[np.float32]) -> None:
        """Add (or replace) rows."""
        for memory_id in ids:
            if memory_id in self._row:
                self.remove([memory_id])
        self._reserve(len(ids))
        start, end = self._size, self._size + len(ids)
        self._matrix[start:end] = vectors
        self._ids[start:end] = ids
        self._kinds[start:end] = [KINDS.index(k) for k in kinds]
        for offset, memory_id in enumerate(ids):
            self._row[memory_id] = start + offset
        self._size = end

    def remove(self, ids: list[int]) -> None:
        """Drop rows by id (unknown ids are ignored)."""
        for memory_id in ids:
            row = self._row.pop(memory_id, None)
            if row is None:
                continue
            last = self._size - 1
            if row != last:
                moved = int(self._ids[last])
                self._matrix[row] = self._matrix[last]
                self._ids[row] = moved
                self._kinds[row] = self._kinds[last]
                self._row[moved] = row
            self._size = last

    def set_kind(self, memory_id: int, kind: str) -> None:
        """Change the kind of one row."""
        self._kinds[self._row[memory_id]] = KINDS.index(kind)

    def search(self, query: npt.NDArray[np.float32], k: int, *, kinds: Any = None,
               allowed: npt.NDArray[np.int64] | None = None) -> list[tuple[int, float]]:
        """The ``k`` most similar rows as ``(id, cosine)``, best first.

        ``kinds`` limits the search to some kinds; ``allowed`` to some ids.
        """
        if self._size == 0 or k <= 0:
            return []
        scores = self._matrix[: self._size] @ query.astype(np.float32).reshape(-1)
        mask = None
        if kinds is not None:
            mask = np.isin(self._kinds[: self._size], [KINDS.index(kind) for kind in kinds])
        if allowed is not None:
            inside = np.isin(self._ids[: self._size], allowed)
            mask = inside if mask is None else mask & inside
        if mask is not None:
            scores = np.where(mask, scores, -np.inf)
        k = min(k, self._size)
        top = np.argpartition(-scores, k - 1)[:k] if k < self._size else np.arange(self._size)
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(self._ids[i]), float(scores[i])) for i in top if np.isfinite(scores[i])]
