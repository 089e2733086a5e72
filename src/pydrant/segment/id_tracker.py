"""External id <-> internal offset, per-point versions and the live (not deleted) flags."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from pydrant.models.ids import PointId


class IdTracker:
    """Offsets are handed out in order and never reused inside a segment; deletion only clears
    the live flag (vacuum rebuilds the segment to reclaim space)."""

    def __init__(self) -> None:
        self.external: list[PointId | None] = []  # offset -> id (None once deleted)
        self.offsets: dict[PointId, int] = {}  # live ids only
        self._versions = np.zeros(16, dtype=np.int64)
        self._live = np.zeros(16, dtype=bool)
        # Bumped whenever the live set changes: keys caches derived from it (search candidates).
        self.live_version = 0

    @property
    def size(self) -> int:
        return len(self.external)

    @property
    def live_count(self) -> int:
        return len(self.offsets)

    @property
    def versions(self) -> np.ndarray:
        return self._versions[: self.size]

    @property
    def live(self) -> np.ndarray:
        return self._live[: self.size]

    def _reserve(self, capacity: int) -> None:
        if capacity <= len(self._versions):
            return
        new_capacity = max(capacity, 2 * len(self._versions))
        versions = np.zeros(new_capacity, dtype=np.int64)
        versions[: self.size] = self.versions
        live = np.zeros(new_capacity, dtype=bool)
        live[: self.size] = self.live
        self._versions, self._live = versions, live

    def allocate(self, ids: Sequence[PointId], version: int) -> np.ndarray:
        """New offsets for ids that are not live here (the caller guarantees it)."""
        start = self.size
        self._reserve(start + len(ids))
        self.external.extend(ids)
        offsets = np.arange(start, start + len(ids), dtype=np.int64)
        self.offsets.update(zip(ids, range(start, start + len(ids))))
        self._versions[offsets] = version
        self._live[offsets] = True
        self.live_version += 1
        return offsets

    def delete(self, offsets: np.ndarray, version: int) -> None:
        for offset in offsets.tolist():
            point_id = self.external[offset]
            if point_id is not None:
                del self.offsets[point_id]
                self.external[offset] = None
        self._live[offsets] = False
        self._versions[offsets] = version
        self.live_version += 1

    def stamp(self, offsets: np.ndarray, version: int) -> None:
        self._versions[offsets] = version

    def lookup(self, ids: Iterable[PointId]) -> list[int | None]:
        get = self.offsets.get
        return [get(i) for i in ids]

    def live_offsets(self) -> np.ndarray:
        return np.flatnonzero(self.live)

    # -- persistence --------------------------------------------------------------------------
    def state(self) -> tuple[list[PointId | None], np.ndarray, np.ndarray]:
        return self.external, self.versions.copy(), self.live.copy()

    @classmethod
    def restore(cls, external: list[PointId | None], versions: np.ndarray, live: np.ndarray) -> IdTracker:
        tracker = cls()
        tracker._reserve(len(external))  # while empty: nothing to copy
        tracker.external = list(external)
        tracker._versions[: len(external)] = versions
        tracker._live[: len(external)] = live
        tracker.offsets = {pid: off for off, pid in enumerate(tracker.external) if pid is not None}
        return tracker
