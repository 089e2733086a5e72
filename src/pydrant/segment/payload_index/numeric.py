"""Numeric indexes: integer (lookup + range), float and datetime (range), with ordering."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any, TypeGuard

import numpy as np

from pydrant.errors import BadInput
from pydrant.segment.filtering import model as m
from pydrant.segment.filtering.datetimes import parse_datetime
from pydrant.segment.payload_index.base import FieldIndex, count_values, offsets_array
from pydrant.segment.payload_index.sorted_values import SortedValues

_I64_MIN, _I64_MAX = -(2**63), 2**63 - 1


def _all_ints(values: tuple[str, ...] | tuple[int, ...]) -> TypeGuard[tuple[int, ...]]:
    return all(type(v) is int for v in values)


class RangeIndex(FieldIndex):
    """Values in a SortedValues; answers `range_type` conditions and ordered iteration."""

    dtype: type = np.float64
    range_type: type = m.Range

    def __init__(self, key: str, params: dict[str, Any] | None = None) -> None:
        super().__init__(key, params)
        self._sorted = SortedValues(self.dtype)

    def _add(self, offset: int, stored: list[Any]) -> None:
        self._sorted.add(offset, stored)

    def _remove(self, offset: int, stored: list[Any]) -> None:
        self._sorted.remove(offset)

    def _can_range(self) -> bool:
        return True

    def _bounds(self, cond: Any) -> tuple[Any, bool, Any, bool]:
        """(low, low inclusive, high, high inclusive) in stored units; the tighter bound wins."""
        low, low_incl, high, high_incl = None, True, None, True
        if cond.gt is not None:
            low, low_incl = cond.gt, False
        if cond.gte is not None and (low is None or cond.gte > low):
            low, low_incl = cond.gte, True
        if cond.lt is not None:
            high, high_incl = cond.lt, False
        if cond.lte is not None and (high is None or cond.lte < high):
            high, high_incl = cond.lte, True
        return low, low_incl, high, high_incl

    def _range_slice(self, cond: Any) -> tuple[int, int] | None:
        if not isinstance(cond, self.range_type) or not self._can_range():
            return None
        return self._sorted.between(*self._bounds(cond))

    def _offsets(self, cond: Any) -> np.ndarray | None:
        span = self._range_slice(cond)
        if span is None:
            return None
        _, offs = self._sorted.arrays()
        return offs[span[0] : span[1]]

    def estimate(self, cond: Any) -> int | None:
        span = self._range_slice(cond)
        return None if span is None else span[1] - span[0]

    def _start(self, start_from: Any) -> Any:
        if start_from is None:
            return None
        if isinstance(start_from, bool) or not isinstance(start_from, (int, float)):
            raise BadInput(f"start_from for `{self.key}` must be a number")
        return start_from

    def ordered_offsets(self, direction: str = "asc", start_from: Any = None) -> Iterator[tuple[Any, int]]:
        """(value, offset) by value; an array payload gives one entry per value. `start_from`
        is inclusive: asc yields values >= it, desc values <= it."""
        if direction not in ("asc", "desc"):
            raise BadInput(f"order direction must be asc or desc, got {direction!r}")
        return self._sorted.iterate(direction == "desc", self._start(start_from))


class FloatIndex(RangeIndex):
    """Every number (int or float) as float64, the precision range filters compare in."""

    data_type = "float"

    def convert(self, value: Any) -> Any | None:
        if type(value) is float:
            return value if not math.isnan(value) else None
        if type(value) is int:
            return float(value)
        return None


class IntegerIndex(RangeIndex):
    """Integers within int64: exact lookup (hash map) and range (sorted) as configured.

    A range condition also matches floats, which this index does not hold, so while any point
    has a float at this key, ranges are left to the payload scan to stay exact.
    """

    data_type = "integer"
    dtype = np.int64

    def __init__(self, key: str, params: dict[str, Any] | None = None) -> None:
        super().__init__(key, params)
        self.lookup = params is None or params.get("lookup") is not False
        self.range = params is None or params.get("range") is not False
        self._postings: dict[int, set[int]] = {}
        self._with_floats: set[int] = set()

    def convert(self, value: Any) -> Any | None:
        return value if type(value) is int and _I64_MIN <= value <= _I64_MAX else None

    def _observe(self, offset: int, raw: list[Any], stored: list[Any]) -> None:
        if any(type(v) is float or (type(v) is int and not _I64_MIN <= v <= _I64_MAX) for v in raw):
            self._with_floats.add(offset)

    def _forget(self, offset: int) -> None:
        self._with_floats.discard(offset)

    def _can_range(self) -> bool:
        return self.range and not self._with_floats

    def _add(self, offset: int, stored: list[Any]) -> None:
        super()._add(offset, stored)
        for v in stored:
            self._postings.setdefault(v, set()).add(offset)

    def _remove(self, offset: int, stored: list[Any]) -> None:
        super()._remove(offset, stored)
        for v in stored:
            posting = self._postings.get(v)
            if posting is not None:
                posting.discard(offset)
                if not posting:
                    del self._postings[v]

    def _bounds(self, cond: Any) -> tuple[Any, bool, Any, bool]:
        # float bounds become integer ones so the int64 array is searched without conversion
        low, low_incl, high, high_incl = super()._bounds(cond)
        if low is not None:
            low = math.ceil(low) if low_incl else math.floor(low) + 1
            low_incl = True
        if high is not None:
            high = math.floor(high) if high_incl else math.ceil(high) - 1
            high_incl = True
        return _clip(low), low_incl, _clip(high), high_incl

    def _wanted(self, cond: Any) -> tuple[int, ...] | None:
        if not self.lookup:
            return None
        if isinstance(cond, m.MatchValue) and type(cond.value) is int:
            return (cond.value,)
        if isinstance(cond, m.MatchAny) and _all_ints(cond.values):
            return cond.values
        return None

    def _offsets(self, cond: Any) -> np.ndarray | None:
        wanted = self._wanted(cond)
        if wanted is None:
            return super()._offsets(cond)
        found = [offsets_array(self._postings[v]) for v in wanted if v in self._postings]
        return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)

    def estimate(self, cond: Any) -> int | None:
        wanted = self._wanted(cond)
        if wanted is None:
            return super().estimate(cond)
        return sum(len(self._postings.get(v, ())) for v in wanted)

    def _start(self, start_from: Any) -> Any:
        start = super()._start(start_from)
        return start if start is None or type(start) is int else float(start)

    def value_counts(self, offsets: np.ndarray) -> dict[Any, int]:
        return count_values(self, offsets)

    def ordered_offsets(self, direction: str = "asc", start_from: Any = None) -> Iterator[tuple[Any, int]]:
        if not self.range:
            raise BadInput(f"ordering by `{self.key}` needs its integer index with `range: true`")
        return super().ordered_offsets(direction, start_from)


def _clip(x: int | None) -> int | None:
    if x is None:
        return None
    return max(_I64_MIN, min(_I64_MAX, x))


class DatetimeIndex(RangeIndex):
    """Datetime strings as UTC microseconds; ordering yields microseconds."""

    data_type = "datetime"
    dtype = np.int64
    range_type = m.DatetimeRange

    def convert(self, value: Any) -> Any | None:
        return parse_datetime(value) if type(value) is str else None

    def _start(self, start_from: Any) -> Any:
        if isinstance(start_from, str):
            micros = parse_datetime(start_from)
            if micros is None:
                raise BadInput(f"start_from for `{self.key}`: '{start_from}' is not a datetime")
            return micros
        return super()._start(start_from)
