"""HNSW index over dense vectors, backed by faiss, with filtering applied during traversal."""

from __future__ import annotations

import math
import threading
from typing import Any, Callable

import faiss
import numpy as np

from pydrant.segment.vector_index.distance import (
    COSINE,
    DOT,
    EUCLID,
    gathered_dot_scores,
    higher_is_better,
    strictly_best_first,
    top_k,
)
from pydrant.segment.vector_index.exact import score_rows
from pydrant.segment.vectors.base import CandidateMask

DEFAULT_M = 16
DEFAULT_EF_CONSTRUCT = 100
# Filtered searches widen the beam by sqrt(1/selectivity), up to this factor. faiss explores
# `ef` graph nodes whether or not they match, so a filter thins the matching ones out; on
# embedding-like data (bench/data.py) this keeps recall@10 >= 0.95 down to ~2% selectivity,
# where 1/selectivity paid 2-3x the time at 30% for no recall gained. Below
# full_scan_threshold matching points the planner scores exactly instead.
MAX_EF_WIDENING = 32
# Rows added to a graph per faiss call: a stop request waits for at most one chunk.
BUILD_CHUNK_ROWS = 16_384
INSERTION_SEED = 0  # the shuffled insertion order is the same on every build of the same rows


class BuildCancelled(Exception):
    """An index build was stopped (the collection is closing); the segment stays as it was."""


_buffers = threading.local()


def _result_buffers(k: int) -> tuple[np.ndarray, np.ndarray, Any, Any]:
    """This thread's (distances, labels) arrays for a one-query top-k, with their faiss
    pointers: made once per (thread, k) instead of twice per search."""
    cache: dict[int, tuple[np.ndarray, np.ndarray, Any, Any]] | None = getattr(_buffers, "by_k", None)
    if cache is None:
        cache = _buffers.by_k = {}
    entry = cache.get(k)
    if entry is None:
        dist = np.empty(k, dtype=np.float32)
        labels = np.empty(k, dtype=np.int64)
        entry = (dist, labels, faiss.swig_ptr(dist), faiss.swig_ptr(labels))
        if len(cache) < 32:
            cache[k] = entry
    return entry


def supports(distance: str) -> bool:
    """faiss has no L1 HNSW graph; Manhattan is always searched exactly."""
    return distance in (COSINE, DOT, EUCLID)


