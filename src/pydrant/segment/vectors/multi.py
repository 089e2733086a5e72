"""Multivector storage: ragged rows per offset in one row matrix, scored with max_sim."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from pydrant.errors import BadInput, Unsupported
from pydrant.segment.float_json import json_floats
from pydrant.segment.vector_index.distance import (
    COSINE,
    EUCLID,
    MANHATTAN,
    check_distance,
    normalize_rows,
    to_uint8,
    top_k,
)
from pydrant.segment.vectors.base import (
    Candidates,
    PresenceMask,
    SearchResult,
    as_offsets,
    candidate_offsets,
    grown_capacity,
    npz_bytes,
    read_npz,
    write_file,
)
from pydrant.segment.vectors.dense import DATATYPES, parse_datatype

# Offsets scored per block, to bound the gathered (rows, dim) temporary.
_BLOCK_OFFSETS = 2048


class MultiDenseStorage(PresenceMask):
    """Each offset holds a (rows, dim) matrix; rows of all offsets live in one growing
    matrix, addressed by (start, count). Rewrites append and leave garbage that is dropped
    on compaction (when it outweighs the live rows, and on save)."""

    kind = "multi"

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = dict(config)
        self.dim = int(config["size"])
        self.distance = check_distance(config.get("distance"))
        self.datatype = parse_datatype(config)
        comparator = (config.get("multivector_config") or {}).get("comparator", "max_sim")
        if comparator != "max_sim":
            raise Unsupported(f"multivector_config.comparator: {comparator!r}")
        self._dtype = DATATYPES[self.datatype]
        self._rows = np.zeros((0, self.dim), dtype=self._dtype)
        self._used = 0
        self._start = np.zeros(0, dtype=np.int64)
        self._count = np.zeros(0, dtype=np.int64)
        self._has = np.zeros(0, dtype=bool)

    # -- writes -----------------------------------------------------------------------

    def _reserve_offsets(self, needed: int) -> None:
        cap = self._has.shape[0]
        if needed <= cap:
            return
        new_cap = grown_capacity(cap, needed)
        for name, dtype in (("_start", np.int64), ("_count", np.int64), ("_has", bool)):
            arr = np.zeros(new_cap, dtype=dtype)
            arr[:cap] = getattr(self, name)
            setattr(self, name, arr)

    def _append_rows(self, rows: np.ndarray) -> int:
        needed = self._used + rows.shape[0]
        if needed > self._rows.shape[0]:
            live = int(self._count[self._has].sum())
            if self._used > 2 * live + 1024:
                self._compact()
                needed = self._used + rows.shape[0]
            if needed > self._rows.shape[0]:
                grown = np.zeros((grown_capacity(self._rows.shape[0], needed), self.dim), self._dtype)
                grown[: self._used] = self._rows[: self._used]
                self._rows = grown
        start = self._used
        self._rows[start:needed] = rows
        self._used = needed
        return start

    def _compact(self) -> None:
        offsets = np.flatnonzero(self._has)
        rows = self._rows[self._row_index(offsets)]
        self._start[offsets] = np.concatenate(([0], np.cumsum(self._count[offsets])[:-1]))
        self._rows = np.zeros((grown_capacity(0, rows.shape[0]), self.dim), self._dtype)
        self._rows[: rows.shape[0]] = rows
        self._used = rows.shape[0]

    def encode(self, matrix: Any) -> np.ndarray:
        """One multivector (rows, dim) converted to what this storage keeps."""
        m = np.asarray(matrix, dtype=np.float32).reshape(-1, self.dim)
        if m.shape[0] == 0:
            raise BadInput("multivector must have at least one vector")
        if self.datatype == "uint8":
            return to_uint8(m)
        if self.distance == COSINE:
            m = normalize_rows(m)
        return m.astype(self._dtype, copy=False)

    def set(self, offsets: np.ndarray, vectors: Any) -> None:
        offsets = as_offsets(offsets)
        self._put_raw(offsets, [self.encode(m) for m in vectors])

    def _put_raw(self, offsets: np.ndarray, matrices: list[np.ndarray]) -> None:
        if offsets.shape[0] == 0:
            return
        self._reserve_offsets(int(offsets.max()) + 1)
        counts = np.fromiter((m.shape[0] for m in matrices), dtype=np.int64, count=len(matrices))
        start = self._append_rows(np.concatenate(matrices))
        self._start[offsets] = start + np.concatenate(([0], np.cumsum(counts)[:-1]))
        self._count[offsets] = counts
        self._has[offsets] = True
        self._has_changed()

    def clear(self, offsets: np.ndarray) -> None:
        offsets = as_offsets(offsets)
        offsets = offsets[(offsets >= 0) & (offsets < self._has.shape[0])]
        self._has[offsets] = False
        self._has_changed()
        self._count[offsets] = 0

    # -- reads ------------------------------------------------------------------------


    def _row_index(self, offsets: np.ndarray) -> np.ndarray:
        """Row numbers of the given (present) offsets' rows, concatenated in order."""
        counts = self._count[offsets]
        total = int(counts.sum())
        if total == 0:
            return np.zeros(0, dtype=np.int64)
        firsts = np.repeat(self._start[offsets] - np.concatenate(([0], np.cumsum(counts)[:-1])), counts)
        return firsts + np.arange(total, dtype=np.int64)

    def get_json(self, offsets: np.ndarray) -> list[Any]:
        offsets = as_offsets(offsets)
        present = self._present(offsets)
        live = offsets[present]
        flat = json_floats(self._rows[self._row_index(live)])
        it = iter(flat)
        counts = iter(self._count[live].tolist())
        out: list[Any] = []
        for p in present.tolist():
            out.append([next(it) for _ in range(next(counts))] if p else None)
        return out

    def copy_from(self, other: Any, src_offsets: np.ndarray, dst_offsets: np.ndarray) -> None:
        src, dst = as_offsets(src_offsets), as_offsets(dst_offsets)
        present = other._present(src)
        live = src[present]
        mats = [
            other._rows[s : s + c].astype(self._dtype, copy=False)
            for s, c in zip(other._start[live].tolist(), other._count[live].tolist())
        ]
        self._put_raw(dst[present], mats)
        self.clear(dst[~present])

    # -- search -----------------------------------------------------------------------

    def prepare_query(self, query: Any) -> np.ndarray:
        q = np.asarray(query, dtype=np.float32)
        if q.ndim == 1:
            q = q.reshape(1, -1)
        if q.ndim != 2 or q.shape[1] != self.dim or q.shape[0] == 0:
            raise BadInput(f"Vector dimension error: expected dim: {self.dim}, got {q.shape[-1]}")
        if self.datatype == "uint8":
            q = to_uint8(q).astype(np.float32)
        if self.distance == COSINE:
            q = normalize_rows(q)
        return q

    def _row_similarity(self, rows: np.ndarray, q: np.ndarray) -> np.ndarray:
        """(n_rows, n_query) similarities, higher is better: Qdrant's internal per-row score
        (negated squared L2 for Euclid, negated L1 for Manhattan)."""
        r = rows.astype(np.float32, copy=False)
        if self.distance == COSINE:
            # Byte rows are stored raw; float rows are unit already and this is a no-op.
            if self.datatype == "uint8":
                r = normalize_rows(r)
            return np.asarray(r @ q.T, dtype=np.float32)
        if self.distance == EUCLID:
            out = np.empty((r.shape[0], q.shape[0]), dtype=np.float32)
            for j in range(q.shape[0]):
                d = r - q[j]
                out[:, j] = -np.einsum("ij,ij->i", d, d)
            return out
        if self.distance == MANHATTAN:
            out = np.empty((r.shape[0], q.shape[0]), dtype=np.float32)
            for j in range(q.shape[0]):
                out[:, j] = -np.abs(r - q[j]).sum(axis=1)
            return out
        return np.asarray(r @ q.T, dtype=np.float32)

    def _max_sim(self, q: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """Internal max_sim sums (higher is better) for present offsets."""
        out = np.empty(offsets.shape[0], dtype=np.float32)
        for lo in range(0, offsets.shape[0], _BLOCK_OFFSETS):
            block = offsets[lo : lo + _BLOCK_OFFSETS]
            sim = self._row_similarity(self._rows[self._row_index(block)], q)
            bounds = np.concatenate(([0], np.cumsum(self._count[block])[:-1]))
            out[lo : lo + block.shape[0]] = np.maximum.reduceat(sim, bounds, axis=0).sum(axis=1)
        return out

    def _report(self, internal: np.ndarray) -> np.ndarray:
        """Qdrant's reported score from the internal sum."""
        if self.distance == EUCLID:
            return np.asarray(np.sqrt(np.abs(internal)), dtype=np.float32)
        if self.distance == MANHATTAN:
            return np.asarray(np.abs(internal), dtype=np.float32)
        return internal

    def search(
        self, query: Any, k: int, candidates: Candidates, params: dict[str, Any] | None = None
    ) -> SearchResult:
        """Exact max_sim top-k (sum over query rows of the best document row)."""
        q = self.prepare_query(query)
        offsets = candidate_offsets(candidates, self._has)
        internal = self._max_sim(q, offsets)
        best = top_k(-internal, offsets, k)
        return offsets[best], self._report(internal[best]).astype(np.float32)

    def score_offsets(self, query: Any, offsets: np.ndarray) -> np.ndarray:
        q = self.prepare_query(query)
        offsets = as_offsets(offsets)
        present = self._present(offsets)
        out = np.full(offsets.shape[0], np.nan, dtype=np.float32)
        if present.any():
            out[present] = self._report(self._max_sim(q, offsets[present]))
        return out

    # -- persistence ------------------------------------------------------------------

    def save(self, directory: Path, prefix: str, fileio: Any = None) -> list[str]:
        offsets = np.flatnonzero(self._has)
        rows = self._rows[self._row_index(offsets)]
        name = f"{prefix}.multi.npz"
        write_file(
            Path(directory) / name,
            npz_bytes(offsets=offsets, counts=self._count[offsets], rows=rows),
            fileio,
        )
        return [name]

    @classmethod
    def load(cls, directory: Path, prefix: str, config: dict[str, Any]) -> MultiDenseStorage:
        storage = cls(config)
        arrays = read_npz(Path(directory) / f"{prefix}.multi.npz")
        offsets, counts, rows = arrays["offsets"], arrays["counts"], arrays["rows"]
        if offsets.shape[0]:
            storage._reserve_offsets(int(offsets.max()) + 1)
            storage._rows = np.zeros((grown_capacity(0, rows.shape[0]), storage.dim), storage._dtype)
            storage._rows[: rows.shape[0]] = rows
            storage._used = rows.shape[0]
            storage._start[offsets] = np.concatenate(([0], np.cumsum(counts)[:-1]))
            storage._count[offsets] = counts
            storage._has[offsets] = True
        return storage
