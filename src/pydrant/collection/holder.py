"""The collection's segments: which one takes new writes, where each live point is."""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np

from pydrant.models.ids import PointId
from pydrant.segment.filtering.evaluate import evaluate
from pydrant.segment.segment import Segment


class SegmentHolder:
    def __init__(self, segments: list[Segment], next_segment_id: int) -> None:
        self.segments = segments
        self.next_segment_id = next_segment_id
        self.ids_version = 0  # bumped whenever the set of live ids changes (scroll order key)
        self.layout_version = 0  # bumped whenever a point changes segment or offset

    def reserve_segment_id(self) -> int:
        segment_id = self.next_segment_id
        self.next_segment_id += 1
        return segment_id

    def new_segment(self, vector_specs: dict[str, Any], appendable: bool = True) -> Segment:
        segment = Segment(self.reserve_segment_id(), vector_specs, appendable)
        self.segments.append(segment)
        return segment

    def replace(self, sources: list[Segment], target: Segment) -> None:
        """Swap `sources` for `target` in one list assignment (readers copy the list)."""
        position = min(self.segments.index(s) for s in sources)
        remaining = [s for s in self.segments if all(s is not src for src in sources)]
        remaining.insert(min(position, len(remaining)), target)
        self.segments = remaining
        self.layout_version += 1

    def appendable(self, vector_specs: dict[str, Any]) -> Segment:
        for segment in reversed(self.segments):
            if segment.appendable:
                return segment
        return self.new_segment(vector_specs)

    def locate(self, ids: Sequence[PointId]) -> list[tuple[Segment, int] | None]:
        found: list[tuple[Segment, int] | None] = [None] * len(ids)
        for segment in self.segments:
            if segment.live_count == 0:
                continue
            get = segment.tracker.offsets.get
            for row, point_id in enumerate(ids):
                if found[row] is None:
                    offset = get(point_id)
                    if offset is not None:
                        found[row] = (segment, offset)
        return found

    def live_count(self) -> int:
        return sum(s.live_count for s in self.segments)

    def matching(self, segment: Segment, compiled_filter: Any) -> np.ndarray:
        """Offsets of live points in `segment` that satisfy the filter (None = all live)."""
        live = segment.tracker.live
        if compiled_filter is None:
            return np.flatnonzero(live)
        return np.flatnonzero(evaluate(compiled_filter, segment) & live)

    def matching_ids(self, compiled_filter: Any) -> list[PointId]:
        out: list[PointId] = []
        for segment in self.segments:
            out.extend(segment.ids_at(self.matching(segment, compiled_filter).tolist()))
        return out


def group_by_segment(located: Iterable[tuple[int, tuple[Segment, int]]]) -> dict[int, tuple[Segment, list[int], list[int]]]:
    """rows grouped per segment: segment_id -> (segment, rows, offsets)."""
    groups: dict[int, tuple[Segment, list[int], list[int]]] = {}
    for row, (segment, offset) in located:
        entry = groups.get(segment.segment_id)
        if entry is None:
            entry = groups[segment.segment_id] = (segment, [], [])
        entry[1].append(row)
        entry[2].append(offset)
    return groups
