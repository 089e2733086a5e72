"""Scroll ordered by a payload value (`order_by`), merged across segments from their range indexes."""

from __future__ import annotations

import heapq
import itertools
from typing import Any, Iterator

import numpy as np

from pydrant.collection.collection import Collection
from pydrant.collection.read import Projection, indexed_type
from pydrant.collection.search import candidates_in
from pydrant.errors import BadInput, MalformedJson
from pydrant.models.ids import id_sort_key
from pydrant.segment.filtering.datetimes import parse_datetime
from pydrant.segment.segment import Segment

RANGE_TYPES = ("integer", "float", "datetime")


def parse_order_by(raw: Any) -> tuple[str, str, Any]:
    """(key, direction, start_from) from a key string or an OrderBy object."""
    if isinstance(raw, str):
        return raw, "asc", None
    if not isinstance(raw, dict) or not isinstance(raw.get("key"), str):
        raise MalformedJson("order_by: expected a payload key or {\"key\": ..., \"direction\": ..., \"start_from\": ...}")
    direction = raw.get("direction") or "asc"
    if direction not in ("asc", "desc"):
        raise MalformedJson(f"order_by.direction: unknown variant `{direction}`, expected `asc` or `desc`")
    start = raw.get("start_from")
    if start is not None:
        if isinstance(start, bool) or not isinstance(start, (int, float, str)):
            raise MalformedJson("order_by.start_from: expected a number or an RFC 3339 datetime")
        if isinstance(start, str):
            micros = parse_datetime(start)
            if micros is None:
                raise MalformedJson(f"order_by.start_from: `{start}` is not an RFC 3339 datetime")
            start = micros
    return raw["key"], direction, start


def _require_range_index(collection: Collection, key: str) -> None:
    if indexed_type(collection, key) not in RANGE_TYPES:
        raise BadInput(
            f"No range index for `order_by` key: `{key}`. Please create one to use `order_by`. "
            "Integer, float and datetime payload indexes support ordering."
        )


def scroll_ordered(
    collection: Collection, compiled_filter: Any, raw_order_by: Any, limit: int, with_payload: Any, with_vector: Any
) -> list[dict[str, Any]]:
    projection = Projection(collection, with_payload, with_vector)
    with collection.reading():
        records = []
        for value, segment, offset in ordered_points(collection, compiled_filter, raw_order_by, limit):
            records.extend(projection.records(segment, [offset], [{"order_value": value}]))
        return records


def ordered_points(
    collection: Collection,
    compiled_filter: Any,
    raw_order_by: Any,
    limit: int,
    restrict: dict[int, np.ndarray] | None = None,
) -> list[tuple[Any, Segment, int]]:
    """The first `limit` (order value, segment, offset) of the live points matching the filter,
    ordered by the payload key's range index (ties by id); `restrict` (segment id -> offsets)
    limits them to those points, as when prefetch results are ordered. Call under the
    collection's read lock."""
    key, direction, start_from = parse_order_by(raw_order_by)
    _require_range_index(collection, key)
    segments = collection.holder.segments
    streams = []
    for seg_index, segment in enumerate(segments):
        index = segment.field_index(key)
        if index is None:
            continue
        offsets = None if restrict is None else restrict.get(segment.segment_id)
        if restrict is not None and offsets is None:
            continue  # no restricted point lives here
        allowed = candidates_in(segment, compiled_filter, offsets)
        streams.append(_stream(seg_index, segment, index.ordered_offsets(direction, start_from), set(allowed.tolist())))
    descending = direction == "desc"
    merged = heapq.merge(*streams, key=lambda item: (-item[0] if descending else item[0], item[1]))
    return [(value, segments[seg_index], offset) for value, _id_key, seg_index, offset in itertools.islice(merged, limit)]


def _stream(seg_index: int, segment: Any, ordered: Iterator[tuple[Any, int]], allowed: set[int]) -> Iterator[tuple[Any, Any, int, int]]:
    ids = segment.tracker.external
    for value, offset in ordered:
        if offset in allowed:
            yield value, id_sort_key(ids[offset]), seg_index, offset
