"""A key's payload values over a set of rows, extracted once and split by type for numpy."""

from __future__ import annotations

import math
from functools import cached_property
from typing import Any, Sequence

import numpy as np

from pydrant.segment.filtering.datetimes import parse_datetime
from pydrant.segment.filtering.paths import Path, values_at

_I64_MIN, _I64_MAX = -(2**63), 2**63 - 1


class Column:
    """The flattened values of one key: value i belongs to row `owners[i]` of the view.

    Typed parts are (positions into `values`, numpy array) pairs, built on first use; a value of
    another type is simply absent from a part, so it never matches a condition of that type.
    """

    def __init__(self, payloads: Sequence[dict[str, Any] | None], rows: list[int], path: Path) -> None:
        values: list[Any] = []
        counts = np.zeros(len(rows), dtype=np.int64)
        for r, off in enumerate(rows):
            payload = payloads[off]
            if payload:
                vs = values_at(payload, path)
                if vs:
                    values.extend(vs)
                    counts[r] = len(vs)
        self.values = values
        self.n_rows = len(rows)
        self.owners = np.repeat(np.arange(len(rows), dtype=np.int64), counts)

    def rows_of(self, positions: np.ndarray) -> np.ndarray:
        """Bool mask over rows owning at least one of the value `positions`."""
        out = np.zeros(self.n_rows, dtype=bool)
        out[self.owners[positions]] = True
        return out

    @cached_property
    def _kinds(self) -> dict[str, list[int]]:
        kinds: dict[str, list[int]] = {"str": [], "int": [], "float": [], "bool": [], "dict": [], "null": []}
        names = {str: "str", int: "int", float: "float", bool: "bool", dict: "dict", type(None): "null"}
        for i, v in enumerate(self.values):
            name = names.get(type(v))
            if name is not None:
                kinds[name].append(i)
        return kinds

    @cached_property
    def strings(self) -> tuple[np.ndarray, np.ndarray]:
        pos = self._kinds["str"]
        arr = np.empty(len(pos), dtype=object)
        arr[:] = [self.values[i] for i in pos]
        return np.asarray(pos, dtype=np.int64), arr

    @cached_property
    def ints(self) -> tuple[np.ndarray, np.ndarray]:
        """Integers within int64 (what an exact match can name)."""
        pos = [i for i in self._kinds["int"] if _I64_MIN <= self.values[i] <= _I64_MAX]
        return np.asarray(pos, dtype=np.int64), np.array([self.values[i] for i in pos], dtype=np.int64)

    @cached_property
    def numbers(self) -> tuple[np.ndarray, np.ndarray]:
        """Every int and float (not bool) as float64, the precision ranges compare in."""
        pos = sorted(self._kinds["int"] + self._kinds["float"])
        return np.asarray(pos, dtype=np.int64), np.array([float(self.values[i]) for i in pos], dtype=np.float64)

    @cached_property
    def bools(self) -> tuple[np.ndarray, np.ndarray]:
        pos = self._kinds["bool"]
        return np.asarray(pos, dtype=np.int64), np.array([self.values[i] for i in pos], dtype=bool)

    @cached_property
    def nulls(self) -> np.ndarray:
        return np.asarray(self._kinds["null"], dtype=np.int64)

    @cached_property
    def geo(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Objects with finite numeric `lat` and `lon`: positions, latitudes, longitudes."""
        pos: list[int] = []
        lats: list[float] = []
        lons: list[float] = []
        for i in self._kinds["dict"]:
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
        for i in self._kinds["str"]:
            t = parse_datetime(self.values[i])
            if t is not None:
                pos.append(i)
                stamps.append(t)
        return np.asarray(pos, dtype=np.int64), np.array(stamps, dtype=np.int64)


def geo_point_of(value: Any) -> tuple[float, float] | None:
    """(lat, lon) of a payload geo point, or None when `value` is not one."""
    if type(value) is not dict:
        return None
    lat, lon = value.get("lat"), value.get("lon")
    if type(lat) not in (int, float) or type(lon) not in (int, float):
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

    def __init__(self, payloads: Sequence[dict[str, Any] | None], rows: list[int], path: Path) -> None:
        self.per_row = [values_at(payloads[off], path, flat=False) if payloads[off] else [] for off in rows]

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
