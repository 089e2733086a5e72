"""A deliberately simple per-point filter evaluator: the executable spec evaluate() is checked against."""

from __future__ import annotations

import functools
import math
from typing import Any

from pydrant.segment.filtering import model as m
from pydrant.segment.filtering.datetimes import parse_datetime
from pydrant.segment.filtering.paths import values_at
from pydrant.segment.filtering.text import word_tokens

EARTH_RADIUS_M = 6371008.8


class Point:
    def __init__(self, point_id: Any, payload: dict[str, Any] | None, vectors: set[str] | frozenset[str] = frozenset()) -> None:
        self.id = point_id
        self.payload = payload or {}
        self.vectors = vectors


def check(f: m.Filter | None, point: Point) -> bool:
    if f is None:
        return True
    if f.must is not None and not all(cond(c, point) for c in f.must):
        return False
    if f.must_not is not None and any(cond(c, point) for c in f.must_not):
        return False
    if f.should and not any(cond(c, point) for c in f.should):
        return False
    return f.min_should is None or sum(cond(c, point) for c in f.min_should.conditions) >= f.min_should.min_count


def cond(c: m.Condition, p: Point) -> bool:
    if isinstance(c, m.Filter):
        return check(c, p)
    if isinstance(c, m.HasId):
        return p.id is not None and p.id in c.ids
    if isinstance(c, m.HasVector):
        return c.name in p.vectors
    if isinstance(c, m.Slice):
        # the local-mode SipHash is an independent implementation of the same definition
        from qdrant_client.local.siphash import point_id_slice

        return p.id is not None and point_id_slice(p.id, c.total) == c.index
    if isinstance(c, m.AnyOf):
        return any(cond(s, p) for s in c.conditions)
    if isinstance(c, m.Nested):
        path = c.path[:-1] if len(c.path) > 1 and c.path[-1] is None else c.path
        for value in values_at(p.payload, path, flat=False):
            if isinstance(value, list):
                for element in value:
                    if isinstance(element, dict) and check(c.filter, Point(None, element)):
                        return True
        return False
    if isinstance(c, m.IsEmpty):
        vs = values_at(p.payload, c.path, flat=False)
        empty = all(v is None or v == [] for v in vs)
        return empty == c.expected
    if isinstance(c, m.IsNull):
        vs = values_at(p.payload, c.path, flat=False)
        null = any(v is None or (isinstance(v, list) and any(e is None for e in v)) for v in vs)
        return null == c.expected
    if isinstance(c, m.ValuesCount):
        vs = values_at(p.payload, c.path, flat=False)
        counts = [0 if v is None else len(v) if isinstance(v, list) else 1 for v in vs] or [0]
        return any(_bounds(n, c) for n in counts)
    return any(_value(c, v) for v in values_at(p.payload, c.path))


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def _value(c: Any, v: Any) -> bool:
    if isinstance(c, m.MatchValue):
        return _same(v, c.value)
    if isinstance(c, m.MatchAny):
        return any(_same(v, x) for x in c.values)
    if isinstance(c, m.MatchExcept):
        return v is not None and not any(_same(v, x) for x in c.values)
    if isinstance(c, m.MatchPrefix):
        return isinstance(v, str) and v.startswith(c.prefix)
    if isinstance(c, m.MatchText):
        if not isinstance(v, str):
            return False
        q, d = word_tokens(c.text), word_tokens(v)
        if not q:
            return False
        if c.mode == "all":
            return all(t in d for t in q)
        if c.mode == "any":
            return any(t in d for t in q)
        return any(list(d[i : i + len(q)]) == list(q) for i in range(len(d) - len(q) + 1))
    if isinstance(c, m.Range):
        return type(v) in (int, float) and _bounds(float(v), c)
    if isinstance(c, m.DatetimeRange):
        t = parse_datetime(v) if isinstance(v, str) else None
        return t is not None and _bounds(t, c)
    if not (isinstance(v, dict) and type(v.get("lat")) in (int, float) and type(v.get("lon")) in (int, float)):
        return False
    lat, lon = float(v["lat"]), float(v["lon"])
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return False
    if isinstance(c, m.GeoRadius):
        return _haversine(lat, lon, c.center.lat, c.center.lon) < c.radius
    if isinstance(c, m.GeoBoundingBox):
        tl, br = c.top_left, c.bottom_right
        lon_ok = (lon > tl.lon or lon < br.lon) if tl.lon > br.lon else tl.lon < lon < br.lon
        return lon_ok and br.lat < lat < tl.lat
    if isinstance(c, m.GeoPolygon):
        if not _in_ring(lat, lon, c.exterior) or _on_ring(lat, lon, c.exterior):
            return False
        return not any(_in_ring(lat, lon, h) or _on_ring(lat, lon, h) for h in c.interiors)
    raise TypeError(c)


def _bounds(x: float, c: Any) -> bool:
    return (
        (c.gt is None or x > c.gt)
        and (c.gte is None or x >= c.gte)
        and (c.lt is None or x < c.lt)
        and (c.lte is None or x <= c.lte)
    )


