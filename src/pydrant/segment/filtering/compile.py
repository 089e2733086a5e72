"""Turn a JSON filter (OpenAPI `Filter`) into validated, frozen condition objects."""

from __future__ import annotations

import math
from typing import Any

from pydrant.errors import MalformedJson, ValidationFailed
from pydrant.models.ids import parse_point_id
from pydrant.segment.filtering import model as m
from pydrant.segment.filtering.datetimes import parse_datetime
from pydrant.segment.filtering.paths import checked_path

_I64_MIN, _I64_MAX = -(2**63), 2**63 - 1
_FILTER_KEYS = {"must", "should", "must_not", "min_should"}
_FIELD_CHECKS = ("match", "range", "geo_bounding_box", "geo_radius", "geo_polygon", "values_count", "is_empty", "is_null")
_MATCH_KINDS = ("value", "text", "text_any", "phrase", "prefix", "any", "except")


def compile_filter(raw: object, path: str = "filter") -> m.Filter | None:
    """Validate and compile a JSON filter; None (or JSON null) means no filter."""
    if raw is None:
        return None
    return _filter(raw, path)


def _filter(raw: object, path: str) -> m.Filter:
    obj = _object(raw, path)
    unknown = set(obj) - _FILTER_KEYS
    if unknown:
        raise MalformedJson(f"{path}: unknown field `{min(unknown)}`, expected one of must, should, must_not, min_should")
    min_should = None
    if obj.get("min_should") is not None:
        ms = _object(obj["min_should"], f"{path}.min_should")
        if "conditions" not in ms or "min_count" not in ms:
            raise MalformedJson(f"{path}.min_should: missing field `{'conditions' if 'conditions' not in ms else 'min_count'}`")
        conds = ms["conditions"]
        if not isinstance(conds, list):
            raise MalformedJson(f"{path}.min_should.conditions: expected an array of conditions")
        count = ms["min_count"]
        if type(count) is not int or count < 0:
            raise MalformedJson(f"{path}.min_should.min_count: expected an unsigned integer")
        if count < 1:
            raise ValidationFailed(f"{path}.min_should.min_count: value {count} invalid, must be 1 or larger")
        min_should = m.MinShould(
            tuple(_condition(c, f"{path}.min_should.conditions[{i}]") for i, c in enumerate(conds)), count
        )
    return m.Filter(
        must=_clause(obj.get("must"), f"{path}.must"),
        should=_clause(obj.get("should"), f"{path}.should"),
        must_not=_clause(obj.get("must_not"), f"{path}.must_not"),
        min_should=min_should,
    )


def _clause(raw: object, path: str) -> tuple[m.Condition, ...] | None:
    if raw is None:
        return None
    if isinstance(raw, list):
        return tuple(_condition(c, f"{path}[{i}]") for i, c in enumerate(raw))
    return (_condition(raw, path),)


def _condition(raw: object, path: str) -> m.Condition:
    obj = _object(raw, path)
    if "key" in obj:
        return _field_condition(obj, path)
    if "is_empty" in obj:
        return m.IsEmpty(*_payload_field(obj["is_empty"], f"{path}.is_empty"))
    if "is_null" in obj:
        return m.IsNull(*_payload_field(obj["is_null"], f"{path}.is_null"))
    if "has_id" in obj:
        ids = obj["has_id"]
        if not isinstance(ids, list):
            raise MalformedJson(f"{path}.has_id: expected an array of point ids")
        return m.HasId(frozenset(parse_point_id(v, f"{path}.has_id[{i}]") for i, v in enumerate(ids)))
    if "has_vector" in obj:
        name = obj["has_vector"]
        if not isinstance(name, str):
            raise MalformedJson(f"{path}.has_vector: expected a vector name string")
        return m.HasVector(name)
    if "nested" in obj:
        nested = _object(obj["nested"], f"{path}.nested")
        if "key" not in nested or "filter" not in nested:
            raise MalformedJson(f"{path}.nested: missing field `{'key' if 'key' not in nested else 'filter'}`")
        key = nested["key"]
        p = checked_path(key, f"{path}.nested.key")
        inner = _filter(nested["filter"], f"{path}.nested.filter")
        return m.Nested(key, p, inner)
    if "slice" in obj:
        sl = _object(obj["slice"], f"{path}.slice")
        total, index = sl.get("total"), sl.get("index")
        if type(total) is not int or type(index) is not int or total < 0 or index < 0:
            raise MalformedJson(f"{path}.slice: `total` and `index` must be unsigned integers")
        if total < 1:  # a non-zero integer in Qdrant's model: a format error (400), not a 422
            raise MalformedJson(f"{path}.slice.total: invalid value: integer `0`, expected a nonzero u32")
        if index >= total:
            raise ValidationFailed(f"{path}.slice.index: must be in [0;{total - 1}], got {index}")
        return m.Slice(total, index)
    if not obj or set(obj) <= _FILTER_KEYS:
        return _filter(obj, path)
    raise MalformedJson(f"{path}: unknown condition with fields {sorted(obj)}")


