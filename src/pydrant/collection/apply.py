"""Applying one logged Operation to the segments: one function per variant, same code for live
writes and WAL replay. Each point write stamps the op number as the point's version, and a
write older than a point's version is skipped, so replaying an op twice changes nothing."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from pydrant.collection.config import CollectionConfig
from pydrant.collection.holder import SegmentHolder, group_by_segment
from pydrant.collection.operations import (
    ClearPayload,
    CreateFieldIndex,
    DeleteFieldIndex,
    DeletePayload,
    DeletePoints,
    DeleteVectors,
    Operation,
    OverwritePayload,
    SetPayload,
    UpdateVectors,
    Upsert,
    VectorColumns,
)
from pydrant.errors import NotFound
from pydrant.models.ids import PointId
from pydrant.segment.filtering.compile import compile_filter
from pydrant.segment.segment import Segment


MAX_APPENDABLE_POINTS = 50_000
DEFAULT_INDEXING_THRESHOLD_KB = 10_000


class Applier:
    """Applies operations to a holder; `config_provider` gives the current collection config."""

    def __init__(self, holder: SegmentHolder, config_provider: Callable[[], CollectionConfig]) -> None:
        self.holder = holder
        self.config = config_provider
        self.payload_schema: dict[str, Any] = {}

    def apply(self, op: Operation, version: int) -> None:
        match op:
            case Upsert():
                self._upsert(op, version)
            case DeletePoints():
                self._delete(op.ids, version)
            case SetPayload() | OverwritePayload() | DeletePayload() | ClearPayload():
                self._apply_payload_op(op, version)
            case UpdateVectors():
                self._update_vectors(op, version)
            case DeleteVectors():
                self._delete_vectors(op, version)
            case CreateFieldIndex():
                self.payload_schema[op.field_name] = op.field_schema
                for segment in self.holder.segments:
                    segment.create_index(op.field_name, op.field_schema)
            case DeleteFieldIndex():
                self.payload_schema.pop(op.field_name, None)
                for segment in self.holder.segments:
                    segment.drop_index(op.field_name)

    def _apply_payload_op(self, op: Operation, version: int) -> None:
        from pydrant.segment import payload_ops

        match op:
            case SetPayload():
                self._payload(op.ids, version, lambda cur: payload_ops.set_payload(cur, op.payload, op.key))
            case OverwritePayload():
                self._payload(op.ids, version, lambda cur: payload_ops.overwrite_payload(cur, op.payload))
            case DeletePayload():
                self._payload(op.ids, version, lambda cur: payload_ops.delete_payload_keys(cur, op.keys))
            case ClearPayload():
                self._payload(op.ids, version, lambda cur: None)

    # -- helpers ------------------------------------------------------------------------------
    def _specs(self) -> dict[str, Any]:
        return self.config().all_vectors()

    def apply_index_on_load(self, key: str, schema: Any) -> None:
        self.payload_schema[key] = schema
        for segment in self.holder.segments:
            segment.create_index(key, schema)

    def _threshold_points(self) -> int:
        """Points whose dense vectors take indexing_threshold KB (1 KB = one 256-dim float32
        vector); the default threshold when it is 0 (indexing off) or unset."""
        config = self.config()
        kb = int(config.raw["optimizer_config"].get("indexing_threshold") or DEFAULT_INDEXING_THRESHOLD_KB)
        bytes_per_point = sum(4 * spec.size for spec in config.vectors.values() if spec.kind == "dense") or 1024
        return kb * 1024 // bytes_per_point

    def indexing_enabled(self) -> bool:
        """Qdrant's `indexing_threshold: 0` turns vector indexing off."""
        return bool(self.config().raw["optimizer_config"].get("indexing_threshold") != 0)

    def seal_threshold(self) -> int:
        """Points an appendable segment takes before it is sealed while writes go on (Qdrant's
        indexing_threshold is in KB of vectors). Bounded on both sides: tiny thresholds would
        seal a segment per write batch, tiny vectors make an appendable segment (whose files
        every flush rewrites) hold hundreds of thousands of points."""
        return min(MAX_APPENDABLE_POINTS, max(1000, self._threshold_points()))

    def index_threshold(self) -> int:
        """Points past which a segment is indexed once writes pause: the indexing_threshold
        itself, without seal_threshold's floor (as Qdrant indexes any segment past it)."""
        return min(self.seal_threshold(), max(1, self._threshold_points()))

    def target_segment(self) -> Segment:
        segment = self.holder.appendable(self._specs())
        if segment.size >= self.seal_threshold():
            segment.appendable = False
            segment.dirty.add("ids")
            segment = self.holder.new_segment(self._specs())
        for key, schema in self.payload_schema.items():
            if key not in segment.indexes:
                segment.create_index(key, schema)
        return segment

    def _fresh(self, located: list[tuple[Segment, int] | None], version: int) -> list[tuple[int, tuple[Segment, int]]]:
        """(row, location) of points that exist and are older than this op."""
        out = []
        for row, loc in enumerate(located):
            if loc is not None and loc[0].tracker.versions[loc[1]] <= version:
                out.append((row, loc))
        return out

    def _filter_rows(self, rows_locs: list[tuple[int, tuple[Segment, int]]], raw_filter: Any) -> list[tuple[int, tuple[Segment, int]]]:
        if raw_filter is None or not rows_locs:
            return rows_locs
        compiled = compile_filter(raw_filter, "update_filter")
        keep: list[tuple[int, tuple[Segment, int]]] = []
        for segment, rows, offsets in group_by_segment(rows_locs).values():
            mask = self.holder.matching(segment, compiled)
            allowed = set(mask.tolist())
            keep.extend((r, (segment, o)) for r, o in zip(rows, offsets) if o in allowed)
        keep.sort(key=lambda item: item[0])
        return keep

    # -- points -------------------------------------------------------------------------------
    def _upsert(self, op: Upsert, version: int) -> None:
        ids = op.ids
        n = len(ids)
        last_row = {pid: row for row, pid in enumerate(ids)}  # duplicates: the last one wins
        unique_rows = sorted(last_row.values()) if len(last_row) != n else range(n)
        located = self.holder.locate(ids)
        existing: list[tuple[int, tuple[Segment, int]]] = []
        new_rows: list[int] = []
        for r in unique_rows:
            loc = located[r]
            if loc is None:
                new_rows.append(r)
            elif loc[0].tracker.versions[loc[1]] <= version:  # older than this op: replay-safe
                existing.append((r, loc))
        if op.mode == "insert_only":
            existing = []
        elif op.mode == "update_only":
            new_rows = []
        existing = self._filter_rows(existing, op.update_filter)

        target = self.target_segment()
        row_offsets = np.full(n, -1, dtype=np.int64)
        in_place_rows: list[int] = []
        moved_rows: list[int] = []
        for row, (segment, offset) in existing:
            if segment is target:
                row_offsets[row] = offset
                in_place_rows.append(row)
            else:
                moved_rows.append(row)
        for segment, _rows, moved_offsets in group_by_segment([(r, loc) for r, loc in existing if loc[0] is not target]).values():
            segment.delete(np.asarray(moved_offsets, dtype=np.int64), version)
        payloads = op.payloads
        insert_rows = sorted(new_rows + moved_rows)
        if insert_rows:
            row_offsets[insert_rows] = target.insert(
                [ids[r] for r in insert_rows],
                version,
                [payloads[r] if payloads is not None else None for r in insert_rows],
            )
        if in_place_rows:
            target.set_payloads(
                row_offsets[in_place_rows], [payloads[r] if payloads is not None else None for r in in_place_rows], version
            )
        if insert_rows or in_place_rows:
            _scatter_vectors(target, op.vectors, n, row_offsets, replace_rows=in_place_rows)
        if new_rows:
            self.holder.ids_version += 1
        if insert_rows:
            self.holder.layout_version += 1

    def _delete(self, ids: Sequence[PointId], version: int) -> None:
        located = self.holder.locate(ids)
        for segment, _rows, offsets in group_by_segment(self._fresh(located, version)).values():
            segment.delete(np.asarray(sorted(set(offsets)), dtype=np.int64), version)
        self.holder.ids_version += 1
        self.holder.layout_version += 1

    def _payload(self, ids: Sequence[PointId], version: int, change: Callable[[dict[str, Any] | None], dict[str, Any] | None]) -> None:
        located = self.holder.locate(ids)
        for segment, _rows, offsets in group_by_segment(self._fresh(located, version)).values():
            unique = sorted(set(offsets))
            current = segment.payloads
            segment.set_payloads(np.asarray(unique, dtype=np.int64), [change(current[o]) for o in unique], version)
        _report_missing(ids, located)

    def move_points(self, source: Segment, offsets: np.ndarray, version: int) -> tuple[Segment, np.ndarray]:
        """Copy points (ids, versions, payloads, vectors) from a sealed segment into the
        appendable one and delete them in the source, stamped with `version` (the op that moves
        them, so an optimizer copying the source sees the change); returns the new offsets.
        Vector writes go through here so that a segment's vector index never sees a write.
        Returns the segment that received them: taking them may have sealed the previous one."""
        target = self.target_segment()
        ids = source.ids_at(offsets.tolist())
        versions = source.tracker.versions[offsets].copy()
        new_offsets = target.insert(ids, 0, [source.payloads[o] for o in offsets.tolist()])
        target.tracker.versions[new_offsets] = versions
        target.copy_point_vectors_from(source, offsets, new_offsets)
        source.delete(offsets, version)
        self.holder.layout_version += 1
        return target, new_offsets

    def _update_vectors(self, op: UpdateVectors, version: int) -> None:
        located = self.holder.locate(op.ids)
        try:
            self._update_located_vectors(op, version, located)
        finally:
            _report_missing(op.ids, located)

    def _update_located_vectors(self, op: UpdateVectors, version: int, located: list[tuple[Segment, int] | None]) -> None:
        rows_locs = self._filter_rows(self._fresh(located, version), op.update_filter)
        appendable = self.target_segment()
        moved: list[tuple[int, tuple[Segment, int]]] = []
        staying: list[tuple[int, tuple[Segment, int]]] = []
        for row, (segment, offset) in rows_locs:
            (staying if segment is appendable else moved).append((row, (segment, offset)))
        for segment, rows, offsets in group_by_segment(moved).values():
            receiver, new_offsets = self.move_points(segment, np.asarray(offsets, dtype=np.int64), version)
            staying.extend((r, (receiver, int(o))) for r, o in zip(rows, new_offsets.tolist()))
        for segment, rows, offsets in group_by_segment(staying).values():
            row_offsets = np.full(len(op.ids), -1, dtype=np.int64)
            row_offsets[rows] = offsets
            _scatter_vectors(segment, op.vectors, len(op.ids), row_offsets, replace_rows=[])
            segment.stamp(np.asarray(offsets, dtype=np.int64), version)

    def _delete_vectors(self, op: DeleteVectors, version: int) -> None:
        located = self.holder.locate(op.ids)
        for segment, _rows, offsets in group_by_segment(self._fresh(located, version)).values():
            offs = np.asarray(sorted(set(offsets)), dtype=np.int64)
            for name in op.names:
                segment.clear_vectors(name, offs)
            segment.stamp(offs, version)
        _report_missing(op.ids, located)


