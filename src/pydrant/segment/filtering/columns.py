"""A key's payload values over a set of rows, extracted once and split by type for numpy."""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cached_property
from typing import Any

import numpy as np

from pydrant.segment.filtering.datetimes import parse_datetime
from pydrant.segment.filtering.paths import Path, values_at
from pydrant.segment.filtering.text import word_tokens

_I64_MIN, _I64_MAX = -(2**63), 2**63 - 1


_MISSING = object()
# type codes for splitting a column by value type in one pass
_CODES = {str: 0, int: 1, float: 2, bool: 3, dict: 4, type(None): 5}
_STR, _INT, _FLOAT, _BOOL, _DICT, _NULL = range(6)


def _row_payloads(payloads: Sequence[dict[str, Any] | None], rows: list[int] | None) -> Sequence[Any]:
    return payloads if rows is None else [payloads[off] for off in rows]


class Column:
    """The flattened values of one key: value i belongs to row `owners[i]` of the view.

    Typed parts are (positions into `values`, numpy array) pairs, built on first use; a value of
    another type is simply absent from a part, so it never matches a condition of that type.
    `rows=None` means every payload, in order. A `shared` column is cached and used by many
    filters, concurrently too (see `ColumnCache`): string conditions on it build lookup
    structures (distinct strings, word postings) instead of scanning every value, see
    `use_lookup`. Arrays of a column are never written after they are built, and callers must
    not write them either.
    """

    def __init__(self, payloads: Sequence[dict[str, Any] | None], rows: list[int] | None, path: Path, shared: bool = False) -> None:
        self.shared = shared
        self._lookups_asked: dict[str, int] = {}
        row_payloads = _row_payloads(payloads, rows)
        n = len(row_payloads)
        if len(path) == 1:
            key = path[0]
            raw = [p.get(key, _MISSING) if p else _MISSING for p in row_payloads]
            if list not in set(map(type, raw)):
                self.n_rows = n
                if raw.count(_MISSING) == 0:
                    self.values: list[Any] = raw
                    self.owners = np.arange(n, dtype=np.int64)
                    self.dense = True
                    return
                self.dense = False
                present = [r for r, v in enumerate(raw) if v is not _MISSING]
                self.values = [raw[r] for r in present]
                self.owners = np.asarray(present, dtype=np.int64)
                return
            per_row = [v if type(v) is list else [] if v is _MISSING else [v] for v in raw]
        else:
            per_row = [values_at(p, path) if p else [] for p in row_payloads]
        counts = np.fromiter((len(vs) for vs in per_row), dtype=np.int64, count=n)
        self.values = [v for vs in per_row for v in vs]
        self.owners = np.repeat(np.arange(n, dtype=np.int64), counts)
        self.n_rows = n
        self.dense = False  # one value per row, value i in row i

    def use_lookup(self, name: str) -> bool:
        """Whether to answer through the lookup property `name` ("string_codes",
        "string_tokens") rather than a scan of every value: on a shared column, once it is built
        or asked for a second time. Building one costs about two scans, so a column used once
        (a subset, or a segment between two writes) scans. Concurrent askers may lose a count,
        which only delays the build."""
        if not self.shared:
            return False
        if name in self.__dict__:
            return True
        asked = self._lookups_asked[name] = self._lookups_asked.get(name, 0) + 1
        return asked > 1

    def rows_of(self, positions: np.ndarray) -> np.ndarray:
        """Bool mask over rows owning at least one of the value `positions`."""
        out = np.zeros(self.n_rows, dtype=bool)
        out[self.owners[positions]] = True
        return out

    def rows_at(self, positions: np.ndarray, hits: np.ndarray) -> np.ndarray:
        """rows_of(positions[hits]), for a new mask `hits` that it may return as it is: when
        `positions` are all values and each row holds one, `hits` already is the row mask."""
        if self.dense and len(positions) == self.n_rows:
            return hits
        return self.rows_of(positions[hits])

    @cached_property
    def _objects(self) -> np.ndarray:
        return np.fromiter(self.values, dtype=object, count=len(self.values))

    @cached_property
    def _codes(self) -> np.ndarray:
        return np.fromiter((_CODES.get(type(v), 6) for v in self.values), dtype=np.int8, count=len(self.values))

    @cached_property
    def _types(self) -> set[int]:
        return {_CODES.get(t, 6) for t in set(map(type, self.values))}

    def _positions(self, *codes: int) -> np.ndarray:
        # homogeneous columns (the usual case) skip the per-value type pass
        if self._types <= set(codes):
            return np.arange(len(self.values), dtype=np.int64)
        if not self._types & set(codes):
            return np.zeros(0, dtype=np.int64)
        if len(codes) == 1:
            return np.flatnonzero(self._codes == codes[0])
        return np.flatnonzero(np.isin(self._codes, codes))

    @cached_property
    def strings(self) -> tuple[np.ndarray, np.ndarray]:
        pos = self._positions(_STR)
        if len(pos) == len(self.values):
            return pos, self._objects
        return pos, self._objects[pos]

    @cached_property
    def string_codes(self) -> tuple[dict[str, int], np.ndarray]:
        """The distinct strings (string -> code) and each string's code, aligned with `strings`:
        string conditions test each distinct string once, then select by code."""
        distinct: dict[str, int] = {}
        arr = self.strings[1]
        codes = np.fromiter((distinct.setdefault(s, len(distinct)) for s in arr), dtype=np.int64, count=len(arr))
        return distinct, codes

    @cached_property
    def string_tokens(self) -> tuple[list[tuple[str, ...]], dict[str, np.ndarray]]:
        """Word tokens of each distinct string (by code) and, per token, the codes of the
        strings holding it: a text match without a text index looks its words up here."""
        tokens = [word_tokens(s) for s in self.string_codes[0]]
        postings: dict[str, list[int]] = {}
        for code, words in enumerate(tokens):
            for word in dict.fromkeys(words):
                postings.setdefault(word, []).append(code)
        return tokens, {word: np.array(codes, dtype=np.int64) for word, codes in postings.items()}

    @cached_property
    def ints(self) -> tuple[np.ndarray, np.ndarray]:
        """Integers within int64 (what an exact match can name)."""
        pos = self._positions(_INT)
        try:
            return pos, self._objects[pos].astype(np.int64)
        except OverflowError:
            keep = [i for i in pos.tolist() if _I64_MIN <= self.values[i] <= _I64_MAX]
            return np.asarray(keep, dtype=np.int64), np.array([self.values[i] for i in keep], dtype=np.int64)

    @cached_property
    def numbers(self) -> tuple[np.ndarray, np.ndarray]:
        """Every int and float (not bool) as float64, the precision ranges compare in."""
        pos = self._positions(_INT, _FLOAT)
        if len(pos) == len(self.values):
            return pos, np.array(self.values, dtype=np.float64)
        return pos, self._objects[pos].astype(np.float64)

    @cached_property
    def bools(self) -> tuple[np.ndarray, np.ndarray]:
        pos = self._positions(_BOOL)
        return pos, self._objects[pos].astype(bool)

    @cached_property
    def nulls(self) -> np.ndarray:
        return self._positions(_NULL)

    @cached_property
    def geo(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Objects with finite numeric `lat` and `lon`: positions, latitudes, longitudes."""
        pos: list[int] = []
        lats: list[float] = []
        lons: list[float] = []
        for i in self._positions(_DICT).tolist():
            point = geo_point_of(self.values[i])
            if point is not None:
                pos.append(i)
                lats.append(point[0])
                lons.append(point[1])
        return np.asarray(pos, dtype=np.int64), np.array(lats, dtype=np.float64), np.array(lons, dtype=np.float64)

    @cached_property
    def datetimes(self) -> tuple[np.ndarray, np.ndarray]:
        """Strings that parse as datetimes, in UTC microseconds."""
        pos: list[int] = []
        stamps: list[int] = []
        for i in self._positions(_STR).tolist():
            t = parse_datetime(self.values[i])
            if t is not None:
                pos.append(i)
                stamps.append(t)
        return np.asarray(pos, dtype=np.int64), np.array(stamps, dtype=np.int64)


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def geo_point_of(value: Any) -> tuple[float, float] | None:
    """(lat, lon) of a payload geo point, or None when `value` is not one."""
    if type(value) is not dict:
        return None
    lat: Any = value.get("lat")
    lon: Any = value.get("lon")
    if not _is_number(lat) or not _is_number(lon):
        return None
    try:
        flat, flon = float(lat), float(lon)
    except OverflowError:
        return None
    if not (math.isfinite(flat) and math.isfinite(flon)):
        return None
    return flat, flon


class RawColumn:
    """The unflattened values of one key per row (arrays kept whole), for counts and emptiness."""

    def __init__(self, payloads: Sequence[dict[str, Any] | None], rows: list[int] | None, path: Path) -> None:
        self.per_row = [values_at(p, path, flat=False) if p else [] for p in _row_payloads(payloads, rows)]

    @cached_property
    def empty(self) -> np.ndarray:
        """Rows where the key is missing or every value is null or []."""
        return np.fromiter(
            (all(v is None or (type(v) is list and not v) for v in vs) for vs in self.per_row),
            dtype=bool,
            count=len(self.per_row),
        )

    @cached_property
    def null(self) -> np.ndarray:
        """Rows where some value is null, or an array holding a null (one level deep)."""
        return np.fromiter(
            (any(v is None or (type(v) is list and None in v) for v in vs) for vs in self.per_row),
            dtype=bool,
            count=len(self.per_row),
        )

    @cached_property
    def counts(self) -> tuple[np.ndarray, np.ndarray]:
        """(owner row, count) per value: arrays count their elements, null 0, others 1; a row
        without values counts as a single 0."""
        owners: list[int] = []
        counts: list[int] = []
        for r, vs in enumerate(self.per_row):
            if not vs:
                owners.append(r)
                counts.append(0)
                continue
            for v in vs:
                owners.append(r)
                counts.append(0 if v is None else len(v) if type(v) is list else 1)
        return np.array(owners, dtype=np.int64), np.array(counts, dtype=np.int64)
