"""Sparse vector storage with an inverted index (postings per dimension) for dot-product search."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path
from typing import Any, cast

import numpy as np

from pydrant.errors import BadInput
from pydrant.segment.float_json import json_floats
from pydrant.segment.vector_index.distance import top_k
from pydrant.segment.vectors.base import (
    CandidateMask,
    Candidates,
    PresenceMask,
    SearchResult,
    as_offsets,
    grown_capacity,
    npz_bytes,
    read_npz,
    write_file,
)

# Recently written points are scanned linearly until there are this many (or a tenth of the
# indexed ones); then they are merged into the sorted postings in one rebuild.
_DELTA_MIN = 4096

SparseVector = tuple[np.ndarray, np.ndarray]


def compute_idf(df: np.ndarray, n_docs: int) -> np.ndarray:
    """Qdrant's IDF: ln((N - df + 0.5) / (df + 0.5) + 1), per dimension."""
    df = np.asarray(df, dtype=np.float64)
    return np.log((n_docs - df + 0.5) / (df + 0.5) + 1.0)


def canonical(indices: Any, values: Any) -> SparseVector:
    """Indices as sorted unique uint32 with float32 values (a repeated index keeps its last value)."""
    idx = np.asarray(indices, dtype=np.int64).reshape(-1)
    val = np.asarray(values, dtype=np.float32).reshape(-1)
    if idx.shape[0] != val.shape[0]:
        raise BadInput("sparse vector: indices and values must have the same length")
    if idx.shape[0] and (idx.min() < 0 or idx.max() > 0xFFFFFFFF):
        raise BadInput("sparse vector: indices must be unsigned 32-bit integers")
    # Reverse first so np.unique's first occurrence is the last one given.
    uniq, first = np.unique(idx[::-1], return_index=True)
    return uniq.astype(np.uint32), val[::-1][first]


def canonical_batch(vectors: list[Any]) -> list[SparseVector]:
    """`canonical` for many vectors at once: one sort over the concatenation instead of one
    per vector (ingest of 100k points is dominated by this otherwise)."""
    if not vectors:
        return []
    idx_parts = [np.asarray(i, dtype=np.int64).reshape(-1) for i, _ in vectors]
    val_parts = [np.asarray(v, dtype=np.float32).reshape(-1) for _, v in vectors]
    lens = np.fromiter((a.shape[0] for a in idx_parts), dtype=np.int64, count=len(idx_parts))
    if any(a.shape[0] != b.shape[0] for a, b in zip(idx_parts, val_parts)):
        raise BadInput("sparse vector: indices and values must have the same length")
    idx = np.concatenate(idx_parts)
    val = np.concatenate(val_parts)
    if idx.shape[0] and (idx.min() < 0 or idx.max() > 0xFFFFFFFF):
        raise BadInput("sparse vector: indices must be unsigned 32-bit integers")
    owner = np.repeat(np.arange(len(vectors), dtype=np.int64), lens)
    same_owner = owner[1:] == owner[:-1]
    if not np.any(same_owner & (idx[1:] <= idx[:-1])):
        idx = idx.astype(np.uint32)  # already sorted and unique within every vector
    else:
        # Reverse, then stable-sort by (owner, index): the first of each group is the last given.
        key = (owner << 32 | idx)[::-1]
        order = np.argsort(key, kind="stable")
        key, val = key[order], val[::-1][order]
        keep = np.ones(key.shape[0], dtype=bool)
        keep[1:] = key[1:] != key[:-1]
        key, val = key[keep], val[keep]
        owner, idx = key >> 32, (key & 0xFFFFFFFF).astype(np.uint32)
    bounds = np.searchsorted(owner, np.arange(len(vectors) + 1)).tolist()
    return [(idx[a:b], val[a:b]) for a, b in pairwise(bounds)]


def _fitted(mask: np.ndarray, size: int) -> np.ndarray:
    """A bool mask over offsets cut or padded (with False) to `size`."""
    if mask.shape[0] >= size:
        return mask[:size]
    out = np.zeros(size, dtype=bool)
    out[: mask.shape[0]] = mask
    return out


