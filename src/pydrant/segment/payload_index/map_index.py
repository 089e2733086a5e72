"""Hash-map indexes (value -> offsets): keyword, uuid and bool."""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np

from pydrant.segment.filtering import model as m
from pydrant.segment.payload_index.base import FieldIndex, count_values, offsets_array


class MapIndex(FieldIndex):
    """value -> set of offsets."""

    def __init__(self, key: str, params: dict[str, Any] | None = None) -> None:
        super().__init__(key, params)
        self._postings: dict[Any, set[int]] = {}

    def _add(self, offset: int, stored: list[Any]) -> None:
        for v in stored:
            self._postings.setdefault(v, set()).add(offset)

    def _remove(self, offset: int, stored: list[Any]) -> None:
        for v in stored:
            posting = self._postings.get(v)
            if posting is not None:
                posting.discard(offset)
                if not posting:
                    del self._postings[v]

    def _lookup(self, values: Any) -> np.ndarray:
        postings = [self._postings[v] for v in values if v in self._postings]
        if not postings:
            return np.zeros(0, dtype=np.int64)
        if len(postings) == 1:
            return offsets_array(postings[0])
        return np.concatenate([offsets_array(p) for p in postings])

    def _count(self, values: Any) -> int:
        return sum(len(self._postings.get(v, ())) for v in values)

    def value_counts(self, offsets: np.ndarray) -> dict[Any, int]:
        return count_values(self, offsets)


class KeywordIndex(MapIndex):
    """Strings; answers exact, any-of and prefix matches on strings."""

    data_type = "keyword"

    def convert(self, value: Any) -> Any | None:
        return value if type(value) is str else None

    def _wanted(self, cond: Any) -> tuple[Any, ...] | None:
        if isinstance(cond, m.MatchValue) and type(cond.value) is str:
            return (cond.value,)
        if isinstance(cond, m.MatchAny) and all(type(v) is str for v in cond.values):
            return cond.values
        if isinstance(cond, m.MatchPrefix):
            return tuple(v for v in self._postings if v.startswith(cond.prefix))
        return None

    def _offsets(self, cond: Any) -> np.ndarray | None:
        wanted = self._wanted(cond)
        return None if wanted is None else self._lookup(wanted)

    def estimate(self, cond: Any) -> int | None:
        wanted = self._wanted(cond)
        return None if wanted is None else self._count(wanted)


class UuidIndex(KeywordIndex):
    """Strings that are UUIDs, held in canonical form (lowercase, hyphenated): as in Qdrant, the
    index compares UUID values, so `5C56...` and `5c56...` are one value. A query value that is
    not a UUID is left to the payload scan, since such strings are not held here."""

    data_type = "uuid"

    def convert(self, value: Any) -> Any | None:
        return _canonical_uuid(value) if type(value) is str else None

    def _wanted(self, cond: Any) -> tuple[Any, ...] | None:
        if isinstance(cond, m.MatchPrefix):
            return None
        wanted = super()._wanted(cond)
        if wanted is None:
            return None
        canonical = tuple(_canonical_uuid(v) for v in wanted)
        if any(c is None for c in canonical):
            return None
        return canonical


def _canonical_uuid(text: str) -> str | None:
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return None


class BoolIndex(MapIndex):
    data_type = "bool"

    def convert(self, value: Any) -> Any | None:
        return value if type(value) is bool else None

    def _offsets(self, cond: Any) -> np.ndarray | None:
        if isinstance(cond, m.MatchValue) and type(cond.value) is bool:
            return self._lookup((cond.value,))
        return None

    def estimate(self, cond: Any) -> int | None:
        if isinstance(cond, m.MatchValue) and type(cond.value) is bool:
            return self._count((cond.value,))
        return None
