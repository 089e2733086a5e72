"""What filter evaluation needs from a segment (FilterContext), the cache of payload columns a
context may offer, and the context of nested arrays."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from pydrant.models.ids import PointId
    from pydrant.segment.payload_index.base import FieldIndex


class FilterContext(Protocol):
    """A segment as seen by the filter: payloads, vectors and indexes by internal offset.

    A context may also expose `external_ids: Sequence[PointId]` (the id at each offset); the
    `slice` condition needs it and is refused without it. A context whose payloads change only
    through its own methods may expose `column_cache: ColumnCache` and `payload_version: int`
    (bumped by every payload change), and filters then reuse columns extracted by earlier ones.
    """

    @property
    def size(self) -> int: ...

    @property
    def payloads(self) -> Sequence[dict[str, Any] | None]: ...

    def offsets_of_ids(self, ids: Iterable[PointId]) -> np.ndarray:
        """Offsets (int64) of those of `ids` this segment holds."""
        ...

    def vector_mask(self, name: str) -> np.ndarray:
        """Bool mask of offsets that have the named vector ("" is the unnamed default)."""
        ...

    def field_index(self, key: str) -> FieldIndex | None: ...


class VersionedCache:
    """Values by key, each stamped with the version of its source it was built from (an int, or
    a tuple of counters that only grow) and served only while that version is current.

    Readers run concurrently: a builder reads the version *before* it builds and stores its
    value with that version, so a value built from an older source is never served; two readers
    filling the same key just replace each other. Least recently used keys beyond `capacity` are
    dropped, and `clear` frees stale values at once.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, tuple[Any, Any]] = OrderedDict()

    def get(self, key: Hashable, version: Any) -> Any:
        """The value stored for `key` at `version`, or None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != version:
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: Hashable, version: Any, value: Any) -> None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] > version:
                return  # a reader of a newer source got there first
            self._entries[key] = (version, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


class ColumnCache(VersionedCache):
    """Values extracted from a context's payloads (columns of whole keys), stamped with the
    payload version; `clear` is called on a payload change."""

    def __init__(self, capacity: int = 32) -> None:
        super().__init__(capacity)
        # keys a reader wanted but built only part of, at that version (see `wanted_before`)
        self._wanted: dict[Hashable, int] = {}

    def wanted_before(self, key: Hashable, version: int) -> bool:
        """Record that a reader needed `key` at `version` and says whether one already had:
        a key asked for twice is worth building whole and caching."""
        with self._lock:
            seen = self._wanted.get(key) == version
            self._wanted[key] = version
            if len(self._wanted) > 4 * self.capacity:
                self._wanted.clear()
            return seen

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._wanted.clear()


class ElementContext:
    """The objects of nested arrays, each one a pseudo-point for a nested filter.

    They have no ids, vectors or indexes, so has_id and has_vector never match inside. With
    `cached`, the elements are fixed for the context's lifetime (it is itself cached for one
    payload version of its segment) and it keeps the columns of its keys.
    """

    def __init__(self, elements: list[dict[str, Any]], cached: bool = False) -> None:
        self.size = len(elements)
        self.payloads = elements
        self.payload_version = 0
        self.column_cache = ColumnCache(capacity=8) if cached else None

    def offsets_of_ids(self, ids: Iterable[PointId]) -> np.ndarray:
        return np.zeros(0, dtype=np.int64)

    def vector_mask(self, name: str) -> np.ndarray:
        return np.zeros(self.size, dtype=bool)

    def field_index(self, key: str) -> FieldIndex | None:
        return None
