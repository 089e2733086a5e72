"""The VectorStorage protocol a segment holds per vector name, and the factory that makes one."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from pydrant.storage.atomic import write_atomic

class CandidateMask:
    """The points one search may return in one segment: `mask[o]` is True only for offsets
    that are live, match the filter and hold the searched vector; `count` is its popcount.

    `complete` says the mask is every stored vector of the storage (no filter, no deletions
    since the vector was stored), which lets a graph search skip its label bitmap. Derived
    arrays are computed once and kept on the object (unfiltered masks are cached per segment).
    """

    __slots__ = ("mask", "count", "complete", "_offsets", "derived")

    def __init__(self, mask: np.ndarray, count: int | None = None, complete: bool = False) -> None:
        self.mask = mask
        self.count = int(np.count_nonzero(mask)) if count is None else count
        self.complete = complete
        self._offsets: np.ndarray | None = None
        self.derived: dict[Any, Any] = {}  # per-consumer caches, e.g. a graph's label bitmap

    def offsets(self) -> np.ndarray:
        if self._offsets is None:
            self._offsets = np.flatnonzero(self.mask)
        return self._offsets


Candidates = np.ndarray | CandidateMask | None
"""A bool mask over offsets, an int64 array of offsets, a CandidateMask, or None for every
stored vector."""

SearchResult = tuple[np.ndarray, np.ndarray]
"""(offsets int64, scores float32), best first."""


@runtime_checkable
class VectorStorage(Protocol):
    """Vectors of one name in one segment, addressed by internal offset."""

    kind: str  # "dense" | "sparse" | "multi"
    config: dict[str, Any]
    has_version: int  # moves whenever the set of offsets holding a vector changes

    def set(self, offsets: np.ndarray, vectors: Any) -> None:
        """Store `vectors[i]` at `offsets[i]`, replacing what was there."""
        ...

    def clear(self, offsets: np.ndarray) -> None:
        """Those offsets no longer have this vector."""
        ...

    def has_mask(self, size: int) -> np.ndarray:
        """Bool mask of length `size`: which offsets hold a vector."""
        ...

    def get_json(self, offsets: np.ndarray) -> list[Any]:
        """JSON-ready value per offset, None where absent."""
        ...

    def copy_from(self, other: VectorStorage, src_offsets: np.ndarray, dst_offsets: np.ndarray) -> None:
        """Copy the vectors `other` holds at `src_offsets` to `dst_offsets` (absent -> cleared)."""
        ...

    def save(self, directory: Path, prefix: str, fileio: Any = None) -> list[str]:
        """Write the storage under `directory` (through `fileio`, a storage.fileio.FileIO,
        when given); return the file names written."""
        ...

    def search(
        self, query: Any, k: int, candidates: Candidates, params: dict[str, Any] | None
    ) -> SearchResult:
        """Exact top-k among stored vectors (restricted to `candidates`), Qdrant's scores and order."""
        ...

    def score_offsets(self, query: Any, offsets: np.ndarray) -> np.ndarray:
        """Scores of `query` against the given offsets (NaN where an offset has no vector)."""
        ...


class _StorageClass(Protocol):
    """A VectorStorage class: constructed from a config, or loaded from what `save` wrote."""

    def __call__(self, config: dict[str, Any]) -> VectorStorage: ...

    def load(self, directory: Path, prefix: str, config: dict[str, Any]) -> VectorStorage: ...


class PresenceMask:
    """Which offsets hold a vector, for storages that keep a `_has` bool array by offset.

    `has_version` moves whenever `_has` changes (subclasses call `_has_changed`), so readers
    can cache what they derive from it; `search_cache` is where they keep it.
    """

    _has: np.ndarray
    has_version: int = 0
    search_cache: Any = None

    def _has_changed(self) -> None:
        self.has_version += 1

    def has_mask(self, size: int) -> np.ndarray:
        out = np.zeros(size, dtype=bool)
        n = min(size, self._has.shape[0])
        out[:n] = self._has[:n]
        return out

    def __len__(self) -> int:
        return int(self._has.sum())

    def _present(self, offsets: np.ndarray) -> np.ndarray:
        ok: np.ndarray = (offsets >= 0) & (offsets < self._has.shape[0])
        ok[ok] = self._has[offsets[ok]]
        return ok


