"""Reads over a consistent segment snapshot: retrieve, scroll, count, and record formatting."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from pydrant.collection.collection import Collection
from pydrant.collection.config import DEFAULT_VECTOR
from pydrant.collection.convert import parse_ids
from pydrant.collection.id_order import IdOrder
from pydrant.collection.payload_selector import exclude, include, selector_tree
from pydrant.errors import MalformedJson
from pydrant.models.ids import PointId
from pydrant.segment.segment import Segment
from pydrant.segment.float_json import json_float_list

if TYPE_CHECKING:
    from pydrant.collection.search import Hit, SegmentTop


class Projection:
    """What to return of each point: payload selector and vector names."""

    def __init__(self, collection: Collection, with_payload: Any, with_vector: Any) -> None:
        self.payload_mode, self.payload_keys = _payload_selector(with_payload)
        if self.payload_mode in ("include", "exclude"):
            selector_tree(tuple(self.payload_keys))  # a malformed key is a 400 before any read
        config = collection.config
        # A point holding only the unnamed vector shows it bare, sparse vectors configured or not
        # (as Qdrant and local mode); holding more, every vector by name.
        self.single_vector = config.vectors_single
        all_names = list(config.all_vectors())
        if with_vector is True:
            self.vector_names = all_names
        elif with_vector in (False, None):
            self.vector_names = []
        elif isinstance(with_vector, list) and all(isinstance(n, str) for n in with_vector):
            for name in with_vector:
                config.vector(name)  # unknown names are a 400
            self.vector_names = list(with_vector)
        else:
            raise MalformedJson("with_vector: expected a boolean or a list of vector names")

    @property
    def sends_payload(self) -> bool:
        """Whether answers carry a `payload` field: as in Qdrant, it is left out (not sent
        as null) when no payload was asked for."""
        return self.payload_mode != "none"

    def payload(self, payload: dict[str, Any] | None) -> dict[str, Any] | None:
        if self.payload_mode == "none":
            return None
        current = payload or {}
        if self.payload_mode == "all":
            return current
        tree = selector_tree(tuple(self.payload_keys))
        selected: dict[str, Any] = include(current, tree) if self.payload_mode == "include" else exclude(current, tree)
        return selected

    def payloads(self, stored: Sequence[dict[str, Any] | None], offsets: list[int]) -> list[dict[str, Any] | None]:
        """`payload` of each offset, with the mode decided once for all of them."""
        if self.payload_mode == "none":
            return [None] * len(offsets)
        if self.payload_mode == "all":
            return [stored[o] or {} for o in offsets]
        return [self.payload(stored[o]) for o in offsets]

    def hit_payloads(self, hits: Sequence[Any]) -> list[dict[str, Any] | None]:
        """`payload` of each search hit (objects with `segment` and `offset`)."""
        if self.payload_mode == "none":
            return [None] * len(hits)
        if self.payload_mode == "all":
            return [hit.segment.payloads[hit.offset] or {} for hit in hits]
        return [self.payload(hit.segment.payloads[hit.offset]) for hit in hits]

    def records(self, segment: Segment, offsets: Sequence[int] | np.ndarray, extra: Sequence[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        """Record objects of `offsets`. As in Qdrant, `payload` and `vector` are left out
        when not asked for (not sent as null)."""
        offs = np.asarray(offsets, dtype=np.int64)
        offs_list = offs.tolist()
        ids = segment.ids_at(offs_list)
        if not self.vector_names:
            records: list[dict[str, Any]]
            if self.sends_payload:
                records = [{"id": i, "payload": p} for i, p in zip(ids, self.payloads(segment.payloads, offs_list))]
            else:
                records = [{"id": i} for i in ids]
            if extra is not None:
                for plain, e in zip(records, extra):
                    plain.update(e)
            return records
        payloads = self.payloads(segment.payloads, offs_list)
        vectors = segment.vectors_json(offs, self.vector_names)
        out = []
        for i in range(len(offs_list)):
            record: dict[str, Any] = {"id": ids[i]}
            if self.sends_payload:
                record["payload"] = payloads[i]
            point_vectors = {name: column[i] for name, column in vectors.items() if column[i] is not None}
            if self.single_vector and set(point_vectors) <= {DEFAULT_VECTOR} and DEFAULT_VECTOR in point_vectors:
                record["vector"] = point_vectors[DEFAULT_VECTOR]
            else:
                record["vector"] = point_vectors
            if extra is not None:
                record.update(extra[i])
            out.append(record)
        return out


def _payload_selector(raw: Any) -> tuple[str, list[str]]:
    if raw is None or raw is True:
        return "all", []
    if raw is False:
        return "none", []
    if isinstance(raw, list) and all(isinstance(k, str) for k in raw):
        return "include", raw
    if isinstance(raw, dict) and len(raw) == 1:
        (mode, keys), = raw.items()
        if mode in ("include", "exclude") and isinstance(keys, list) and all(isinstance(k, str) for k in keys):
            return mode, keys
    raise MalformedJson("with_payload: expected a boolean, a list of keys, {\"include\": [...]} or {\"exclude\": [...]}")


# -------------------------------------------------------------------------------------------------


def retrieve(collection: Collection, raw_ids: Any, with_payload: Any, with_vector: Any) -> list[dict[str, Any]]:
    ids = parse_ids(raw_ids, "ids")
    projection = Projection(collection, with_payload, with_vector)
    with collection.reading():
        located = collection.holder.locate(ids)
        # Records are read with one `records` call per segment, then put back in request order.
        by_segment: dict[Segment, tuple[list[int], list[int]]] = {}  # -> (output rows, offsets)
        seen: set[PointId] = set()
        for point_id, loc in zip(ids, located):
            if loc is None or point_id in seen:
                continue
            seen.add(point_id)
            rows, offsets = by_segment.setdefault(loc[0], ([], []))
            rows.append(len(seen) - 1)
            offsets.append(loc[1])
        out: list[Any] = [None] * len(seen)
        for segment, (rows, offsets) in by_segment.items():
            for row, record in zip(rows, projection.records(segment, offsets)):
                out[row] = record
        return out


def id_order(collection: Collection) -> IdOrder:
    """The cached id order for the current set of ids (call under the read lock)."""
    cached: IdOrder | None = getattr(collection, "_id_order", None)
    if cached is None or cached.version != collection.holder.ids_version:
        cached = IdOrder(collection.holder)
        collection._id_order = cached  # type: ignore[attr-defined]
    return cached


def filter_flat_mask(collection: Collection, order: IdOrder, compiled_filter: Any) -> np.ndarray:
    """Bool mask over `order.flat` positions: live and matching the filter."""
    from pydrant.segment.filtering.evaluate import evaluate

    parts = []
    for segment in order.segments:
        live = segment.tracker.live
        parts.append(live if compiled_filter is None else evaluate(compiled_filter, segment) & live)
    return np.concatenate(parts) if parts else np.zeros(0, dtype=bool)


def scroll(
    collection: Collection, compiled_filter: Any, offset: PointId | None, limit: int, with_payload: Any, with_vector: Any
) -> tuple[list[dict[str, Any]], PointId | None]:
    projection = Projection(collection, with_payload, with_vector)
    with collection.reading():
        order = id_order(collection)
        start = 0 if offset is None else order.position(offset)
        if compiled_filter is None:
            page_ids = order.ids_between(start, start + limit + 1)
            next_offset = page_ids[limit] if len(page_ids) > limit else None
            located = collection.holder.locate(page_ids[:limit])
            segments = collection.holder.segments
            index = {id(s): i for i, s in enumerate(segments)}
            seg_indexes = np.asarray([index[id(loc[0])] for loc in located if loc is not None], dtype=np.int64)
            offsets = np.asarray([loc[1] for loc in located if loc is not None], dtype=np.int64)
            return gather_records(projection, segments, seg_indexes, offsets), next_offset
        order.locate_all(collection.holder)
        mask = filter_flat_mask(collection, order, compiled_filter)
        hits = mask[order.flat[start:]]
        picked = start + np.flatnonzero(hits)[: limit + 1]
        next_offset = order.id_at(int(picked[limit])) if len(picked) > limit else None
        picked = picked[:limit]
        return gather_records(projection, order.segments, order.seg[picked], order.off[picked]), next_offset


def gather_records(projection: Projection, segments: Sequence[Segment], seg_indexes: np.ndarray, offsets: np.ndarray, extra: Sequence[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Records for (segment, offset) pairs in the given order, built one segment at a time."""
    records: list[Any] = [None] * len(offsets)
    for seg_index in np.unique(seg_indexes).tolist():
        rows = np.flatnonzero(seg_indexes == seg_index)
        part_extra = [extra[i] for i in rows.tolist()] if extra is not None else None
        for row, record in zip(rows.tolist(), projection.records(segments[seg_index], offsets[rows], part_extra)):
            records[row] = record
    return records


