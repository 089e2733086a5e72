"""Exact (brute-force) dense top-k with Qdrant's scores, order and offset tie-break."""

from __future__ import annotations

import numpy as np

from pydrant.segment.vector_index import parallel
from pydrant.segment.vector_index.distance import (
    COSINE,
    DOT,
    EUCLID,
    dot_scores,
    higher_is_better,
    scores,
    top_k,
    uint8_scores,
)

# Below this many candidates the exact L2 kernel is cheap enough to run directly.
_EUCLID_SHORTCUT_MIN = 2048
# Below this many candidates a search is scored on one thread (see exact_search_mask).
PARALLEL_MIN_CANDIDATES = 8192


def score_rows(rows: np.ndarray, query: np.ndarray, distance: str) -> np.ndarray:
    """Scores of a prepared query against stored rows of any supported dtype."""
    if rows.dtype == np.uint8:
        return uint8_scores(query, rows, distance)
    return scores(query, rows, distance)


def gathered_rows(matrix: np.ndarray, offsets: np.ndarray) -> np.ndarray | None:
    """A gathered copy of the rows at `offsets` (sorted), or None when reading a prefix of the
    matrix is better: the candidates cover most of it (then their rows are scored in place)."""
    if offsets.shape[0] == 0:
        return matrix[:0]
    end = int(offsets[-1]) + 1
    if offsets.shape[0] * 2 >= end:
        return None
    rows: np.ndarray = matrix[offsets]
    return rows


def gather_rows(matrix: np.ndarray, offsets: np.ndarray, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Rows for `offsets`: `rows` when the caller has gathered them, a gathered copy, or a
    contiguous prefix view when the candidates cover most of it (returned with the offsets to
    pick from its scores)."""
    if rows is None:
        rows = gathered_rows(matrix, offsets)
    if rows is None:
        return matrix[: int(offsets[-1]) + 1], offsets
    return rows, None


def exact_search(
    matrix: np.ndarray,
    offsets: np.ndarray,
    query: np.ndarray,
    distance: str,
    k: int,
    sqnorms: np.ndarray | None = None,
    rows: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k of `offsets` (sorted, unique, all holding a vector) in `matrix` for a query
    already prepared for the storage (normalised for Cosine, cast for uint8). `rows` are the
    offsets' rows when the caller has them gathered already (`gathered_rows`).

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
        return _euclid_search(matrix, offsets, query, k, sqnorms, rows)
    scored, pick = gather_rows(matrix, offsets, rows)
    s = score_rows(scored, query, distance)
    if pick is not None:
        s = s[pick]
    keys = -s if higher_is_better(distance) else s
    best = top_k(keys, offsets, k)
    return offsets[best], s[best].astype(np.float32, copy=False)


def _euclid_search(
    matrix: np.ndarray, offsets: np.ndarray, query: np.ndarray, k: int, sqnorms: np.ndarray,
    rows: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    q = np.asarray(query, dtype=np.float32)
    scored, pick = gather_rows(matrix, offsets, rows)
    dots = scored @ q
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


def exact_search_mask(
    matrix: np.ndarray,
    mask: np.ndarray,
    query: np.ndarray,
    distance: str,
    k: int,
    sqnorms: np.ndarray | None = None,
    count: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """`exact_search` over the offsets where `mask` (bool, no longer than `matrix`) is True,
    scanned in row blocks across the cores: each block keeps its own exact top-k (ties by
    offset), and the merge of those is the exact top-k of the whole. `count` is the mask's
    popcount when the caller knows it.

    Few candidates (a selective filter) are gathered and scored on the calling thread: handing
    half of a 1000-row gather to another thread costs more than the gather."""
    n = mask.shape[0]
    if count is None:
        count = int(np.count_nonzero(mask))
    if count < PARALLEL_MIN_CANDIDATES:
        return exact_search(matrix, np.flatnonzero(mask), query, distance, k, sqnorms)
    direct = distance in (COSINE, DOT) and matrix.dtype == np.float32

    def block(lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        part = mask[lo:hi]
        count = int(np.count_nonzero(part))
        if direct and count * 3 >= hi - lo:
            # Mostly candidates: score the contiguous rows, no gather; others get +inf keys.
            found = dot_scores(matrix[lo:hi], query)
            keys = -found
            if count < hi - lo:
                keys[~part] = np.inf
            best = _top_positions(keys, min(k, count))
            return best + lo, found[best]
        sq = sqnorms[lo:hi] if sqnorms is not None else None
        offsets, found = exact_search(matrix[lo:hi], np.flatnonzero(part), query, distance, k, sq)
        return offsets + lo, found

    parts = parallel.map_blocks(block, n)
    if len(parts) == 1:
        return parts[0]
    offsets = np.concatenate([p[0] for p in parts])
    found = np.concatenate([p[1] for p in parts])
    keys = -found if higher_is_better(distance) else found
    best = top_k(keys, offsets, k)
    return offsets[best], found[best]


def _top_positions(keys: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k smallest keys, ties by position (`top_k` with offsets = positions)."""
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    if k < keys.shape[0]:
        kth = np.partition(keys, k - 1)[k - 1]
        pool = np.flatnonzero(keys <= kth)
    else:
        pool = np.arange(keys.shape[0])
    order = np.lexsort((pool, keys[pool]))
    return pool[order[:k]]