def _payload_field(raw: object, path: str) -> tuple[str, Any]:
    obj = _object(raw, path)
    if "key" not in obj:
        raise MalformedJson(f"{path}: missing field `key`")
    return obj["key"], checked_path(obj["key"], f"{path}.key")


def _field_condition(obj: dict[str, Any], path: str) -> m.Condition:
    key = obj["key"]
    p = checked_path(key, f"{path}.key")
    unknown = set(obj) - set(_FIELD_CHECKS) - {"key"}
    if unknown:
        raise MalformedJson(f"{path}: unknown field `{min(unknown)}` in field condition")
    checks: list[m.Condition] = []
    for name in _FIELD_CHECKS:
        raw = obj.get(name)
        if raw is None:
            continue
        where = f"{path}.{name}"
        if name == "match":
            checks.append(_match(key, p, raw, where))
        elif name == "range":
            checks.append(_range(key, p, raw, where))
        elif name == "geo_bounding_box":
            box = _object(raw, where)
            checks.append(
                m.GeoBoundingBox(
                    key, p, _geo_point(_required(box, "top_left", where), f"{where}.top_left"),
                    _geo_point(_required(box, "bottom_right", where), f"{where}.bottom_right"),
                )
            )
        elif name == "geo_radius":
            circle = _object(raw, where)
            center = _geo_point(_required(circle, "center", where), f"{where}.center")
            radius = _number(_required(circle, "radius", where), f"{where}.radius")
            checks.append(m.GeoRadius(key, p, center, radius))
        elif name == "geo_polygon":
            checks.append(_polygon(key, p, raw, where))
        elif name == "values_count":
            bounds = _bounds(raw, where, _count)
            checks.append(m.ValuesCount(key, p, **bounds))
        elif name == "is_empty":
            checks.append(m.IsEmpty(key, p, _bool(raw, where)))
        else:
            checks.append(m.IsNull(key, p, _bool(raw, where)))
    if not checks:
        raise ValidationFailed(f"{path}.match: At least one field condition must be specified")
    if len(checks) == 1:
        return checks[0]
    # as in Qdrant, a field condition with several checks holds when any one of them does
    return m.AnyOf(tuple(checks))


def _match(key: str, p: Any, raw: object, where: str) -> m.Condition:
    obj = _object(raw, where)
    kind = next((k for k in _MATCH_KINDS if k in obj), None)
    if kind is None:
        raise MalformedJson(f"{where}: unknown match, expected one of {', '.join(_MATCH_KINDS)}")
    value = obj[kind]
    at = f"{where}.{kind}"
    if kind == "value":
        if isinstance(value, (bool, str)):
            return m.MatchValue(key, p, value)
        if type(value) is int and _I64_MIN <= value <= _I64_MAX:
            return m.MatchValue(key, p, value)
        raise MalformedJson(f"{at}: expected a string, a 64-bit integer or a boolean")
    if kind in ("text", "text_any", "phrase", "prefix"):
        if not isinstance(value, str):
            raise MalformedJson(f"{at}: expected a string")
        if kind == "prefix":
            return m.MatchPrefix(key, p, value)
        return m.MatchText(key, p, value, {"text": "all", "text_any": "any", "phrase": "phrase"}[kind])
    if not isinstance(value, list):
        raise MalformedJson(f"{at}: expected an array of strings or of integers")
    if all(isinstance(v, str) for v in value):
        values: tuple[Any, ...] = tuple(value)
    elif all(type(v) is int and _I64_MIN <= v <= _I64_MAX for v in value):
        values = tuple(value)
    else:
        raise MalformedJson(f"{at}: expected an array of strings or of 64-bit integers, not a mix")
    if len(set(values)) != len(values):
        # Qdrant reads these lists into sets: repeated values are accepted and count once
        # (the contract's uniqueItems is not enforced).
        values = tuple(dict.fromkeys(values))
    return m.MatchAny(key, p, values) if kind == "any" else m.MatchExcept(key, p, values)


