"""All live point ids of a collection in Qdrant's order (integers first, then UUIDs), with where
each one lives, rebuilt only when the set of ids changes. Scroll pages slice it in O(page)."""

from __future__ import annotations

import numpy as np

from pydrant.collection.holder import SegmentHolder
from pydrant.models.ids import PointId


class IdOrder:
    def __init__(self, holder: SegmentHolder) -> None:
        int_ids: list[int] = []
        int_loc: list[tuple[int, int]] = []
        uuid_ids: list[str] = []
        uuid_loc: list[tuple[int, int]] = []
        self.segments = list(holder.segments)
        for seg_index, segment in enumerate(self.segments):
            for point_id, offset in segment.tracker.offsets.items():
                if type(point_id) is int:
                    int_ids.append(point_id)
                    int_loc.append((seg_index, offset))
                else:
                    uuid_ids.append(point_id)  # type: ignore[arg-type]
                    uuid_loc.append((seg_index, offset))
        ints = np.asarray(int_ids, dtype=np.uint64)
        int_order = np.argsort(ints, kind="stable")
        # Canonical lowercase hyphenated UUIDs sort as strings exactly as by their 128-bit value.
        uuids = np.asarray(uuid_ids, dtype="U36") if uuid_ids else np.zeros(0, dtype="U36")
        uuid_order = np.argsort(uuids, kind="stable")
        self.ints = ints[int_order]
        self.uuids = uuids[uuid_order]
        loc = np.asarray(int_loc + uuid_loc, dtype=np.int64).reshape(-1, 2)
        order = np.concatenate([int_order, len(int_ids) + uuid_order]).astype(np.int64)
        self.seg = loc[order, 0] if len(order) else np.zeros(0, np.int64)
        self.off = loc[order, 1] if len(order) else np.zeros(0, np.int64)
        bases = np.cumsum([0] + [s.size for s in self.segments])
        self.flat = bases[self.seg] + self.off if len(order) else np.zeros(0, np.int64)
        self.flat_size = int(bases[-1])
        self.version = holder.ids_version

    def __len__(self) -> int:
        return len(self.seg)

    def position(self, point_id: PointId) -> int:
        """Index of the first id >= point_id."""
        if type(point_id) is int:
            if point_id < 0:
                return 0
            return int(np.searchsorted(self.ints, np.uint64(point_id), side="left"))
        return len(self.ints) + int(np.searchsorted(self.uuids, point_id, side="left"))

    def id_at(self, index: int) -> PointId:
        if index < len(self.ints):
            return int(self.ints[index])
        return str(self.uuids[index - len(self.ints)])
