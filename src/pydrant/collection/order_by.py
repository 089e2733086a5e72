"""Scroll ordered by a payload value (`order_by`), merged across segments from their range indexes."""

from __future__ import annotations

import heapq
import itertools
from typing import Any, Iterator

from pydrant.collection.collection import Collection
from pydrant.collection.read import Projection, indexed_type
from pydrant.errors import BadInput, MalformedJson
from pydrant.models.ids import id_sort_key
from pydrant.segment.filtering.datetimes import parse_datetime

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
    key, direction, start_from = parse_order_by(raw_order_by)
    projection = Projection(collection, with_payload, with_vector)
    with collection.reading():
        _require_range_index(collection, key)
        streams = []
        for seg_index, segment in enumerate(collection.holder.segments):
            index = segment.field_index(key)
            if index is None:
                continue
            allowed = collection.holder.matching(segment, compiled_filter)
            streams.append(_stream(seg_index, segment, index.ordered_offsets(direction, start_from), set(allowed.tolist())))
        descending = direction == "desc"
        merged = heapq.merge(*streams, key=lambda item: (-item[0] if descending else item[0], item[1]))
        records = []
        for value, _id_key, seg_index, offset in itertools.islice(merged, limit):
            segment = collection.holder.segments[seg_index]
            records.extend(projection.records(segment, [offset], [{"order_value": value}]))
        return records


def _stream(seg_index: int, segment: Any, ordered: Iterator[tuple[Any, int]], allowed: set[int]) -> Iterator[tuple[Any, Any, int, int]]:
    ids = segment.tracker.external
    for value, offset in ordered:
        if offset in allowed:
            yield value, id_sort_key(ids[offset]), seg_index, offset
