"""The field index interface, and what every index shares: per-offset values of one key."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any

import numpy as np

from pydrant.errors import Unsupported
from pydrant.segment.filtering.paths import parse_path, values_at


class FieldIndex(ABC):
    """An index over the values of one payload key, kept per internal offset.

    Subclasses convert payload values to what they store (`convert`; values of another type are
    not indexed) and answer the conditions they can answer exactly (`_offsets`).
    """

    data_type: str = ""

    def __init__(self, key: str, params: dict[str, Any] | None = None) -> None:
        self.key = key
        self.path = parse_path(key)
        self.params = params
        self._values: dict[int, list[Any]] = {}

    # -- maintenance ---------------------------------------------------------------------------

    @abstractmethod
    def convert(self, value: Any) -> Any | None:
        """The stored form of one payload value, or None if this index does not hold it."""

    def index_point(self, offset: int, payload: dict[str, Any] | None) -> None:
        """(Re-)index one offset from its payload, replacing what it held before."""
        self.remove_point(offset)
        raw = values_at(payload, self.path) if payload else []
        stored = []
        for v in raw:
            c = self.convert(v)
            if c is not None:
                stored.append(c)
        self._observe(offset, raw, stored)
        if stored:
            self._values[offset] = stored
            self._add(offset, stored)

    def remove_point(self, offset: int) -> None:
        self._forget(offset)
        stored = self._values.pop(offset, None)
        if stored:
            self._remove(offset, stored)

    def points_count(self) -> int:
        """Points with at least one indexed value."""
        return len(self._values)

    def values_of(self, offset: int) -> list[Any]:
        return self._values.get(offset, [])

    @abstractmethod
    def _add(self, offset: int, stored: list[Any]) -> None:
        """Record the stored values of one offset in the index structures."""

    @abstractmethod
    def _remove(self, offset: int, stored: list[Any]) -> None:
        """Drop the stored values of one offset from the index structures."""

    def _observe(self, offset: int, raw: list[Any], stored: list[Any]) -> None:
        """Hook: see the raw values of a point being indexed (to track values held elsewhere)."""

    def _forget(self, offset: int) -> None:
        """Hook: the point at `offset` is being removed or re-indexed."""

    # -- queries -------------------------------------------------------------------------------

    def _offsets(self, cond: Any) -> np.ndarray | None:
        """Offsets satisfying `cond` (may repeat), or None if this index cannot answer it exactly."""
        return None

    def estimate(self, cond: Any) -> int | None:
        """Expected number of matching offsets, or None if the index cannot answer `cond`."""
        found = self._offsets(cond)
        return None if found is None else len(found)

    def mask(self, cond: Any, size: int) -> np.ndarray | None:
        """Exact bool mask of length `size`, or None if the index cannot answer `cond`."""
        found = self._offsets(cond)
        if found is None:
            return None
        out = np.zeros(size, dtype=bool)
        found = found[found < size]
        out[found] = True
        return out

    def ordered_offsets(self, direction: str = "asc", start_from: Any = None) -> Iterator[tuple[Any, int]]:
        raise Unsupported(f"ordering by `{self.key}`: a {self.data_type} index does not support range ordering")

    def value_counts(self, offsets: np.ndarray) -> dict[Any, int]:
        raise Unsupported(f"facets on `{self.key}`: a {self.data_type} index does not count values")


def offsets_array(postings: Any) -> np.ndarray:
    """A set (or list) of offsets as an int64 array."""
    return np.fromiter(postings, dtype=np.int64, count=len(postings))


def count_values(index: FieldIndex, offsets: np.ndarray) -> dict[Any, int]:
    """Points among `offsets` holding each value (a value repeated in one point counts once)."""
    counts: dict[Any, int] = {}
    values = index._values
    for off in np.asarray(offsets, dtype=np.int64).tolist():
        vals = values.get(off)
        if not vals:
            continue
        for v in set(vals) if len(vals) > 1 else vals:
            counts[v] = counts.get(v, 0) + 1
    return counts
