"""Distance helpers: normalisation and Qdrant's score functions for one query over many rows."""

from __future__ import annotations

import math
from typing import Final

import numpy as np

from pydrant.errors import BadInput

COSINE: Final = "Cosine"
EUCLID: Final = "Euclid"
DOT: Final = "Dot"
MANHATTAN: Final = "Manhattan"
DISTANCES: Final = (COSINE, EUCLID, DOT, MANHATTAN)

# Rows scored per block for Euclid/Manhattan so the (block, dim) temporary stays small.
_BLOCK_ELEMENTS: Final = 1 << 22


def check_distance(distance: object) -> str:
    """Return `distance` if it is one of Qdrant's four names, else raise BadInput."""
    if distance not in DISTANCES:
        raise BadInput(f"distance: unknown distance {distance!r}, expected one of {list(DISTANCES)}")
    return str(distance)


def kmeans_safe(rows: np.ndarray) -> bool:
    """Whether faiss's k-means can be given these float32 rows: every squared norm is finite.
    Past that (|x| around 1e19) its distances overflow, and faiss releases up to 1.12 crash the
    process in `Kmeans.train`; callers then skip the clustering, which only speeds things up."""
    with np.errstate(over="ignore", invalid="ignore"):
        return bool(np.isfinite(np.einsum("ij,ij->i", rows, rows)).all())


def higher_is_better(distance: str) -> bool:
    """Cosine and Dot rank by descending score; Euclid and Manhattan by ascending distance."""
    return distance in (COSINE, DOT)