def count(collection: Collection, compiled_filter: Any, exact: bool = True) -> int:
    with collection.reading():
        if compiled_filter is None:
            return collection.holder.live_count()
        if not exact:
            estimate = _estimate(collection, compiled_filter)
            if estimate is not None:
                return estimate
        return sum(len(collection.holder.matching(s, compiled_filter)) for s in collection.holder.segments)


def _estimate(collection: Collection, compiled_filter: Any) -> int | None:
    """Approximate count from payload indexes alone: a filter of only `must` conditions is
    bounded by its most selective indexed condition. None when indexes cannot tell."""
    from pydrant.segment.filtering.evaluate import estimate_cardinality

    if compiled_filter.should or compiled_filter.must_not or compiled_filter.min_should or not compiled_filter.must:
        return None
    total = 0
    for segment in collection.holder.segments:
        estimates = [estimate_cardinality(cond, segment) for cond in compiled_filter.must]
        known = [e for e in estimates if e is not None]
        if not known:
            return None
        total += min(min(known), segment.live_count)
    return total


FACET_TYPES = ("keyword", "integer", "bool", "uuid")


def indexed_type(collection: Collection, key: str) -> str | None:
    """The type of the payload index on `key` (a type name or a params object's `type`)."""
    schema = collection.applier.payload_schema.get(key)
    data_type = schema if isinstance(schema, str) else (schema or {}).get("type")
    return data_type if isinstance(data_type, str) else None