def _haversine(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(a, 1.0)))


def _edges(ring: tuple[m.GeoPoint, ...]) -> list[tuple[m.GeoPoint, m.GeoPoint]]:
    pts = list(ring[:-1]) if ring[0] == ring[-1] else list(ring)
    return [(pts[i - 1], pts[i]) for i in range(len(pts))]


def _in_ring(x: float, y: float, ring: tuple[m.GeoPoint, ...]) -> bool:
    inside = False
    for a, b in _edges(ring):
        if (b.lon > y) != (a.lon > y) and x < (a.lat - b.lat) * (y - b.lon) / (a.lon - b.lon) + b.lat:
            inside = not inside
    return inside


def _on_ring(x: float, y: float, ring: tuple[m.GeoPoint, ...]) -> bool:
    for a, b in _edges(ring):
        if (
            y * (b.lat - a.lat) + b.lon * (a.lat - x) + a.lon * (x - b.lat) == 0
            and (b.lat - x) * (a.lat - x) <= 0
            and (b.lon - y) * (a.lon - y) <= 0
        ):
            return True
    return False


# ---------------------------------------------------------------------------------------------
# A list-backed FilterContext and random payloads / filters, shared by the filter and index tests.

import numpy as np
from hypothesis import strategies as st


class ListContext:
    """FilterContext over plain lists: ids[i], payloads[i], vectors[i] (names present)."""

    def __init__(self, ids: list[Any], payloads: list[dict[str, Any] | None], vectors: list[set[str]] | None = None,
                 indexes: dict[str, Any] | None = None) -> None:
        self.external_ids = ids
        self.payloads = payloads
        self.size = len(payloads)
        self.vectors = vectors or [{""} for _ in payloads]
        self.indexes = indexes or {}

    def offsets_of_ids(self, ids: Any) -> np.ndarray:
        wanted = set(ids)
        return np.array([i for i, pid in enumerate(self.external_ids) if pid in wanted], dtype=np.int64)

    def vector_mask(self, name: str) -> np.ndarray:
        return np.array([name in v for v in self.vectors], dtype=bool)

    def field_index(self, key: str) -> Any:
        return self.indexes.get(key)

    def points(self) -> list[Point]:
        return [Point(i, p, v) for i, p, v in zip(self.external_ids, self.payloads, self.vectors)]


WORDS = ["red", "green apple", "Red apple pie", "blue", "apple-green", "", "pie of the day", "RED"]
DATES = [
    "2023-01-01", "2023-01-01T12:00:00", "2023-01-01 12:00:00.123+01:00", "2023-01-01T12:00:00Z",
    "2023-06-15T08:30:00.123456789+05:30", "2023-01-01T12:00", "2023-01-01T12:00:00 +0100",
    " 2023-03-01T00:00:00", "2023-01-01T10:00:00z", "2023-01-01 10:00:00 UTC", "2023-01-01T10:00:00+01",
    "2023-13-01", "yesterday", "2023-01-01T25:00:00", "2022-12-31T23:59:59.999999Z",
]
DATE_BOUNDS = ["2023-01-01T00:00:00Z", "2023-01-01T11:00:00Z", "2023-01-01T12:00:00+01:00", "2023-03-01T00:00:00Z", "2022-06-01T00:00:00Z"]

_scalar = st.one_of(
    st.integers(-5, 5),
    st.sampled_from([-1.5, 0.0, 2.5, 3.0, 1.0]),
    st.booleans(),
    st.none(),
    st.sampled_from(["a", "b", "red", "1"]),
)


def _maybe_list(elem: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(elem, st.lists(elem, max_size=3))


_geo = st.builds(lambda a, b: {"lat": a, "lon": b}, st.integers(-20, 20).map(lambda x: x / 2), st.integers(-20, 20).map(lambda x: x / 2))
_nested_obj = st.fixed_dictionaries({}, optional={"x": _maybe_list(st.integers(0, 3)), "y": st.sampled_from(["p", "q", None])})

payloads = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {},
        optional={
            "a": _maybe_list(_scalar),
            "s": _maybe_list(st.one_of(st.sampled_from(WORDS), st.integers(0, 2))),
            "g": st.one_of(_maybe_list(_geo), st.just({"lat": "x", "lon": 1})),
            "d": _maybe_list(st.sampled_from(DATES)),
            "n": st.one_of(st.lists(st.one_of(_nested_obj, st.integers(0, 1)), max_size=3), _nested_obj),
            "o": st.one_of(st.fixed_dictionaries({}, optional={"x": _maybe_list(_scalar)}), st.integers(0, 2)),
            "e": st.sampled_from([[], None, [None], [1, None], [[]], 0]),
            "u": st.sampled_from(["550e8400-e29b-41d4-a716-446655440000", "6ba7b810-9dad-11d1-80b4-00c04fd430c8", "nope"]),
        },
    ),
)

SCALAR_KEYS = ("a", "o.x", "n[].x", "e", "missing", "s")
_int_or_str_list = st.one_of(st.lists(st.integers(-3, 3), unique=True, max_size=3), st.lists(st.sampled_from(["a", "b", "red", "blue"]), unique=True, max_size=3))
_bound = st.sampled_from([-2, -1.5, 0, 1, 2.5, 3])


