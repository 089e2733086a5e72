"""Exact (brute-force) dense top-k with Qdrant's scores, order and offset tie-break."""

from __future__ import annotations

import numpy as np

from pydrant.segment.vector_index.distance import (
    EUCLID,
    higher_is_better,
    scores,
    top_k,
    uint8_scores,
)

# Below this many candidates the exact L2 kernel is cheap enough to run directly.
_EUCLID_SHORTCUT_MIN = 2048


def score_rows(rows: np.ndarray, query: np.ndarray, distance: str) -> np.ndarray:
    """Scores of a prepared query against stored rows of any supported dtype."""
    if rows.dtype == np.uint8:
        return uint8_scores(query, rows, distance)
    return scores(query, rows, distance)


def gather_rows(matrix: np.ndarray, offsets: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Rows for `offsets`: a contiguous prefix view when the candidates cover most of it
    (returned with the offsets to pick from its scores), else a gathered copy."""
    if offsets.shape[0] == 0:
        return matrix[:0], None
    end = int(offsets[-1]) + 1
    if offsets.shape[0] * 2 >= end and end <= limit:
        return matrix[:end], offsets
    return matrix[offsets], None


def exact_search(
    matrix: np.ndarray,
    offsets: np.ndarray,
    query: np.ndarray,
    distance: str,
    k: int,
    sqnorms: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k of `offsets` (sorted, unique, all holding a vector) in `matrix` for a query
    already prepared for the storage (normalised for Cosine, cast for uint8).

    `sqnorms` (squared row norms, float32 rows only) lets Euclid preselect with one matrix
    product; the survivors are rescored with the exact kernel so reported distances are exact.
    """
    if k <= 0 or offsets.shape[0] == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
    if (
        distance == EUCLID
        and sqnorms is not None
        and matrix.dtype == np.float32
        and offsets.shape[0] > _EUCLID_SHORTCUT_MIN
    ):
        return _euclid_search(matrix, offsets, query, k, sqnorms)
    rows, pick = gather_rows(matrix, offsets, matrix.shape[0])
    s = score_rows(rows, query, distance)
    if pick is not None:
        s = s[pick]
    keys = -s if higher_is_better(distance) else s
    best = top_k(keys, offsets, k)
    return offsets[best], s[best].astype(np.float32, copy=False)


def _euclid_search(
    matrix: np.ndarray, offsets: np.ndarray, query: np.ndarray, k: int, sqnorms: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    q = np.asarray(query, dtype=np.float32)
    rows, pick = gather_rows(matrix, offsets, matrix.shape[0])
    dots = rows @ q
    if pick is not None:
        dots = dots[pick]
    qn = float(q @ q)
    sq = sqnorms[offsets]
    approx = sq - 2.0 * dots + np.float32(qn)
    kk = min(k, approx.shape[0])
    kth = np.partition(approx, kk - 1)[kk - 1]
    # The expansion loses ~1e-7 relative to the norms; widen the cut so no true top-k is lost.
    tol = 1e-5 * (float(sq.max()) + qn) + 1e-6
    pool = np.flatnonzero(approx <= kth + tol)
    pool_offsets = offsets[pool]
    exact = scores(q, matrix[pool_offsets], EUCLID)
    best = top_k(exact, pool_offsets, k)
    return pool_offsets[best], exact[best]