class HnswIndex:
    """A faiss IndexHNSWFlat whose labels 0..n-1 map to segment offsets via `offsets`.

    Scores are recomputed on the stored rows for the (few) hits, so they are identical to
    what exact search reports; faiss only chooses the candidates.
    """

    def __init__(self, index: Any, offsets: np.ndarray, distance: str) -> None:
        self.index = index  # faiss.IndexHNSWFlat (faiss ships no type stubs)
        # Qdrant's search `ef` defaults to the build's ef_construct.
        self.default_ef = int(index.hnsw.efConstruction)
        self.offsets = np.asarray(offsets, dtype=np.int64)
        self.distance = distance
        self._params_by_ef: dict[int, Any] = {}
        # Labels are given in ascending offset order; when they are exactly 0..n-1 (a freshly
        # built segment) a mask over offsets is already a mask over labels.
        self._end = int(self.offsets[-1]) + 1 if self.offsets.shape[0] else 0
        self._identity = self._end == self.offsets.shape[0] and bool(np.all(self.offsets[1:] > self.offsets[:-1]))
        self._dot = distance in (COSINE, DOT)

    @property
    def size(self) -> int:
        return int(self.offsets.shape[0])

    @classmethod
    def build(
        cls,
        vectors: np.ndarray,
        offsets: np.ndarray,
        distance: str,
        m: int | None = None,
        ef_construct: int | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> HnswIndex:
        """Build over `vectors` (n, dim), already preprocessed as stored (Cosine normalised).

        Rows go in by chunks, and `cancelled()` is asked between them: a graph over a million
        points takes minutes, and a server shutting down must not wait for it (BuildCancelled)."""
        if not supports(distance):
            raise ValueError(f"HNSW does not support distance {distance}; use exact search")
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        dim = vectors.shape[1]
        metric = faiss.METRIC_L2 if distance == EUCLID else faiss.METRIC_INNER_PRODUCT
        index = faiss.IndexHNSWFlat(dim, int(m or DEFAULT_M), metric)
        index.hnsw.efConstruction = int(ef_construct or DEFAULT_EF_CONSTRUCT)
        # Rows go in shuffled, then the graph is renumbered back to row order. The optimizer
        # groups rows by cluster (locality.py), and a graph grown cluster by cluster links
        # clusters poorly (recall@10 1.000 -> 0.974 at 100k points); faiss shuffles only
        # within one add call, and rows are added by chunks.
        insertion = np.random.default_rng(INSERTION_SEED).permutation(vectors.shape[0])
        for start in range(0, vectors.shape[0], BUILD_CHUNK_ROWS):
            if cancelled is not None and cancelled():
                raise BuildCancelled(f"graph build stopped after {start} of {vectors.shape[0]} vectors")
            index.add(vectors[insertion[start : start + BUILD_CHUNK_ROWS]])
        if vectors.shape[0]:
            index.permute_entries(np.argsort(insertion))  # label i is row i again
        return cls(index, offsets, distance)

    def search(
        self,
        query: np.ndarray,
        k: int,
        ef: int | None,
        allowed: np.ndarray | CandidateMask | None,
        rows: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Approximate top-k offsets and scores for a query prepared like stored vectors.

        `allowed` is a bool mask over offsets (or a CandidateMask); it is applied inside the
        graph traversal (faiss IDSelectorBitmap), never after it. `rows` (the storage's matrix indexed by
        offset) lets scores be recomputed exactly; without it faiss's scores are converted.
        """
        if k <= 0 or self.size == 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        kk = min(k, self.size)
        # A beam wider than the graph explores nothing more (and faiss takes a 32-bit int).
        ef = min(max(int(ef or self.default_ef), kk), self.size)
        bitmap = None
        if isinstance(allowed, CandidateMask) and allowed.complete and allowed.count == self.size:
            allowed = None  # every label is a candidate: no selector, no bitmap
        if allowed is None:
            params = self._plain_params(ef)
        else:
            filtered = self._filtered_params(allowed, ef)
            if filtered is None:
                return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
            params, bitmap = filtered
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(-1)
        dist, labels, dist_ptr, labels_ptr = _result_buffers(kk)
        # faiss's Python `search` wrapper re-validates and allocates per call; one query does
        # not need it (search_c is the SWIG method the wrapper itself calls).
        self.index.search_c(1, faiss.swig_ptr(q), kk, dist_ptr, labels_ptr, params)
        del bitmap
        if rows is not None and self._identity and self._dot and rows.dtype == np.float32 and labels[kk - 1] >= 0:
            return self._rescored_by_dot(labels.copy(), rows, q, k)  # a copy: the buffers are reused
        found = labels[labels >= 0]  # a copy: the buffers are reused by the next search
        offsets = found if self._identity else self.offsets[found]
        if rows is not None:
            s = score_rows(rows[offsets], q, self.distance)
        else:
            raw = dist[labels >= 0]
            s = np.sqrt(np.maximum(raw, 0)).astype(np.float32) if self.distance == EUCLID else raw.astype(np.float32)
        keys = -s if higher_is_better(self.distance) else s
        order = top_k(keys, offsets, k)
        return offsets[order], s[order]

    @staticmethod
    def _rescored_by_dot(offsets: np.ndarray, rows: np.ndarray, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The usual case of the rescoring above, with fewer numpy calls: every hit found,
        labels are offsets, a dot score (higher is better). faiss's order almost always
        survives the rescoring; only then is the tie-breaking sort skipped."""
        s = gathered_dot_scores(rows, offsets, q)
        if strictly_best_first(s, True):
            return offsets, s
        order = top_k(-s, offsets, k)
        return offsets[order], s[order]

    def _plain_params(self, ef: int) -> Any:
        """Search parameters without a selector, made once per ef: faiss only reads them, so
        concurrent searches can share one object (building it through SWIG costs ~10 us)."""
        params = self._params_by_ef.get(ef)
        if params is None:
            params = faiss.SearchParametersHNSW()  # type: ignore[attr-defined]
            params.efSearch = ef
            if len(self._params_by_ef) < 64:
                self._params_by_ef[ef] = params
        return params

    def _filtered_params(self, allowed: np.ndarray | CandidateMask, ef: int) -> tuple[Any, np.ndarray] | None:
        """Search parameters with the label bitmap as selector and `ef` widened for the
        filter's selectivity (and the bitmap, which the selector points into: it must stay
        alive while they are used), or None when no label is allowed. Kept on a CandidateMask
        per ef: a cached filter's next search reuses them (faiss only reads them)."""
        key = ("hnsw-params", id(self), ef)
        if isinstance(allowed, CandidateMask):
            cached = allowed.derived.get(key)
            if cached is not None:
                return cached  # type: ignore[no-any-return]
        bitmap, count = self._bitmap(allowed)
        if count == 0:
            return None
        widen = min(float(MAX_EF_WIDENING), math.sqrt(self.size / count))
        params = faiss.SearchParametersHNSW()  # type: ignore[attr-defined]  # missing from faiss's stub
        params.sel = faiss.IDSelectorBitmap(self.size, faiss.swig_ptr(bitmap))
        params.efSearch = min(max(int(ef * widen), ef), self.size)
        if isinstance(allowed, CandidateMask) and len(allowed.derived) < 32:
            allowed.derived[key] = (params, bitmap)
        return params, bitmap

    def _bitmap(self, allowed: np.ndarray | CandidateMask) -> tuple[np.ndarray, int]:
        """(packed label bitmap, allowed label count) for a bool mask over offsets; kept on a
        CandidateMask so a cached unfiltered mask packs it once."""
        key = ("hnsw-bitmap", id(self))
        if isinstance(allowed, CandidateMask):
            cached = allowed.derived.get(key)
            if cached is not None:
                return cached  # type: ignore[no-any-return]
            mask = allowed.mask
        else:
            mask = np.asarray(allowed, dtype=bool)
        if mask.shape[0] < self._end:
            mask = np.concatenate([mask, np.zeros(self._end - mask.shape[0], dtype=bool)])
        labels_allowed = mask[: self._end] if self._identity else mask[self.offsets]
        result = (np.packbits(labels_allowed, bitorder="little"), int(np.count_nonzero(labels_allowed)))
        if isinstance(allowed, CandidateMask):
            allowed.derived[key] = result
        return result

    def stored_rows(self) -> np.ndarray | None:
        """A read-only (size, dim) float32 view of the rows faiss stores for the graph, valid
        while this object lives (the caller must keep a reference to it), or None if the
        storage is not a flat float32 one."""
        storage = faiss.downcast_index(self.index.storage)
        if not isinstance(storage, faiss.IndexFlat) or self.size == 0:
            return None
        dim = int(storage.d)
        view = faiss.rev_swig_ptr(storage.get_xb(), self.size * dim).reshape(self.size, dim)
        view.flags.writeable = False
        return view

    def to_bytes(self) -> tuple[memoryview, np.ndarray]:
        """The faiss graph serialised (a view of faiss's buffer, not copied again), and the
        label -> offset map to store beside it."""
        return faiss.serialize_index(self.index).data, self.offsets

    @classmethod
    def from_bytes(cls, blob: bytes, offsets: np.ndarray, distance: str) -> HnswIndex:
        index = faiss.deserialize_index(np.frombuffer(blob, dtype=np.uint8))
        return cls(index, offsets, distance)

