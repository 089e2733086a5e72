"""Filter compilation: accepted shapes, and bad filters rejected with a message naming the part."""

from __future__ import annotations

from typing import Any

import pytest

from pydrant.errors import MalformedJson, PydrantError, ValidationFailed
from pydrant.segment.filtering import model as m
from pydrant.segment.filtering.compile import compile_filter
from pydrant.segment.filtering.datetimes import parse_datetime
from pydrant.segment.filtering.paths import PathError, parse_path


def test_none_is_no_filter_and_single_conditions_become_lists() -> None:
    assert compile_filter(None) is None
    f = compile_filter({"must": {"key": "a", "match": {"value": 1}}, "should": None})
    assert f is not None and f.should is None
    assert f.must == (m.MatchValue("a", ("a",), 1),)


def test_condition_kinds() -> None:
    f = compile_filter({"must": [
        {"has_id": [1, "550E8400-E29B-41D4-A716-446655440000"]},
        {"has_vector": ""},
        {"key": "d", "range": {"gt": "2023-01-01T00:00:00Z"}},
        {"key": "x", "range": {"gt": 1, "lte": 2.5}},
        {"key": "x", "is_null": True},
        {"must": []},
        {},
    ]})
    assert f is not None and f.must is not None
    assert f.must[0] == m.HasId(frozenset({1, "550e8400-e29b-41d4-a716-446655440000"}))
    assert isinstance(f.must[2], m.DatetimeRange) and f.must[2].gt == parse_datetime("2023-01-01T00:00:00Z")
    assert isinstance(f.must[3], m.Range) and f.must[3].gt == 1.0
    assert f.must[4] == m.IsNull("x", ("x",), True)
    assert f.must[5] == m.Filter(must=())
    assert f.must[6] == m.Filter()


@pytest.mark.parametrize(
    "raw, error, part",
    [
        ([], MalformedJson, "filter"),
        ({"mus": []}, MalformedJson, "mus"),
        ({"must": [{"foo": 1}]}, MalformedJson, "filter.must[0]"),
        ({"must": [{"key": "a"}]}, ValidationFailed, "filter.must[0]"),
        ({"must": [{"key": "a", "match": {"value": 1.5}}]}, MalformedJson, "filter.must[0].match.value"),
        ({"must": [{"key": "a", "match": {"value": None}}]}, MalformedJson, "filter.must[0].match"),
        ({"must": [{"key": "a", "match": {"any": [1, "a"]}}]}, MalformedJson, "match.any"),
        ({"must": [{"key": "a", "match": {"except": "a"}}]}, MalformedJson, "match.except"),
        ({"must": [{"key": "a", "match": {"foo": "a"}}]}, MalformedJson, "match"),
        ({"must": [{"key": "a", "range": {"gt": "yesterday"}}]}, MalformedJson, "range.gt"),
        ({"must": [{"key": "a", "range": {"gt": 1, "lt": "2023-01-01"}}]}, MalformedJson, "range.gt"),
        ({"must": [{"key": "a", "range": {"gt": True}}]}, MalformedJson, "range.gt"),
        ({"must": [{"key": "g", "geo_radius": {"center": {"lat": 91, "lon": 0}, "radius": 1}}]}, ValidationFailed, "center.lat"),
        ({"must": [{"key": "g", "geo_radius": {"center": {"lat": 0, "lon": 181}, "radius": 1}}]}, ValidationFailed, "center.lon"),
        ({"must": [{"key": "g", "geo_radius": {"center": {"lat": 0}, "radius": 1}}]}, MalformedJson, "center"),
        ({"must": [{"key": "g", "geo_radius": {"center": {"lat": 0, "lon": 0}}}]}, MalformedJson, "radius"),
        ({"must": [{"key": "g", "geo_bounding_box": {"top_left": {"lat": 0, "lon": 0}}}]}, MalformedJson, "bottom_right"),
        ({"must": [{"key": "g", "geo_polygon": {"exterior": {"points": [{"lat": 0, "lon": 0}] * 3}}}]}, ValidationFailed, "exterior"),
        ({"must": [{"key": "g", "geo_polygon": {"exterior": {"points": [{"lat": 0, "lon": 0}, {"lat": 1, "lon": 0}, {"lat": 1, "lon": 1}, {"lat": 0, "lon": 1}]}}}]}, ValidationFailed, "exterior"),
        ({"must": [{"key": "a", "values_count": {"gt": -1}}]}, MalformedJson, "values_count.gt"),
        ({"must": [{"is_empty": {}}]}, MalformedJson, "is_empty"),
        ({"must": [{"has_id": [-1]}]}, MalformedJson, "has_id[0]"),
        ({"must": [{"has_id": ["not-a-uuid"]}]}, MalformedJson, "has_id[0]"),
        ({"must": [{"has_vector": 1}]}, MalformedJson, "has_vector"),
        ({"must": [{"nested": {"key": "a"}}]}, MalformedJson, "nested"),
        ({"must": [{"nested": {"key": "a", "filter": {"must": [{"key": 1, "match": {"value": 1}}]}}}]}, ValidationFailed, "nested.filter.must[0].key"),
        ({"min_should": {"conditions": [], "min_count": 0}}, ValidationFailed, "min_count"),
        ({"min_should": {"conditions": {}}}, MalformedJson, "min_should"),
        ({"must": [{"slice": {"total": 2, "index": 2}}]}, ValidationFailed, "slice.index"),
        ({"must": [{"key": "a..b", "match": {"value": 1}}]}, ValidationFailed, "must[0].key"),
    ],
)
def test_bad_filters(raw: Any, error: type[PydrantError], part: str) -> None:
    with pytest.raises(error) as info:
        compile_filter(raw)
    assert part in info.value.message


def test_paths() -> None:
    assert parse_path("a") == ("a",)
    assert parse_path("a.b[].c[3]") == ("a", "b", None, "c", 3)
    assert parse_path('"a.b".c') == ("a.b", "c")
    assert parse_path("a[][]") == ("a", None, None)
    for bad in ["", "a.", ".a", "a[", "a[x]", "a b", 'a."b']:
        with pytest.raises(PathError):
            parse_path(bad)


def test_datetime_parsing_matches_local_mode() -> None:
    from qdrant_client.local.datetime_utils import parse

    samples = [
        "2023-02-08T10:49:00Z", "2023-02-08T10:49:00.123Z", "2023-02-08T10:49:00+01:00", "2023-02-08 10:49:00",
        "2023-02-08T10:49", "2023-02-08", "2023-02-08T10:49:00.123456789Z", "2023-02-08T10:49:00+0130",
        "2023-02-08T10:49:00-05", "2023-02-08T10:49:00 +01:00", "2023-02-08 10:49:00 UTC", " 2023-02-08",
        "2023-02-08t10:49:00", "2023-02-08T10:49+01:00", "2023-02-08T10:49:00z", "2023-02-30", "2023-13-01",
        "2023-02-08T24:00:00", "2023-02-08T10:60:00", "2023-02-08T10:49:61", "20230208", "2023-02-08T10",
        "2023-02-08T10:49:00+25:00", "2023-02-08T10:49:00.Z", "2023-2-8T1:2:3", "0000-01-01", "9999-12-31T23:59:59Z",
    ]
    for s in samples:
        dt = parse(s)
        want = None if dt is None else int(dt.timestamp()) * 1_000_000 + dt.microsecond
        assert parse_datetime(s) == want, s