def _range(key: str, p: Any, raw: object, where: str) -> m.Condition:
    obj = _object(raw, where)
    present = [v for k, v in obj.items() if k in ("gt", "gte", "lt", "lte") and v is not None]
    if any(isinstance(v, str) for v in present):
        return m.DatetimeRange(key, p, **_bounds(obj, where, _datetime))
    return m.Range(key, p, **_bounds(obj, where, _number))


def _bounds(raw: object, where: str, convert: Any) -> dict[str, Any]:
    obj = _object(raw, where)
    unknown = set(obj) - {"gt", "gte", "lt", "lte"}
    if unknown:
        raise MalformedJson(f"{where}: unknown field `{min(unknown)}`")
    return {k: convert(v, f"{where}.{k}") for k, v in obj.items() if v is not None}


def _polygon(key: str, p: Any, raw: object, where: str) -> m.GeoPolygon:
    obj = _object(raw, where)
    exterior = _ring(_required(obj, "exterior", where), f"{where}.exterior")
    interiors_raw = obj.get("interiors")
    interiors: tuple[tuple[m.GeoPoint, ...], ...] = ()
    if interiors_raw is not None:
        if not isinstance(interiors_raw, list):
            raise MalformedJson(f"{where}.interiors: expected an array of line strings")
        interiors = tuple(_ring(r, f"{where}.interiors[{i}]") for i, r in enumerate(interiors_raw))
    return m.GeoPolygon(key, p, exterior, interiors)


def _ring(raw: object, where: str) -> tuple[m.GeoPoint, ...]:
    obj = _object(raw, where)
    points = _required(obj, "points", where)
    if not isinstance(points, list):
        raise MalformedJson(f"{where}.points: expected an array of geo points")
    ring = tuple(_geo_point(pt, f"{where}.points[{i}]") for i, pt in enumerate(points))
    if len(ring) < 4:
        raise ValidationFailed(f"{where}: polygon invalid, the size must be at least 4, got {len(ring)}")
    if ring[0] != ring[-1]:
        raise ValidationFailed(f"{where}: polygon invalid, the first and the last points should be same to form a closed line")
    return ring


def _geo_point(raw: object, where: str) -> m.GeoPoint:
    obj = _object(raw, where)
    lat = _number(_required(obj, "lat", where), f"{where}.lat")
    lon = _number(_required(obj, "lon", where), f"{where}.lon")
    if not -90.0 <= lat <= 90.0:
        raise ValidationFailed(f"{where}.lat: latitude must be in [-90, 90], got {lat}")
    if not -180.0 <= lon <= 180.0:
        raise ValidationFailed(f"{where}.lon: longitude must be in [-180, 180], got {lon}")
    return m.GeoPoint(lat, lon)


def _object(raw: object, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise MalformedJson(f"{where}: expected an object, got {_kind(raw)}")
    return raw


def _required(obj: dict[str, Any], field: str, where: str) -> Any:
    if obj.get(field) is None:
        raise MalformedJson(f"{where}: missing field `{field}`")
    return obj[field]


def _number(raw: object, where: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise MalformedJson(f"{where}: expected a number, got {_kind(raw)}")
    value = float(raw)
    if not math.isfinite(value):
        raise MalformedJson(f"{where}: expected a finite number")
    return value


def _count(raw: object, where: str) -> int:
    if type(raw) is not int or raw < 0:
        raise MalformedJson(f"{where}: expected an unsigned integer, got {_kind(raw)}")
    return raw


def _datetime(raw: object, where: str) -> int:
    if not isinstance(raw, str):
        raise MalformedJson(f"{where}: expected an RFC 3339 datetime string, got {_kind(raw)}")
    micros = parse_datetime(raw)
    if micros is None:
        raise MalformedJson(f"{where}: '{raw}' is not in a supported datetime format (RFC 3339, e.g. 2023-02-08T10:49:00Z)")
    return micros


def _bool(raw: object, where: str) -> bool:
    if not isinstance(raw, bool):
        raise MalformedJson(f"{where}: expected a boolean, got {_kind(raw)}")
    return raw


def _kind(raw: object) -> str:
    if raw is None:
        return "null"
    if isinstance(raw, bool):
        return "a boolean"
    if isinstance(raw, (int, float)):
        return f"a number ({raw})"
    if isinstance(raw, str):
        return "a string"
    if isinstance(raw, list):
        return "an array"
    return "an object" if isinstance(raw, dict) else type(raw).__name__
