"""Vectorised geo predicates: haversine radius, bounding box, polygon with holes."""

from __future__ import annotations

import numpy as np

from pydrant.segment.filtering.model import (
    GeoBoundingBox,
    GeoPoint,
    GeoPolygon,
    GeoRadius,
)

EARTH_RADIUS_M = 6371008.8
"""Mean earth radius in meters (IUGG), the one Qdrant's haversine uses."""


def haversine(lat: np.ndarray, lon: np.ndarray, center: GeoPoint) -> np.ndarray:
    """Great-circle distances in meters from each (lat, lon) to `center`."""
    lat1, lon1 = np.radians(lat), np.radians(lon)
    lat2, lon2 = np.radians(center.lat), np.radians(center.lon)
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return np.asarray(EARTH_RADIUS_M * 2 * np.arcsin(np.sqrt(np.minimum(a, 1.0))))


def in_radius(lat: np.ndarray, lon: np.ndarray, cond: GeoRadius) -> np.ndarray:
    return np.asarray(haversine(lat, lon, cond.center) < cond.radius)


def in_box(lat: np.ndarray, lon: np.ndarray, cond: GeoBoundingBox) -> np.ndarray:
    """Strictly inside the box; a box whose left edge is east of its right edge wraps the antimeridian."""
    tl, br = cond.top_left, cond.bottom_right
    if tl.lon > br.lon:
        lon_ok = (lon > tl.lon) | (lon < br.lon)
    else:
        lon_ok = (lon > tl.lon) & (lon < br.lon)
    return np.asarray(lon_ok & (lat < tl.lat) & (lat > br.lat))


def in_polygon(lat: np.ndarray, lon: np.ndarray, cond: GeoPolygon) -> np.ndarray:
    """Inside the exterior ring and inside no hole; points on any ring's boundary are outside."""
    inside, on_edge = _ring(lat, lon, cond.exterior)
    result = inside & ~on_edge
    for hole in cond.interiors:
        in_hole, on_hole_edge = _ring(lat, lon, hole)
        result &= ~(in_hole | on_hole_edge)
    return np.asarray(result)


def _ring(px: np.ndarray, py: np.ndarray, ring: tuple[GeoPoint, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Ray-casting parity and boundary flags, x = latitude, y = longitude."""
    pts = list(ring)
    if len(pts) > 1 and pts[0] == pts[-1]:
        pts = pts[:-1]
    inside = np.zeros(px.shape, dtype=bool)
    boundary = np.zeros(px.shape, dtype=bool)
    j = len(pts) - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        for i in range(len(pts)):
            xi, yi, xj, yj = pts[i].lat, pts[i].lon, pts[j].lat, pts[j].lon
            boundary |= (
                (py * (xi - xj) + yi * (xj - px) + yj * (px - xi) == 0)
                & ((xi - px) * (xj - px) <= 0)
                & ((yi - py) * (yj - py) <= 0)
            )
            crosses = ((yi > py) != (yj > py)) & (px < (xj - xi) * (py - yi) / (yj - yi) + xi)
            inside ^= crosses
            j = i
    return inside, boundary