class SparseStorage(PresenceMask):
    """Sparse vectors of one name: a forward store per offset plus an inverted index.

    The inverted index is a sorted "main" part (CSC: dims, indptr, owners, values) and a
    small "delta" of points written since it was built, scanned linearly. Points rewritten
    or cleared since the build are marked stale so their old postings are ignored.
    """

    kind = "sparse"

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = dict(config)
        self.modifier = "none"
        self.set_modifier(config.get("modifier"))
        self._idx: list[np.ndarray | None] = []
        self._val: list[np.ndarray | None] = []
        self._has = np.zeros(0, dtype=bool)
        self._stale = np.zeros(0, dtype=bool)
        self._delta: set[int] = set()
        self._delta_cache: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._dims = np.zeros(0, dtype=np.uint32)
        self._indptr = np.zeros(1, dtype=np.int64)
        self._owners = np.zeros(0, dtype=np.int64)
        self._values = np.zeros(0, dtype=np.float32)
        self._main_points = 0

    def set_modifier(self, modifier: str | None) -> None:
        """How query weights are scaled: "idf" (Qdrant's IDF over the collection) or "none"."""
        value = (modifier or "none").lower()
        if value not in ("none", "idf"):
            raise BadInput(f"modifier: unknown modifier {modifier!r}")
        self.modifier = value

    # -- writes -----------------------------------------------------------------------

    def _reserve(self, needed: int) -> None:
        cap = self._has.shape[0]
        if needed <= cap:
            return
        new_cap = grown_capacity(cap, needed)
        for name in ("_has", "_stale"):
            arr = np.zeros(new_cap, dtype=bool)
            arr[:cap] = getattr(self, name)
            setattr(self, name, arr)
        self._idx.extend([None] * (new_cap - len(self._idx)))
        self._val.extend([None] * (new_cap - len(self._val)))

    def set(self, offsets: np.ndarray, vectors: Any) -> None:
        offsets = as_offsets(offsets)
        if offsets.shape[0] == 0:
            return
        self._put(offsets, canonical_batch(list(vectors)))

    def _put(self, offsets: np.ndarray, vectors: list[SparseVector]) -> None:
        self._reserve(int(offsets.max()) + 1)
        for off, (idx, val) in zip(offsets.tolist(), vectors):
            self._idx[off], self._val[off] = idx, val
            self._delta.add(off)
        self._has[offsets] = True
        self._has_changed()
        self._stale[offsets] = True  # postings in main (if any) are outdated
        self._delta_cache = None
        self._maybe_merge()

    def clear(self, offsets: np.ndarray) -> None:
        offsets = as_offsets(offsets)
        offsets = offsets[(offsets >= 0) & (offsets < self._has.shape[0])]
        for off in offsets.tolist():
            self._idx[off] = self._val[off] = None
            self._delta.discard(off)
        self._has[offsets] = False
        self._has_changed()
        self._stale[offsets] = True
        self._delta_cache = None

    def _maybe_merge(self) -> None:
        if len(self._delta) > max(_DELTA_MIN, self._main_points // 10):
            self.rebuild_index()

    def rebuild_index(self) -> None:
        """Merge everything into the sorted postings; stale marks and delta are reset."""
        offsets = np.flatnonzero(self._has)
        owners, dims, values = self._concat(offsets)
        order = np.argsort(dims, kind="stable")  # stable: owners stay ascending per dim
        dims, owners, values = dims[order], owners[order], values[order]
        uniq, starts = np.unique(dims, return_index=True)
        self._dims = uniq.astype(np.uint32)
        self._indptr = np.append(starts, dims.shape[0]).astype(np.int64)
        self._owners, self._values = owners, values
        self._main_points = int(offsets.shape[0])
        self._stale[:] = False
        self._delta.clear()
        self._delta_cache = None

    def _concat(self, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(owner offset, dim, value) triples of the given offsets' vectors, flattened."""
        if offsets.shape[0] == 0:
            return (np.zeros(0, np.int64), np.zeros(0, np.uint32), np.zeros(0, np.float32))
        offs = offsets.tolist()
        idx = [self._idx[o] for o in offs]
        lens = np.fromiter((a.shape[0] for a in idx), dtype=np.int64, count=len(idx))
        dims = np.concatenate(idx) if idx else np.zeros(0, np.uint32)
        values = np.concatenate([self._val[o] for o in offs])
        return np.repeat(offsets, lens), dims.astype(np.uint32), values.astype(np.float32)

    # -- reads ------------------------------------------------------------------------


    def get(self, offset: int) -> SparseVector | None:
        """The stored (indices, values) of one offset, or None."""
        if 0 <= offset < self._has.shape[0] and self._has[offset]:
            # a set `_has` bit means both arrays are stored at this offset
            return cast(SparseVector, (self._idx[offset], self._val[offset]))
        return None

    def get_json(self, offsets: np.ndarray) -> list[Any]:
        out: list[Any] = []
        for off, p in zip(as_offsets(offsets).tolist(), self._present(as_offsets(offsets)).tolist()):
            if not p:
                out.append(None)
                continue
            out.append(
                {
                    "indices": self._idx[off].tolist(),
                    "values": json_floats(self._val[off]),
                }
            )
        return out

    def copy_from(self, other: Any, src_offsets: np.ndarray, dst_offsets: np.ndarray) -> None:
        src, dst = as_offsets(src_offsets), as_offsets(dst_offsets)
        present = other._present(src)
        vecs = [(other._idx[o], other._val[o]) for o in src[present].tolist()]
        if vecs:
            self._put(dst[present], vecs)
        self.clear(dst[~present])

    # -- IDF --------------------------------------------------------------------------

    def idf_stats(self, indices: Any, allowed: np.ndarray | None = None) -> tuple[int, np.ndarray]:
        """(number of points holding this vector, document frequency of each of `indices`),
        counting only offsets where the bool mask `allowed` is set when one is given (an IDF
        corpus filter).

        A collection with several segments sums these and passes the totals back to
        `search` as params["idf_stats"], so IDF is collection-wide as in Qdrant.
        """
        q = np.asarray(indices, dtype=np.int64).reshape(-1)
        df = np.zeros(q.shape[0], dtype=np.int64)
        allowed = None if allowed is None else _fitted(allowed, self._has.shape[0])
        counted = ~self._stale if allowed is None else ~self._stale & allowed
        pos = np.searchsorted(self._dims, q)
        for i, (p, d) in enumerate(zip(pos.tolist(), q.tolist())):
            if p < self._dims.shape[0] and int(self._dims[p]) == d:
                owners = self._owners[self._indptr[p] : self._indptr[p + 1]]
                df[i] = int(np.count_nonzero(counted[owners]))
        owners, dims, _ = self._delta_arrays()
        if allowed is not None and dims.shape[0]:
            dims = dims[allowed[owners]]
        if dims.shape[0] and q.shape[0]:
            uniq, counts = np.unique(dims[np.isin(dims, q)], return_counts=True)
            if uniq.shape[0]:
                at = np.searchsorted(uniq, q).clip(0, uniq.shape[0] - 1)
                found = uniq[at] == q
                df[found] += counts[at[found]]
        if allowed is None:
            return len(self), df
        return int(np.count_nonzero(self._has & allowed)), df

    def _weights(self, raw_idx: np.ndarray, idx: np.ndarray, val: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        """Query weights for canonical `idx`; with IDF, values times Qdrant's IDF.

        params["idf_stats"] = (n_docs, df) has df aligned with the query's indices as the
        caller passed them (`raw_idx`, any order); they are realigned to `idx` here.
        """
        if self.modifier != "idf":
            return val.astype(np.float32)
        stats = params.get("idf_stats")
        if stats is None:
            n_docs, df = self.idf_stats(idx)
        else:
            n_docs, raw_df = stats
            _, first = np.unique(raw_idx, return_index=True)
            df = np.asarray(raw_df, dtype=np.int64)[first]  # uniq equals idx (sorted unique)
        return np.asarray(val.astype(np.float64) * compute_idf(df, int(n_docs)), dtype=np.float32)

    # -- search -----------------------------------------------------------------------

    def _delta_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._delta_cache is None:
            self._delta_cache = self._concat(np.array(sorted(self._delta), dtype=np.int64))
        return self._delta_cache

    def _prepare(self, query: Any, params: dict[str, Any]) -> SparseVector:
        if isinstance(query, dict):
            query = (query.get("indices", []), query.get("values", []))
        raw_idx = np.asarray(query[0], dtype=np.int64).reshape(-1)
        idx, val = canonical(raw_idx, query[1])
        return idx, self._weights(raw_idx, idx, val, params)

    def _score_all(self, q_idx: np.ndarray, q_w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(offsets, scores) of every point sharing at least one dimension with the query."""
        owners_parts, contrib_parts = [], []
        pos = np.searchsorted(self._dims, q_idx)
        for p, d, w in zip(pos.tolist(), q_idx.tolist(), q_w.tolist()):
            if p < self._dims.shape[0] and int(self._dims[p]) == d:
                lo, hi = self._indptr[p], self._indptr[p + 1]
                owners = self._owners[lo:hi]
                live = ~self._stale[owners]
                owners_parts.append(owners[live])
                contrib_parts.append(self._values[lo:hi][live] * np.float32(w))
        d_owners, d_dims, d_values = self._delta_arrays()
        if d_dims.shape[0] and q_idx.shape[0]:
            hit = np.isin(d_dims, q_idx)
            weights = q_w[np.searchsorted(q_idx, d_dims[hit])]
            owners_parts.append(d_owners[hit])
            contrib_parts.append(d_values[hit] * weights)
        if not owners_parts:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        owners = np.concatenate(owners_parts)
        contrib = np.concatenate(contrib_parts).astype(np.float64)
        uniq, inv = np.unique(owners, return_inverse=True)
        return uniq, np.bincount(inv, weights=contrib).astype(np.float32)

    def search(
        self, query: Any, k: int, candidates: Candidates, params: dict[str, Any] | None = None
    ) -> SearchResult:
        """Top-k by dot product over shared dimensions; points with none are not returned."""
        q_idx, q_w = self._prepare(query, params or {})
        offsets, scores = self._score_all(q_idx, q_w)
        if isinstance(candidates, CandidateMask):
            candidates = candidates.mask
        if candidates is not None and offsets.shape[0]:
            cand = np.asarray(candidates)
            if cand.dtype == np.bool_:
                inside = offsets < cand.shape[0]
                inside[inside] = cand[offsets[inside]]
            else:
                inside = np.isin(offsets, cand.astype(np.int64, copy=False))
            offsets, scores = offsets[inside], scores[inside]
        best = top_k(-scores, offsets, k)
        return offsets[best], scores[best]

    def score_offsets(self, query: Any, offsets: np.ndarray, params: dict[str, Any] | None = None) -> np.ndarray:
        """Dot products for the given offsets: 0 with no shared dimension, NaN if absent."""
        q_idx, q_w = self._prepare(query, params or {})
        offsets = as_offsets(offsets)
        present = self._present(offsets)
        out = np.full(offsets.shape[0], np.nan, dtype=np.float32)
        _, dims, values = self._concat(offsets[present])
        hit = np.isin(dims, q_idx)
        contrib = np.zeros(dims.shape[0], dtype=np.float64)
        contrib[hit] = values[hit] * q_w[np.searchsorted(q_idx, dims[hit])]
        # Sum per position in `offsets`, not per offset value: offsets may repeat.
        positions = np.repeat(
            np.arange(int(present.sum())),
            [self._idx[o].shape[0] for o in offsets[present].tolist()],
        )
        out[present] = np.bincount(positions, weights=contrib, minlength=int(present.sum()))
        return out

    # -- persistence ------------------------------------------------------------------

    def save(self, directory: Path, prefix: str, fileio: Any = None) -> list[str]:
        offsets = np.flatnonzero(self._has)
        owners, dims, values = self._concat(offsets)
        name = f"{prefix}.sparse.npz"
        write_file(
            Path(directory) / name,
            npz_bytes(offsets=offsets, owners=owners, dims=dims, values=values),
            fileio,
        )
        return [name]

    @classmethod
    def load(cls, directory: Path, prefix: str, config: dict[str, Any]) -> SparseStorage:
        storage = cls(config)
        arrays = read_npz(Path(directory) / f"{prefix}.sparse.npz")
        offsets, owners = arrays["offsets"], arrays["owners"]
        if offsets.shape[0]:
            bounds = np.searchsorted(owners, offsets, side="left").tolist() + [owners.shape[0]]
            storage._reserve(int(offsets.max()) + 1)
            for i, off in enumerate(offsets.tolist()):
                storage._idx[off] = arrays["dims"][bounds[i] : bounds[i + 1]]
                storage._val[off] = arrays["values"][bounds[i] : bounds[i + 1]]
            storage._has[offsets] = True
        storage.rebuild_index()
        return storage
