"""What filter evaluation needs from a segment (FilterContext), and the context of nested arrays."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from pydrant.models.ids import PointId
    from pydrant.segment.payload_index.base import FieldIndex


class FilterContext(Protocol):
    """A segment as seen by the filter: payloads, vectors and indexes by internal offset.

    A context may also expose `external_ids: Sequence[PointId]` (the id at each offset); the
    `slice` condition needs it and is refused without it.
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


class ElementContext:
    """The objects of nested arrays, each one a pseudo-point for a nested filter.

    They have no ids, vectors or indexes, so has_id and has_vector never match inside.
    """

    def __init__(self, elements: list[dict[str, Any]]) -> None:
        self.size = len(elements)
        self.payloads = elements

    def offsets_of_ids(self, ids: Iterable[PointId]) -> np.ndarray:
        return np.zeros(0, dtype=np.int64)

    def vector_mask(self, name: str) -> np.ndarray:
        return np.zeros(self.size, dtype=bool)

    def field_index(self, key: str) -> FieldIndex | None:
        return None
