"""Maximal marginal relevance (a nearest query's `mmr`): nearest candidates re-ranked one pick
at a time, each pick the candidate best balancing similarity to the query against similarity
to the points already picked.

Similarities are Qdrant's internal scores, higher is better: the dot product for Cosine (on
unit vectors) and Dot, the negated squared distance for Euclid, the negated L1 distance for
Manhattan; max_sim sums for multivectors; the dot product of sparse vectors. Points keep the
score of the nearest search that found them. Ties resolve as qdrant-client's local mode (and
Qdrant) resolve them: the first pick is the last best candidate, a picked candidate's slot
takes the last pending one, and each later pick is the last best in that order.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from pydrant.collection.config import VectorSpec
from pydrant.segment.vector_index.distance import COSINE, EUCLID, MANHATTAN, normalize_rows

if TYPE_CHECKING:
    from pydrant.collection.search import Hit

DEFAULT_DIVERSITY = 0.5
MAX_MMR_CANDIDATES = 16_384  # the contract's bound on candidates_limit


def rerank(spec: VectorSpec, query: Any, candidates: list[Hit], diversity: float, k: int) -> list[Hit]:
    """The first `k` picks among `candidates` (hits of the nearest search for `query`)."""
    if not candidates or k <= 0:
        return []
    space = _space(spec, query, candidates)
    relevance = space.to_query()
    weight = 1.0 - diversity  # of relevance; `diversity` weighs the similarity to picked points
    first, pending = _swap_remove(np.arange(len(candidates)), _last_best(relevance))
    picked = [first]
    closest = np.full(len(candidates), -np.inf)  # each candidate's best similarity to a pick
    while len(picked) < k and pending.shape[0]:
        closest[pending] = np.maximum(closest[pending], space.to_point(pending, picked[-1]))
        scores = weight * relevance[pending] - (1.0 - weight) * closest[pending]
        if np.all(np.isneginf(scores)):
            break
        chosen, pending = _swap_remove(pending, _last_best(scores))
        picked.append(chosen)
    return [candidates[i] for i in picked]


def _last_best(values: np.ndarray) -> int:
    """Position of the last maximum (Rust's max_by_key; numpy's argmax gives the first)."""
    return int(values.shape[0] - 1 - np.argmax(values[::-1]))


def _swap_remove(pending: np.ndarray, position: int) -> tuple[int, np.ndarray]:
    """(the candidate at `position`, the pending ones without it): its slot goes to the last
    one, as IndexSet's swap_remove, which decides the order ties are visited in."""
    chosen = int(pending[position])
    pending[position] = pending[-1]
    return chosen, pending[:-1]


# ---- similarity spaces -----------------------------------------------------------------------


class _Space(ABC):
    @abstractmethod
    def to_query(self) -> np.ndarray:
        """Similarity of every candidate to the query (float64)."""

    @abstractmethod
    def to_point(self, rows: np.ndarray, other: int) -> np.ndarray:
        """Similarity of candidates `rows` to candidate `other` (float64)."""


def _space(spec: VectorSpec, query: Any, candidates: list[Hit]) -> _Space:
    distance = spec.distance
    if spec.kind == "dense":
        rows = np.zeros((len(candidates), spec.size), dtype=np.float32)
        for positions, storage, offsets in _by_segment(spec.name, candidates):
            rows[positions] = storage.get_raw(offsets)[1]
        return _DenseSpace(distance, _unit_if_cosine(np.asarray(query, dtype=np.float32), distance), _unit_if_cosine(rows, distance))
    stored: list[Any] = [None] * len(candidates)
    for positions, storage, offsets in _by_segment(spec.name, candidates):
        for position, value in zip(positions, storage.get_json(offsets)):
            stored[position] = value
    if spec.kind == "sparse":
        return _SparseSpace(query, stored)
    return _MultiSpace(distance, _unit_if_cosine(np.asarray(query, dtype=np.float32), distance),
                       [_unit_if_cosine(np.asarray(m, dtype=np.float32), distance) for m in stored])


def _by_segment(name: str, candidates: list[Hit]) -> list[tuple[list[int], Any, np.ndarray]]:
    """(positions in `candidates`, storage of vector `name`, their offsets) per segment."""
    groups: dict[int, list[int]] = {}
    for position, hit in enumerate(candidates):
        groups.setdefault(id(hit.segment), []).append(position)
    return [
        (positions, candidates[positions[0]].segment.vectors[name],
         np.asarray([candidates[p].offset for p in positions], dtype=np.int64))
        for positions in groups.values()
    ]


def _unit_if_cosine(vectors: np.ndarray, distance: str) -> np.ndarray:
    return normalize_rows(vectors) if distance == COSINE else vectors


def _row_similarity(distance: str, rows: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """Similarity of each row to one vector, in float32 (as stored vectors are scored)."""
    if distance == EUCLID:
        diff = rows - vector
        similarity: np.ndarray = -np.einsum("ij,ij->i", diff, diff)
    elif distance == MANHATTAN:
        similarity = -np.abs(rows - vector).sum(axis=1, dtype=np.float32)
    else:
        similarity = rows @ vector
    return similarity


class _DenseSpace(_Space):
    def __init__(self, distance: str, query: np.ndarray, rows: np.ndarray) -> None:
        self.distance, self.query, self.rows = distance, query.reshape(-1), rows

    def to_query(self) -> np.ndarray:
        return _row_similarity(self.distance, self.rows, self.query).astype(np.float64)

    def to_point(self, rows: np.ndarray, other: int) -> np.ndarray:
        # Scoring every row and keeping some is cheaper than gathering the pending rows first.
        similarity: np.ndarray = _row_similarity(self.distance, self.rows, self.rows[other])[rows]
        return similarity.astype(np.float64)


class _MultiSpace(_Space):
    """max_sim: for each row of the querying matrix, its best row of the other, summed."""

    def __init__(self, distance: str, query: np.ndarray, matrices: Sequence[np.ndarray]) -> None:
        self.distance, self.query, self.matrices = distance, query, matrices

    def _max_sim(self, querying: np.ndarray, other: np.ndarray) -> float:
        best = np.stack([_row_similarity(self.distance, other, row) for row in querying]).max(axis=1)
        return float(best.sum(dtype=np.float32))

    def to_query(self) -> np.ndarray:
        return np.asarray([self._max_sim(self.query, m) for m in self.matrices])

    def to_point(self, rows: np.ndarray, other: int) -> np.ndarray:
        # The pending candidate queries the picked one, as local mode's similarity matrix does.
        return np.asarray([self._max_sim(self.matrices[r], self.matrices[other]) for r in rows.tolist()])


class _SparseSpace(_Space):
    def __init__(self, query: Any, stored: Sequence[dict[str, Any]]) -> None:
        self.query = _as_dict(query)
        self.vectors = [dict(zip(v["indices"], v["values"])) for v in stored]

    @staticmethod
    def _dot(a: dict[int, float], b: dict[int, float]) -> float:
        if len(b) < len(a):
            a, b = b, a
        return float(np.float32(sum(value * b[i] for i, value in a.items() if i in b)))

    def to_query(self) -> np.ndarray:
        return np.asarray([self._dot(self.query, v) for v in self.vectors])

    def to_point(self, rows: np.ndarray, other: int) -> np.ndarray:
        picked = self.vectors[other]
        return np.asarray([self._dot(self.vectors[r], picked) for r in rows.tolist()])


def _as_dict(query: Any) -> dict[int, float]:
    indices, values = query
    return dict(zip(np.asarray(indices).tolist(), np.asarray(values, dtype=np.float32).tolist()))