def _report_missing(ids: Sequence[PointId], located: list[tuple[Segment, int] | None]) -> None:
    """Qdrant writes the points it finds and then fails on the first missing one."""
    for point_id, loc in zip(ids, located):
        if loc is None:
            raise NotFound(f"No point with id {point_id} found")


def _scatter_vectors(
    segment: Segment, columns: VectorColumns, n_rows: int, row_offsets: np.ndarray, replace_rows: list[int]
) -> None:
    """Write each column's vectors to the rows' target offsets (-1 = row not applied). For
    `replace_rows` (an upsert over an existing point), names the row does not carry are cleared."""
    for name, dense in columns.dense.items():
        rows = np.arange(n_rows) if dense.rows is None else np.asarray(dense.rows, dtype=np.int64)
        targets = row_offsets[rows]
        keep = targets >= 0
        if keep.any():
            matrix = dense.matrix()
            segment.set_vectors(name, targets[keep], matrix[keep] if not keep.all() else matrix)
    # Multivectors and sparse vectors travel as one value per row.
    per_row: list[tuple[str, list[int], list[Any]]] = [
        *((name, multi.rows, multi.matrices()) for name, multi in columns.multi.items()),
        *((name, sparse.rows, sparse.pairs()) for name, sparse in columns.sparse.items()),
    ]
    for name, value_rows, values in per_row:
        targets = row_offsets[np.asarray(value_rows, dtype=np.int64)]
        kept = [i for i, t in enumerate(targets.tolist()) if t >= 0]
        if kept:
            segment.set_vectors(name, targets[kept], [values[i] for i in kept])
    if replace_rows:
        for name in segment.vectors:
            carried = set(columns.rows_with(name, n_rows)) if name in columns.names() else set()
            cleared = [row_offsets[r] for r in replace_rows if r not in carried]
            if cleared:
                segment.clear_vectors(name, np.asarray(cleared, dtype=np.int64))