def facet(collection: Collection, key: str, compiled_filter: Any, limit: int) -> list[dict[str, Any]]:
    """Value counts, largest first, ties by value (Qdrant's order); exact counts always."""
    from pydrant.errors import BadInput

    with collection.reading():
        if indexed_type(collection, key) not in FACET_TYPES:
            raise BadInput(
                f"Index required but not found for \"{key}\" of one of the following types: [keyword, integer, bool, uuid]. "
                "Help: Create an index for this key or use a different filter."
            )
        totals: dict[Any, int] = {}
        for segment in collection.holder.segments:
            index = segment.field_index(key)
            if index is None:
                continue
            for value, n in index.value_counts(collection.holder.matching(segment, compiled_filter)).items():
                totals[value] = totals.get(value, 0) + n
    ranked = sorted(totals.items(), key=lambda item: (-item[1], _facet_order(item[0])))
    return [{"value": value, "count": n} for value, n in ranked[:limit]]


def _facet_order(value: Any) -> tuple[int, Any]:
    if isinstance(value, bool):
        return (0, value)
    if isinstance(value, (int, float)):
        return (1, value)
    return (2, str(value))


def scored_points(projection: Projection, hits: list[Hit]) -> list[dict[str, Any]]:
    """ScoredPoint records in hit order, read with one `records` call per segment."""
    if not hits:
        return []
    scores = json_float_list([h.score for h in hits])
    if not projection.vector_names:
        # The common case (no vectors): each record straight from its hit, ids already known.
        if not projection.sends_payload:
            return [{"id": hit.point_id, "score": score, "version": version}
                    for hit, score, version in zip(hits, scores, _versions(hits))]
        payloads = projection.hit_payloads(hits)
        return [
            {"id": hit.point_id, "payload": payload, "score": score, "version": version}
            for hit, payload, score, version in zip(hits, payloads, scores, _versions(hits))
        ]
    rows_by_segment: dict[Segment, list[int]] = {}  # segments hash by identity
    for row, hit in enumerate(hits):
        rows_by_segment.setdefault(hit.segment, []).append(row)
    out: list[Any] = [None] * len(hits)
    for segment, rows in rows_by_segment.items():
        offsets = [hits[row].offset for row in rows]
        versions = segment.tracker.versions[offsets].tolist()
        extra = [{"score": scores[row], "version": version} for row, version in zip(rows, versions)]
        for row, record in zip(rows, projection.records(segment, offsets, extra)):
            out[row] = record
    return out


def segment_scored_points(projection: Projection, top: SegmentTop, skip: int = 0) -> list[dict[str, Any]]:
    """`scored_points` of one segment's answer held in arrays, from its `skip`-th hit on (a
    query's offset), when no vector is asked for: no Hit per point."""
    segment, offsets = top.segment, top.offsets[skip:]
    offset_list = offsets.tolist()
    ids = segment.ids_at(offset_list)
    scores = json_float_list(top.scores[skip:])
    versions = segment.tracker.versions[offsets].tolist()
    if not projection.sends_payload:
        return [{"id": point_id, "score": score, "version": version}
                for point_id, score, version in zip(ids, scores, versions)]
    payloads = projection.payloads(segment.payloads, offset_list)
    return [
        {"id": point_id, "payload": payload, "score": score, "version": version}
        for point_id, payload, score, version in zip(ids, payloads, scores, versions)
    ]


def _versions(hits: list[Hit]) -> list[int]:
    """Each hit's point version; one gather when the hits share a segment (the usual case)."""
    segment = hits[0].segment
    if all(hit.segment is segment for hit in hits):
        versions: list[int] = segment.tracker.versions[[hit.offset for hit in hits]].tolist()
        return versions
    return [int(hit.segment.tracker.versions[hit.offset]) for hit in hits]
