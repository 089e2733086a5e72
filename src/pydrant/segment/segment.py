"""One segment: id tracker, vector storages, payloads and payload indexes, with versioned writes.

The segment never sees Operations: the collection's update functions call these methods with
plain offsets, numpy arrays and payload dicts. Reads implement `FilterContext` for filtering.

Payloads change only through these methods, which replace whole dicts (never edit one in place)
and bump `payload_version`: the filter's column cache is valid exactly while it stands still.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

import msgspec
import numpy as np

from pydrant.models.ids import PointId
from pydrant.segment.filtering.context import ColumnCache, VersionedCache
from pydrant.segment.id_tracker import IdTracker
from pydrant.segment.vectors.base import make_storage


def storage_kind(kind: str) -> str:
    return "sparse" if kind == "sparse" else "dense"


class Segment:
    def __init__(self, segment_id: int, vector_specs: dict[str, Any], appendable: bool = True) -> None:
        self.segment_id = segment_id
        self.appendable = appendable
        self.tracker = IdTracker()
        self.payloads: list[dict[str, Any] | None] = []
        self.vectors = {name: make_storage(storage_kind(spec.kind), spec.params) for name, spec in vector_specs.items()}
        self.indexes: dict[str, Any] = {}
        self.dirty: set[str] = {"ids", "payloads", *(f"vec:{n}" for n in self.vectors)}
        self.max_version = -1  # highest op applied here
        self.payload_version = 0  # bumped by every payload change (see _payloads_changed)
        self.schema_version = 0  # bumped when a vector name or a payload index comes or goes
        self.column_cache = ColumnCache()
        # Filtered search candidates (CandidateMask) by (storage, filter), stamped with the
        # segment state they came from (collection/search.py, `_filter_state`).
        self.candidate_cache = VersionedCache(capacity=8)
        self._payload_bytes = (-1, 0)  # (payload_version, size): see payload_bytes

    # ---- FilterContext ----------------------------------------------------------------------
    @property
    def size(self) -> int:
        return self.tracker.size

    def offsets_of_ids(self, ids: Iterable[PointId]) -> np.ndarray:
        found = [o for o in self.tracker.lookup(ids) if o is not None]
        return np.asarray(found, dtype=np.int64)

    def vector_mask(self, name: str) -> np.ndarray:
        storage = self.vectors.get(name)
        if storage is None:
            return np.zeros(self.size, dtype=bool)
        return storage.has_mask(self.size)

    def field_index(self, key: str) -> Any:
        return self.indexes.get(key)

    # ---- reads ------------------------------------------------------------------------------
    @property
    def live_count(self) -> int:
        return self.tracker.live_count

    def offset_of(self, point_id: PointId) -> int | None:
        return self.tracker.offsets.get(point_id)

    def payload_bytes(self) -> int:
        """The payloads' size as JSON (deleted points' as null), kept until they change: strict
        mode's payload storage limit asks for it on every upsert."""
        if self._payload_bytes[0] != self.payload_version:
            self._payload_bytes = (self.payload_version, len(msgspec.json.encode(self.payloads)))
        return self._payload_bytes[1]

    def ids_at(self, offsets: Sequence[int]) -> list[PointId]:
        external = self.tracker.external
        # callers pass live offsets, whose ids are never None
        return cast("list[PointId]", [external[o] for o in offsets])

    def vectors_json(self, offsets: np.ndarray, names: Sequence[str]) -> dict[str, list[Any]]:
        return {name: self.vectors[name].get_json(offsets) for name in names if name in self.vectors}

    # ---- writes (called by the update worker only) ---------------------------------------------
    def _touch(self, version: int, *components: str) -> None:
        self.dirty.update(components)
        self.max_version = max(self.max_version, version)

    def _payloads_changed(self) -> None:
        # Called once the payloads are written, never before: a reader that read the new version
        # must find the new payloads. Anything built from the old ones is stored under the old
        # version, which is never served again.
        self.payload_version += 1
        self.column_cache.clear()

    def insert(self, ids: Sequence[PointId], version: int, payloads: Sequence[dict[str, Any] | None]) -> np.ndarray:
        offsets = self.tracker.allocate(ids, version)
        self.append_payloads(offsets, payloads)
        self._touch(version, "ids", "payloads")
        return offsets

    def append_payloads(self, offsets: np.ndarray, payloads: Sequence[dict[str, Any] | None]) -> None:
        """Payloads (and index entries) of `offsets`, just allocated at the end of the tracker."""
        self.payloads.extend(payloads)
        self._reindex(offsets)
        self._payloads_changed()

    def delete(self, offsets: np.ndarray, version: int) -> None:
        if len(offsets) == 0:
            return
        self.tracker.delete(offsets, version)
        for offset in offsets.tolist():
            self.payloads[offset] = None
            for index in self.indexes.values():
                index.remove_point(offset)
        for name, storage in self.vectors.items():
            storage.clear(offsets)
            self.dirty.add(f"vec:{name}")
        self._payloads_changed()
        self._touch(version, "ids", "payloads")

    def set_payloads(self, offsets: np.ndarray, payloads: Sequence[dict[str, Any] | None], version: int) -> None:
        for offset, payload in zip(offsets.tolist(), payloads):
            self.payloads[offset] = payload
        self._payloads_changed()
        self._reindex(offsets)
        self.tracker.stamp(offsets, version)
        self._touch(version, "ids", "payloads")

    def set_vectors(self, name: str, offsets: np.ndarray, values: Any) -> None:
        storage = self.vectors.get(name)
        if storage is None:  # vector name deleted after the op was logged (replay)
            return
        storage.set(offsets, values)
        self.dirty.add(f"vec:{name}")

    def clear_vectors(self, name: str, offsets: np.ndarray) -> None:
        storage = self.vectors.get(name)
        if storage is not None and len(offsets):
            storage.clear(offsets)
            self.dirty.add(f"vec:{name}")

    def stamp(self, offsets: np.ndarray, version: int) -> None:
        self.tracker.stamp(offsets, version)
        self._touch(version, "ids")

    def copy_point_vectors_from(self, source: Segment, src: np.ndarray, dst: np.ndarray) -> None:
        for name, storage in self.vectors.items():
            other = source.vectors.get(name)
            if other is not None:
                storage.copy_from(other, src, dst)
                self.dirty.add(f"vec:{name}")

    # ---- schema changes -------------------------------------------------------------------------
    def add_vector_name(self, name: str, kind: str, params: dict[str, Any]) -> None:
        if name not in self.vectors:
            self.vectors[name] = make_storage(storage_kind(kind), params)
            self.dirty.add(f"vec:{name}")
            self.schema_version += 1

    def drop_vector_name(self, name: str) -> None:
        self.vectors.pop(name, None)
        self.dirty.add("ids")
        self.schema_version += 1

    def create_index(self, key: str, field_schema: Any) -> None:
        from pydrant.segment.payload_index import make_field_index

        index = make_field_index(key, field_schema)
        payloads = self.payloads
        for offset in self.tracker.live_offsets().tolist():
            index.index_point(offset, payloads[offset])
        self.indexes[key] = index
        self.schema_version += 1  # a full-text index changes what `match: text` means

    def drop_index(self, key: str) -> None:
        self.indexes.pop(key, None)
        self.schema_version += 1

    def _reindex(self, offsets: np.ndarray) -> None:
        if not self.indexes:
            return
        payloads = self.payloads
        for offset in offsets.tolist():
            payload = payloads[offset]
            for index in self.indexes.values():
                index.index_point(offset, payload)

    @property
    def external_ids(self) -> Sequence[PointId | None]:
        return self.tracker.external

    def indexed_vectors_count(self) -> int:
        """Vectors served by a vector index (HNSW); plain segments index none."""
        return sum(getattr(storage, "indexed_count", lambda: 0)() for storage in self.vectors.values())
