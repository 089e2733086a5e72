"""Dense vector storage: one contiguous (capacity, dim) array in float32, float16 or uint8."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Callable

import numpy as np

from pydrant.errors import BadInput
from pydrant.segment.float_json import json_floats
from pydrant.segment.vector_index import hnsw, locality, partition
from pydrant.segment.vector_index.distance import (
    COSINE,
    EUCLID,
    check_distance,
    normalize_rows,
    to_uint8,
)
from pydrant.segment.vector_index.exact import (
    PARALLEL_MIN_CANDIDATES,
    exact_search,
    exact_search_mask,
    gathered_rows,
    score_rows,
)
from pydrant.segment.vectors.base import (
    CandidateMask,
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

DATATYPES = {"float32": np.float32, "float16": np.float16, "uint8": np.uint8}
DEFAULT_FULL_SCAN_THRESHOLD_KB = 10_000  # Qdrant's default hnsw_config.full_scan_threshold


def parse_datatype(config: dict[str, Any]) -> str:
    """The storage datatype named in a vector config (float32 when absent)."""
    datatype = config.get("datatype") or "float32"
    if datatype not in DATATYPES:
        raise BadInput(f"datatype: unknown datatype {datatype!r}, expected one of {list(DATATYPES)}")
    return str(datatype)


# A cached candidate block is at most this large (segment.candidate_cache keeps 8 filters).
CACHED_ROWS_MAX_BYTES = 1 << 20


class DenseStorage(PresenceMask):
    """Dense vectors of one name, stored as Qdrant stores them for the configured datatype.

    float32/float16: Cosine rows are normalised on insert (float16 after normalising).
    uint8: values are cast like Rust's `as u8` and never normalised; Cosine is computed on
    the raw bytes at search time, as Qdrant does for byte vectors.
    """

    kind = "dense"

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = dict(config)
        self.dim = int(config["size"])
        self.distance = check_distance(config.get("distance"))
        self.datatype = parse_datatype(config)
        self._dtype = DATATYPES[self.datatype]
        self._data = np.zeros((0, self.dim), dtype=self._dtype)
        self._has = np.zeros(0, dtype=bool)
        # Squared norms let Euclid preselect with one matrix product (float32 rows only).
        self._track_sqnorms = self.distance == EUCLID and self.datatype == "float32"
        self._sqnorms = np.zeros(0, dtype=np.float32)
        self.index: hnsw.HnswIndex | None = None
        self._rows_owner: hnsw.HnswIndex | None = None  # set while `_data` views the graph's rows
        self._hnsw_effective: dict[str, Any] = dict(self.config.get("hnsw_config") or {})
        # Clusters that let an exact scan skip rows (built with the index, dropped on writes).
        self.partition: partition.Partition | None = None
        self.values_version = 0  # moves whenever a stored row changes (cached row copies key on it)

    # -- writes -----------------------------------------------------------------------

    def _reserve(self, needed: int) -> None:
        cap = self._data.shape[0]
        if needed <= cap:
            return
        new_cap = grown_capacity(cap, needed)
        data = np.zeros((new_cap, self.dim), dtype=self._dtype)
        data[:cap] = self._data
        has = np.zeros(new_cap, dtype=bool)
        has[:cap] = self._has
        self._data, self._has = data, has
        if self._track_sqnorms:
            sq = np.zeros(new_cap, dtype=np.float32)
            sq[:cap] = self._sqnorms
            self._sqnorms = sq

    def encode(self, vectors: np.ndarray) -> np.ndarray:
        """Float32 input rows converted to what this storage keeps."""
        vectors = np.asarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        if self.datatype == "uint8":
            return to_uint8(vectors)
        if self.distance == COSINE:
            vectors = normalize_rows(vectors)
        return vectors.astype(self._dtype, copy=False)

    def set(self, offsets: np.ndarray, vectors: Any) -> None:
        offsets = as_offsets(offsets)
        self._put_raw(offsets, self.encode(vectors))

    def _put_raw(self, offsets: np.ndarray, rows: np.ndarray) -> None:
        if offsets.shape[0] == 0:
            return
        self._set_index(None)  # a changed vector makes the graph stale (and owns no rows then)
        self.partition = None  # and the cluster radii with it
        self._reserve(int(offsets.max()) + 1)
        self._data[offsets] = rows
        self.values_version += 1
        self._has[offsets] = True
        self._has_changed()
        if self._track_sqnorms:
            r = rows.astype(np.float32, copy=False)
            self._sqnorms[offsets] = np.einsum("ij,ij->i", r, r)

    def clear(self, offsets: np.ndarray) -> None:
        offsets = as_offsets(offsets)
        offsets = offsets[offsets < self._has.shape[0]]
        self._has[offsets] = False
        self._has_changed()

    # -- reads ------------------------------------------------------------------------


    def get_raw(self, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(present mask, float32 rows as stored) for `offsets`; absent rows are zeros."""
        offsets = as_offsets(offsets)
        present = self._present(offsets)
        rows = np.zeros((offsets.shape[0], self.dim), dtype=np.float32)
        rows[present] = self._data[offsets[present]]
        return present, rows

    def get_json(self, offsets: np.ndarray) -> list[Any]:
        present, rows = self.get_raw(offsets)
        values = json_floats(rows[present]) if present.any() else []
        it = iter(values)
        return [next(it) if p else None for p in present.tolist()]

    def copy_from(self, other: Any, src_offsets: np.ndarray, dst_offsets: np.ndarray) -> None:
        src, dst = as_offsets(src_offsets), as_offsets(dst_offsets)
        present = other._present(src)
        # Raw copy: rows are already in stored form, re-normalising would be wrong for uint8.
        self._put_raw(dst[present], other._data[src[present]].astype(self._dtype, copy=False))
        self.clear(dst[~present])

    def row_source(self) -> locality.RowSource:
        """This storage's stored vectors as a RowSource, to be read without the collection's
        lock: the matrix and presence are this moment's objects (a write after this replaces
        or changes them, which may make a read stale, never invalid), and the graph whose rows
        the matrix may view is kept alive with them."""
        return locality.RowSource(self._data, np.flatnonzero(self._has), self._rows_owner)

    def vectors_for_index(self) -> tuple[np.ndarray, np.ndarray]:
        """(offsets, float32 rows) of every stored vector, for building an index."""
        offsets = np.flatnonzero(self._has)
        return offsets, self._data[offsets].astype(np.float32, copy=False)

    # -- index ------------------------------------------------------------------------

    def build_index(self, hnsw_config: dict[str, Any] | None = None, cancelled: Callable[[], bool] | None = None, graph: bool = True) -> bool:
        """Build the HNSW graph with `hnsw_config` (vector-level settings win) and the
        clusters exact scans prune with. Returns False and keeps exact search when the
        distance has no graph (Manhattan), m == 0, or indexing is off (`graph` False)."""
        cfg = {**(hnsw_config or {}), **(self.config.get("hnsw_config") or {})}
        offsets, rows = self.vectors_for_index()
        # Byte rows are scored by their own kernel (Cosine on raw bytes): no cluster bounds.
        self.partition = None if self.datatype == "uint8" else partition.Partition.build(rows, offsets, self.distance)
        if cancelled is not None and cancelled():
            raise hnsw.BuildCancelled("index build stopped after the clusters")
        m = cfg.get("m")
        if not graph or m == 0 or not hnsw.supports(self.distance):
            self._set_index(None)
            return False
        if self.datatype == "uint8" and self.distance == COSINE:
            # Byte rows are not normalised when stored; the graph needs directions.
            rows = normalize_rows(rows)
        self._set_index(hnsw.HnswIndex.build(rows, offsets, self.distance, m, cfg.get("ef_construct"), cancelled))
        self._hnsw_effective = cfg
        return True

    def _set_index(self, index: hnsw.HnswIndex | None) -> None:
        """Install (or drop) the graph. faiss keeps its own float32 copy of every indexed row;
        when that copy is exactly our matrix (float32 rows at offsets 0..n-1, in memory),
        our matrix becomes a read-only view of it, so each vector is held once. Dropping or
        replacing the graph first takes the rows back into an array of our own."""
        if self._rows_owner is not None:
            self._data = np.array(self._data)  # a private, writeable copy before the owner goes
            self._rows_owner = None
        self.index = index
        if index is None or self.datatype != "float32" or isinstance(self._data, np.memmap):
            return
        stored = int(np.count_nonzero(self._has))
        if stored != index.size or not bool(self._has[:stored].all()):
            return
        view = index.stored_rows()
        if view is not None and view.shape == (stored, self.dim):
            self._data = view
            self._has = self._has[:stored].copy()
            if self._track_sqnorms:
                self._sqnorms = self._sqnorms[:stored].copy()
            self._rows_owner = index

    def indexed_count(self) -> int:
        """Vectors served by the HNSW graph (0 without one)."""
        return self.index.size if self.index is not None else 0

    def _full_scan_vectors(self) -> int:
        kb = self._hnsw_effective.get("full_scan_threshold", DEFAULT_FULL_SCAN_THRESHOLD_KB)
        return int(kb) * 1024 // max(1, self.dim * 4)

    # -- search -----------------------------------------------------------------------

    def prepare_query(self, query: Any) -> np.ndarray:
        """The query in the form stored rows are compared against."""
        q = np.asarray(query, dtype=np.float32).reshape(-1)
        if q.shape[0] != self.dim:
            raise BadInput(f"Vector dimension error: expected dim: {self.dim}, got {q.shape[0]}")
        if self.datatype == "uint8":
            return to_uint8(q).astype(np.float32)
        if self.distance == COSINE:
            q = normalize_rows(q)
        if self.datatype == "float16":
            # Qdrant converts the query to the storage element type as well.
            q = q.astype(np.float16).astype(np.float32)
        return q

    def search(
        self, query: Any, k: int, candidates: Candidates, params: dict[str, Any] | None = None
    ) -> SearchResult:
        """Top-k, exact unless an HNSW graph exists and either the caller chose it (passed
        `hnsw_ef`, possibly None: the collection's planner has decided) or, with no choice
        made, the candidates exceed full_scan_threshold (Qdrant's rule). `exact` always wins."""
        params = params or {}
        q = self.prepare_query(query)
        cand = self.candidate_mask(candidates)
        use_graph = "hnsw_ef" in params or cand.count >= self._full_scan_vectors()
        if self.index is not None and not params.get("exact") and use_graph:
            if self.datatype == "uint8" and self.distance == COSINE:
                q = normalize_rows(q)  # byte Cosine scores are scale-invariant in the query
            # Cleared points stay in the graph; the mask keeps them out during traversal.
            return self.index.search(q, k, params.get("hnsw_ef"), cand, rows=self._data)
        sq = self._sqnorms if self._track_sqnorms else None
        if cand.count < PARALLEL_MIN_CANDIDATES:
            offsets, rows = self._candidate_rows(cand)
            return exact_search(self._data, offsets, q, self.distance, k, sq, rows)
        if self.partition is not None and cand.count >= partition.MIN_ROWS:
            data, distance = self._data, self.distance
            found = self.partition.search(
                q, k, cand, lambda offsets, kk: exact_search(data, offsets, q, distance, kk, sq)
            )
            if found is not None:
                return found
        return exact_search_mask(self._data, cand.mask, q, self.distance, k, sq, cand.count)

    def _candidate_rows(self, cand: CandidateMask) -> tuple[np.ndarray, np.ndarray | None]:
        """The offsets of a few candidates and their rows gathered into one block (None when
        exact_search reads them better from a prefix of the matrix). A selective filter asked
        again (its mask is cached per segment) keeps the block: gathering ~1,000 rows from all
        over the matrix cost more than scoring them, ~0.2 ms at 100k x 128."""
        key = ("candidate-rows", id(self))
        cached = cand.derived.get(key)
        if cached is not None and cached[0] == self.values_version:
            return cached[1], cached[2]
        offsets = cand.offsets()
        rows = gathered_rows(self._data, offsets)
        if rows is not None and rows.nbytes <= CACHED_ROWS_MAX_BYTES and len(cand.derived) < 32:
            cand.derived[key] = (self.values_version, offsets, rows)  # replaces a stale block
        return offsets, rows

    def candidate_mask(self, candidates: Candidates) -> CandidateMask:
        """Any accepted candidates form as a CandidateMask restricted to stored vectors."""
        if isinstance(candidates, CandidateMask):
            return candidates
        if candidates is None:
            return CandidateMask(self._has, complete=True)
        cand = np.asarray(candidates)
        if cand.dtype == np.bool_:
            n = min(cand.shape[0], self._has.shape[0])
            return CandidateMask(cand[:n] & self._has[:n])
        offsets = candidate_offsets(cand, self._has)
        mask = np.zeros(int(offsets[-1]) + 1 if offsets.shape[0] else 0, dtype=bool)
        mask[offsets] = True
        return CandidateMask(mask, int(offsets.shape[0]))

    def score_offsets(self, query: Any, offsets: np.ndarray) -> np.ndarray:
        q = self.prepare_query(query)
        offsets = as_offsets(offsets)
        present = self._present(offsets)
        out = np.full(offsets.shape[0], np.nan, dtype=np.float32)
        if present.any():
            out[present] = score_rows(self._data[offsets[present]], q, self.distance)
        return out

    # -- persistence ------------------------------------------------------------------

    def save(self, directory: Path, prefix: str, fileio: Any = None) -> list[str]:
        """Rows go to a plain .npy (memory-mappable for `on_disk`), the mask and graph
        labels to an .npz, the faiss graph to its own file."""
        directory = Path(directory)
        stored = np.flatnonzero(self._has)
        end = int(stored[-1]) + 1 if stored.shape[0] else 0
        rows_name, meta_name = f"{prefix}.dense.npy", f"{prefix}.dense.npz"
        files = [rows_name, meta_name]
        buf = io.BytesIO()
        np.save(buf, np.ascontiguousarray(self._data[:end]), allow_pickle=False)
        write_file(directory / rows_name, buf.getbuffer(), fileio)  # a view: no second copy of the rows
        meta = {"has": self._has[:end]}
        if self.index is not None:
            blob, labels = self.index.to_bytes()
            meta["hnsw_labels"] = labels
            hnsw_name = f"{prefix}.hnsw.faiss"
            write_file(directory / hnsw_name, blob, fileio)
            files.append(hnsw_name)
        if self.partition is not None:
            meta.update(self.partition.to_arrays())
        write_file(directory / meta_name, npz_bytes(**meta), fileio)
        return files

    @classmethod
    def load(cls, directory: Path, prefix: str, config: dict[str, Any]) -> DenseStorage:
        """With `on_disk`, rows stay memory-mapped copy-on-write: pages are read on demand
        and writes never touch the file (a later save replaces it atomically)."""
        directory = Path(directory)
        storage = cls(config)
        meta = read_npz(directory / f"{prefix}.dense.npz")
        path = directory / f"{prefix}.dense.npy"
        mapped = bool(config.get("on_disk"))
        data = np.load(path, mmap_mode="c", allow_pickle=False) if mapped else np.load(path, allow_pickle=False)
        has = meta["has"]
        if mapped and data.shape[0]:
            storage._data = data
            storage._has = has.copy()
        else:
            storage._reserve(has.shape[0])
            storage._data[: has.shape[0]] = data
            storage._has[: has.shape[0]] = has
        if storage._track_sqnorms:
            sq = np.zeros(storage._data.shape[0], dtype=np.float32)
            for lo in range(0, has.shape[0], 65536):  # blockwise: keeps mmap reads sequential
                r = np.asarray(storage._data[lo : lo + 65536], dtype=np.float32)
                sq[lo : lo + r.shape[0]] = np.einsum("ij,ij->i", r, r)
            storage._sqnorms = sq
        storage.partition = partition.Partition.from_arrays(meta, storage.distance)
        hnsw_path = directory / f"{prefix}.hnsw.faiss"
        if "hnsw_labels" in meta and hnsw_path.exists():
            storage._set_index(hnsw.HnswIndex.from_bytes(hnsw_path.read_bytes(), meta["hnsw_labels"], storage.distance))
        return storage