def normalize_rows(vectors: np.ndarray) -> np.ndarray:
    """Unit-normalise each row in float32; zero rows stay zero (Qdrant leaves them as they are)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        # One query: the same float32 sum of squares, without the broadcasting machinery.
        norm = np.sqrt(np.add.reduce(vectors * vectors))
        return vectors / norm if norm > 0 else vectors.copy()
    # What np.linalg.norm(axis=-1) computes, without its per-call dispatch
    norms = np.sqrt(np.add.reduce(vectors * vectors, axis=-1, keepdims=True))
    safe = np.where(norms > 0, norms, np.float32(1.0))
    return (vectors / safe).astype(np.float32, copy=False)


def prepare_query(query: np.ndarray, distance: str) -> np.ndarray:
    """The query as it is compared to stored rows: Cosine queries are normalised like inserts."""
    query = np.asarray(query, dtype=np.float32)
    return normalize_rows(query) if distance == COSINE else query


def scores(query: np.ndarray, rows: np.ndarray, distance: str) -> np.ndarray:
    """Score `query` (dim,) against `rows` (n, dim) as Qdrant reports it, in float32.

    Cosine rows and query must already be normalised (see `prepare_query`); Cosine and Dot
    give the dot product, Euclid the L2 distance and Manhattan the L1 distance.
    """
    query = np.asarray(query, dtype=np.float32)
    if rows.dtype != np.float32:
        rows = rows.astype(np.float32)
    if distance in (COSINE, DOT):
        return dot_scores(rows, query)
    n, dim = rows.shape
    out = np.empty(n, dtype=np.float32)
    step = max(1, _BLOCK_ELEMENTS // max(dim, 1))
    for start in range(0, n, step):
        diff = rows[start : start + step] - query
        if distance == EUCLID:
            out[start : start + step] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
        else:
            out[start : start + step] = np.abs(diff).sum(axis=1)
    return out


# OpenBLAS's sgemv scores rows in groups of this many; a last, partial group goes through
# another loop that can round differently in the last bit.
_GEMV_GROUP: Final = 4
# Below this many rows the whole input is copied once into a padded block.
_PAD_WHOLE_BELOW: Final = 256


def dot_scores(rows: np.ndarray, query: np.ndarray) -> np.ndarray:
    """`rows @ query` (float32) with every row scored by BLAS's full-group kernel: a row gets
    the same bits whether it is scored in the whole matrix, in a block of it or gathered
    among a few others (HNSW rescoring, pruned and filtered scans), so every search path
    reports one score per point and ranks near-ties alike."""
    n = rows.shape[0]
    tail = n % _GEMV_GROUP
    if tail == 0:
        return np.asarray(rows @ query, dtype=np.float32)
    whole = n - tail
    if whole < _PAD_WHOLE_BELOW:
        # A few rows (an HNSW hit list): one padded copy and one product.
        padded = np.zeros((whole + _GEMV_GROUP, rows.shape[1]), dtype=np.float32)
        padded[:n] = rows
        return np.asarray(padded @ query, dtype=np.float32)[:n]
    out = np.empty(n, dtype=np.float32)
    out[:whole] = rows[:whole] @ query
    padded = np.zeros((_GEMV_GROUP, rows.shape[1]), dtype=np.float32)
    padded[:tail] = rows[whole:]
    out[whole:] = (padded @ query)[:tail]
    return out


def gathered_dot_scores(matrix: np.ndarray, offsets: np.ndarray, query: np.ndarray) -> np.ndarray:
    """`dot_scores(matrix[offsets], query)` for a few rows (an HNSW hit list), gathered
    straight into the padded block: the same bits, one copy and one allocation fewer."""
    n = offsets.shape[0]
    padded = np.zeros((-(-n // _GEMV_GROUP) * _GEMV_GROUP, matrix.shape[1]), dtype=np.float32)
    matrix.take(offsets, axis=0, out=padded[:n])  # the method: np.take's Python wrapper costs as much
    return np.asarray(padded @ query, dtype=np.float32)[:n]


def uint8_scores(query: np.ndarray, rows: np.ndarray, distance: str) -> np.ndarray:
    """Qdrant's byte-vector scores: Cosine is computed on the raw bytes, not pre-normalised.

    `query` and `rows` hold values already cast to uint8 (as Qdrant casts the query too).
    """
    q = np.asarray(query, dtype=np.float32)
    r = rows.astype(np.float32)
    if distance != COSINE:
        return scores(q, r, distance)
    dots = r @ q
    norms = np.einsum("ij,ij->i", r, r) * np.float32(q @ q)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = dots / np.sqrt(norms)
    # A zero vector on either side has no direction: score 0 as Qdrant's reference does.
    return np.where(norms > 0, out, np.float32(0.0)).astype(np.float32)


def to_uint8(vectors: np.ndarray) -> np.ndarray:
    """Cast floats to bytes the way Qdrant does (Rust `as u8`: truncate, saturate, NaN -> 0)."""
    v = np.nan_to_num(np.asarray(vectors, dtype=np.float32), nan=0.0)
    return np.clip(np.trunc(v), 0, 255).astype(np.uint8)


def strictly_best_first(scores: np.ndarray, higher: bool) -> bool:
    """Whether `scores` are strictly best first. Any NaN makes this False (it compares
    false), so True also means no NaN and no tie."""
    values = scores.tolist()  # a hit list is short: comparing floats beats three numpy calls
    if len(values) < 2:
        return not values or not math.isnan(values[0])
    pairs = zip(values, values[1:])
    return all(a > b for a, b in pairs) if higher else all(a < b for a, b in pairs)


def top_k(keys: np.ndarray, offsets: np.ndarray, k: int) -> np.ndarray:
    """Indices of the `k` smallest `keys`, ties broken by ascending offset (stable, exact).

    Callers pass negated scores for higher-is-better distances.
    """
    n = keys.shape[0]
    if k <= 0 or n == 0:
        return np.empty(0, dtype=np.int64)
    if k < n:
        kth = np.partition(keys, k - 1)[k - 1]
        # Keep every key tied with the k-th so the offset tie-break is decided below, not here.
        pool = np.flatnonzero(keys <= kth)
    else:
        pool = np.arange(n)
    order = np.lexsort((offsets[pool], keys[pool]))
    return pool[order[:k]]
