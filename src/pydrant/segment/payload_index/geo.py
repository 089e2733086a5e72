"""Geo index: every geo point of a key in flat coordinate arrays, filtered with numpy."""

from __future__ import annotations

from typing import Any

import numpy as np

from pydrant.segment.filtering import geo
from pydrant.segment.filtering import model as m
from pydrant.segment.filtering.columns import geo_point_of
from pydrant.segment.payload_index.base import FieldIndex


class GeoIndex(FieldIndex):
    """(lat, lon, offset) arrays; appends are buffered, removals compacted on the next query."""

    data_type = "geo"

    def __init__(self, key: str, params: dict[str, Any] | None = None) -> None:
        super().__init__(key, params)
        self._lat = np.zeros(0)
        self._lon = np.zeros(0)
        self._offs = np.zeros(0, dtype=np.int64)
        self._pending: dict[int, list[tuple[float, float]]] = {}
        self._removed: set[int] = set()

    def convert(self, value: Any) -> Any | None:
        return geo_point_of(value)

    def _add(self, offset: int, stored: list[Any]) -> None:
        self._pending[offset] = stored

    def _remove(self, offset: int, stored: list[Any]) -> None:
        self._pending.pop(offset, None)
        self._removed.add(offset)

    def _arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._removed:
            keep = ~np.isin(self._offs, np.fromiter(self._removed, np.int64, len(self._removed)))
            self._lat, self._lon, self._offs = self._lat[keep], self._lon[keep], self._offs[keep]
            self._removed.clear()
        if self._pending:
            points = [(lat, lon, off) for off, pts in self._pending.items() for lat, lon in pts]
            lat, lon, offs = zip(*points)
            self._lat = np.concatenate([self._lat, np.array(lat, dtype=np.float64)])
            self._lon = np.concatenate([self._lon, np.array(lon, dtype=np.float64)])
            self._offs = np.concatenate([self._offs, np.array(offs, dtype=np.int64)])
            self._pending = {}
        return self._lat, self._lon, self._offs

    def _offsets(self, cond: Any) -> np.ndarray | None:
        lat, lon, offs = self._arrays()
        if isinstance(cond, m.GeoRadius):
            return np.asarray(offs[geo.in_radius(lat, lon, cond)])
        if isinstance(cond, m.GeoBoundingBox):
            return np.asarray(offs[geo.in_box(lat, lon, cond)])
        if isinstance(cond, m.GeoPolygon):
            return np.asarray(offs[geo.in_polygon(lat, lon, cond)])
        return None
