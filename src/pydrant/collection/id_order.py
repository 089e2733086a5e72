"""All live point ids of a collection in Qdrant's order (integers first, then UUIDs), rebuilt
only when the set of ids changes. Scroll pages slice it in O(page).

Where each id lives (segment, offset) is a second, lazily built layer: moving points between
segments (vector updates, optimizations) does not change the id order, so an unfiltered scroll
never pays for it; filtered scrolls rebuild it when the layout changed."""

from __future__ import annotations

import numpy as np

from pydrant.collection.holder import SegmentHolder
from pydrant.models.ids import PointId
from pydrant.segment.segment import Segment


class IdOrder:
    def __init__(self, holder: SegmentHolder) -> None:
        int_ids: list[int] = []
        uuid_ids: list[str] = []
        for segment in holder.segments:
            for point_id in segment.tracker.offsets:
                if type(point_id) is int:
                    int_ids.append(point_id)
                else:
                    uuid_ids.append(point_id)  # type: ignore[arg-type]
        self.ints = np.sort(np.asarray(int_ids, dtype=np.uint64))
        # Canonical lowercase hyphenated UUIDs sort as strings exactly as by their 128-bit value.
        self.uuids = np.sort(np.asarray(uuid_ids, dtype="U36")) if uuid_ids else np.zeros(0, dtype="U36")
        self.version = holder.ids_version
        self._layout_version = -1
        self.segments: list[Segment] = []
        self.seg = np.zeros(0, np.int64)
        self.off = np.zeros(0, np.int64)
        self.flat = np.zeros(0, np.int64)

    def __len__(self) -> int:
        return len(self.ints) + len(self.uuids)

    def position(self, point_id: PointId) -> int:
        """Index of the first id >= point_id."""
        if type(point_id) is int:
            return int(np.searchsorted(self.ints, np.uint64(point_id), side="left"))
        return len(self.ints) + int(np.searchsorted(self.uuids, point_id, side="left"))

    def id_at(self, index: int) -> PointId:
        if index < len(self.ints):
            return int(self.ints[index])
        return str(self.uuids[index - len(self.ints)])

    def ids_between(self, start: int, stop: int) -> list[PointId]:
        n_int = len(self.ints)
        out: list[PointId] = self.ints[min(start, n_int) : min(stop, n_int)].tolist()
        if stop > n_int:
            out.extend(self.uuids[max(start - n_int, 0) : stop - n_int].tolist())
        return out

    def locate_all(self, holder: SegmentHolder) -> None:
        """Build `seg`, `off` and `flat` (offset in the concatenation of all segments) for every
        position, if points moved since the last build."""
        if self._layout_version == holder.layout_version and self.segments == holder.segments:
            return
        self.segments = list(holder.segments)
        seg = np.full(len(self), -1, dtype=np.int64)
        off = np.full(len(self), -1, dtype=np.int64)
        for seg_index, segment in enumerate(self.segments):
            ints: list[int] = []
            int_offs: list[int] = []
            uuids: list[str] = []
            uuid_offs: list[int] = []
            for point_id, offset in segment.tracker.offsets.items():
                if type(point_id) is int:
                    ints.append(point_id)
                    int_offs.append(offset)
                else:
                    uuids.append(point_id)  # type: ignore[arg-type]
                    uuid_offs.append(offset)
            if ints:
                pos = np.searchsorted(self.ints, np.asarray(ints, dtype=np.uint64))
                seg[pos] = seg_index
                off[pos] = int_offs
            if uuids:
                pos = len(self.ints) + np.searchsorted(self.uuids, np.asarray(uuids, dtype="U36"))
                seg[pos] = seg_index
                off[pos] = uuid_offs
        bases = np.cumsum([0] + [s.size for s in self.segments])
        self.seg, self.off = seg, off
        self.flat = bases[seg] + off if len(seg) else np.zeros(0, np.int64)
        self._layout_version = holder.layout_version
