"""Distance helpers: normalisation and Qdrant's score functions for one query over many rows."""

from __future__ import annotations

import math
from typing import Final, Sequence

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


def json_floats(values: np.ndarray) -> np.ndarray:
    """float64 copies of float32 values that print as the shortest round-trip decimal.

    Qdrant serialises f32 with the shortest repr (0.1 stays 0.1); a plain float32 -> float64
    cast would print 0.10000000149011612. Try 6..9 significant digits and keep the first
    rounding that maps back to the same float32.
    """
    x32 = np.asarray(values, dtype=np.float32)
    if x32.size <= _SCALAR_LIMIT:
        # A top-k of scores is a handful of values: there numpy's fixed cost per call (~0.1 ms)
        # dwarfs the work, and formatting value by value is several times cheaper.
        flat = _json_float_list(x32.ravel())
        return np.array(flat, dtype=np.float64).reshape(x32.shape)
    return _json_floats_vectorised(x32)


def json_float_list(values: Sequence[float]) -> list[float]:
    """`json_floats` of float32 values given and returned as a list (a hit list's scores),
    without the array round trip of the few-values case."""
    if len(values) <= _SCALAR_LIMIT:
        return _json_float_list(values)
    return _json_floats_vectorised(np.asarray(values, dtype=np.float32)).tolist()  # type: ignore[no-any-return]


# Up to this many values json_floats takes the per-value path (the crossover, measured).
_SCALAR_LIMIT: Final = 48
# The powers of ten of both paths, from the same numpy call (all exact doubles up to 1e22).
_POW10: Final[list[float]] = np.power(10.0, np.arange(23)).tolist()


def _json_float_list(values: np.ndarray | Sequence[float]) -> list[float]:
    """`_json_floats_vectorised` value by value: numpy's shortest float32 repr (Dragon4),
    parsed back. Parsing the shortest decimal gives the double nearest to it, which is what
    the vectorised rounding computes."""
    return [float(str(x)) for x in np.asarray(values, dtype=np.float32)]


def _shortest(x: float) -> float:
    """The double nearest to the shortest decimal that reads back as float32 `x` (numpy's
    float32 repr): for the rare values the digit search above does not settle."""
    return float(str(np.float32(x)))


def _json_floats_vectorised(x32: np.ndarray) -> np.ndarray:
    """json_floats for many values at once (float32 array in, float64 array out, same shape).
    Works on the flattened values: the fallback below indexes them one by one."""
    shape = x32.shape
    x32 = x32.reshape(-1)
    return _json_floats_flat(x32).reshape(shape)


def _json_floats_flat(x32: np.ndarray) -> np.ndarray:
    x = x32.astype(np.float64)
    out = x.copy()
    finite = np.isfinite(x) & (x != 0)
    if not finite.any():
        return out
    absx = np.abs(np.where(finite, x, 1.0))
    exp10 = np.floor(np.log10(absx)).astype(np.int64)
    # Outside this range powers of ten are not exact doubles; keep the plain cast there.
    usable = finite & (exp10 > -14) & (exp10 < 14)
    todo = usable.copy()
    for digits in (6, 7, 8, 9):
        if not todo.any():
            break
        scale_exp = digits - 1 - exp10
        pos = scale_exp >= 0
        p = np.power(10.0, np.abs(scale_exp))
        mant = np.where(pos, np.round(x * p), np.round(x / p))
        cand = np.where(pos, mant / p, mant * p)
        ok = todo & (cand.astype(np.float32) == x32)
        out[ok] = cand[ok]
        todo &= ~ok
    rest = np.flatnonzero(todo | (finite & ~usable))
    if rest.shape[0]:
        out[rest] = [_shortest(v) for v in x[rest].tolist()]
    return out