def _storage_class(kind: str, config: dict[str, Any]) -> _StorageClass:
    if kind == "sparse":
        from pydrant.segment.vectors.sparse import SparseStorage

        return SparseStorage
    if kind == "dense":
        if config.get("multivector_config"):
            from pydrant.segment.vectors.multi import MultiDenseStorage

            return MultiDenseStorage
        from pydrant.segment.vectors.dense import DenseStorage

        return DenseStorage
    raise ValueError(f"unknown vector storage kind {kind!r}")


def make_storage(kind: str, config: dict[str, Any]) -> VectorStorage:
    """A fresh storage for a vector config as given in the create-collection request;
    `multivector_config` in a dense config selects the multivector storage."""
    return _storage_class(kind, config)(config)


def load_storage(kind: str, directory: Path, prefix: str, config: dict[str, Any]) -> VectorStorage:
    """Load a storage that `save` wrote, choosing the class as `make_storage` does."""
    return _storage_class(kind, config).load(directory, prefix, config)


def grown_capacity(current: int, needed: int) -> int:
    """Geometric growth (x1.5) so that n single-point inserts cost O(n) copies in total; a jump
    far past the current size (a bulk copy into a fresh storage, e.g. by the optimizer) gets
    exactly what it asks for, so a sealed segment does not carry up to 2x empty rows."""
    cap = max(current, 16)
    if needed > 2 * cap:
        return needed
    while cap < needed:
        cap += cap // 2
    return cap


def as_offsets(offsets: Any) -> np.ndarray:
    """Offsets as a 1-d int64 array."""
    return np.asarray(offsets, dtype=np.int64).reshape(-1)


def candidate_offsets(candidates: Candidates, has: np.ndarray) -> np.ndarray:
    """Sorted unique offsets that are both candidates and hold a vector (`has` is the mask)."""
    n = has.shape[0]
    if candidates is None:
        return np.flatnonzero(has)
    if isinstance(candidates, CandidateMask):
        return candidates.offsets()
    cand = np.asarray(candidates)
    if cand.dtype == np.bool_:
        m = min(n, cand.shape[0])
        return np.flatnonzero(cand[:m] & has[:m])
    offs = cand.astype(np.int64, copy=False)
    # Callers usually pass np.flatnonzero output (already sorted and unique): a linear check
    # is far cheaper than np.unique's hashing.
    if offs.shape[0] > 1 and not bool(np.all(offs[1:] > offs[:-1])):
        offs = np.unique(offs)
    if offs.shape[0] and not (offs[0] >= 0 and offs[-1] < n):  # sorted: the ends bound them all
        offs = offs[(offs >= 0) & (offs < n)]
    present = has[offs]
    result: np.ndarray = offs if present.all() else offs[present]
    return result


def write_file(path: Path, data: bytes | memoryview, fileio: Any = None) -> None:
    """Write `data` crash-safely (temp file, fsync, rename), through `fileio` if given."""
    if fileio is None:
        write_atomic(path, data)
    else:
        write_atomic(path, data, fileio)


def npz_bytes(**arrays: np.ndarray) -> bytes:
    """Arrays packed as one uncompressed .npz blob."""
    buf = io.BytesIO()
    # numpy's stub lets a ** dict match the keyword-only `allow_pickle: bool`
    np.savez(buf, **arrays)  # type: ignore[arg-type]
    return buf.getvalue()


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of an .npz file, loaded eagerly (no pickles allowed)."""
    with np.load(path, allow_pickle=False) as data:
        return {name: data[name] for name in data.files}