def _range(bound: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional={"gt": bound, "gte": bound, "lt": bound, "lte": bound})


def field_conditions(keys: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    key = st.sampled_from(keys)
    return st.one_of(
        st.builds(lambda k, v: {"key": k, "match": {"value": v}}, key, st.one_of(st.integers(-3, 3), st.booleans(), st.sampled_from(["a", "red", "p", "q", "blue"]))),
        st.builds(lambda k, v: {"key": k, "match": {"any": v}}, key, _int_or_str_list),
        st.builds(lambda k, v: {"key": k, "match": {"except": v}}, key, _int_or_str_list),
        st.builds(lambda k, r: {"key": k, "range": r}, key, _range(_bound)),
        st.builds(lambda k, r: {"key": k, "values_count": r}, key, _range(st.integers(0, 3))),
        st.builds(lambda k: {"is_empty": {"key": k}}, key),
        st.builds(lambda k: {"is_null": {"key": k}}, key),
        st.builds(lambda k, b: {"key": k, "is_empty": b}, key, st.booleans()),
    )


def text_conditions() -> st.SearchStrategy[dict[str, Any]]:
    q = st.sampled_from(["apple", "red apple", "Green", "pie red", "", "apple pie", "red-apple", "of the"])
    return st.one_of(
        st.builds(lambda t: {"key": "s", "match": {"text": t}}, q),
        st.builds(lambda t: {"key": "s", "match": {"text_any": t}}, q),
        st.builds(lambda t: {"key": "s", "match": {"phrase": t}}, q),
        st.builds(lambda t: {"key": "s", "match": {"prefix": t}}, st.sampled_from(["re", "Re", "apple", "", "blue"])),
        st.builds(lambda v: {"key": "s", "match": {"value": v}}, st.sampled_from(WORDS + [1])),
    )


@functools.cache
def special_conditions(id_space: int) -> st.SearchStrategy[dict[str, Any]]:
    geo_pt = st.builds(lambda a, b: {"lat": a, "lon": b}, st.integers(-10, 10), st.integers(-10, 10))
    return st.one_of(
        st.builds(lambda r: {"key": "d", "range": r}, _range(st.sampled_from(DATE_BOUNDS))),
        st.builds(lambda c, r: {"key": "g", "geo_radius": {"center": c, "radius": r}}, geo_pt, st.sampled_from([1000.0, 300000.0, 800000.0])),
        st.builds(lambda a, b: {"key": "g", "geo_bounding_box": {"top_left": {"lat": max(a["lat"], b["lat"]), "lon": a["lon"]},
                                                                   "bottom_right": {"lat": min(a["lat"], b["lat"]), "lon": b["lon"]}}}, geo_pt, geo_pt),
        st.just({"key": "g", "geo_polygon": {"exterior": {"points": [{"lat": -5, "lon": -5}, {"lat": 5, "lon": -5}, {"lat": 5, "lon": 5}, {"lat": -5, "lon": 5}, {"lat": -5, "lon": -5}]},
                                              "interiors": [{"points": [{"lat": -1, "lon": -1}, {"lat": 1, "lon": -1}, {"lat": 1, "lon": 1}, {"lat": -1, "lon": -1}]}]}}),
        st.builds(lambda v: {"key": "u", "match": {"value": v}}, st.sampled_from(["550e8400-e29b-41d4-a716-446655440000", "nope", "6ba7b810-9dad-11d1-80b4-00c04fd430c8"])),
        st.builds(lambda s: {"has_id": s}, st.lists(st.integers(0, id_space), unique=True, max_size=4)),
        st.builds(lambda t, i: {"slice": {"total": t, "index": i % t}}, st.integers(1, 4), st.integers(0, 3)),
        st.builds(lambda f: {"nested": {"key": "n", "filter": f}}, filters(("x", "y"), depth=0)),
        st.builds(lambda f: {"nested": {"key": "n[]", "filter": f}}, filters(("x", "y"), depth=0)),
    )


@functools.cache
def filters(keys: tuple[str, ...], id_space: int | None = None, depth: int = 1) -> st.SearchStrategy[dict[str, Any]]:
    """Random JSON filters over `keys`; with `id_space`, also text, geo, datetime, id, slice and
    nested conditions (has_id over ids 0..id_space)."""
    leaf = field_conditions(list(keys)) if id_space is None else st.one_of(field_conditions(list(keys)), text_conditions(), special_conditions(id_space))
    cond = leaf if depth == 0 else st.one_of(leaf, filters(keys, id_space, depth - 1))
    clause = st.one_of(cond, st.lists(cond, max_size=3))
    return st.fixed_dictionaries(
        {},
        optional={
            "must": clause,
            "should": clause,
            "must_not": clause,
            "min_should": st.builds(lambda c, n: {"conditions": c, "min_count": n}, st.lists(cond, max_size=3), st.integers(1, 2)),
        },
    )
