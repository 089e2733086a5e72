"""Hand-written cases: Qdrant's filtering docs examples with their documented results."""

from __future__ import annotations

import os
import sys
from typing import Any

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import filter_reference as ref

from pydrant.segment.filtering.compile import compile_filter
from pydrant.segment.filtering.evaluate import evaluate
from pydrant.segment.payload_index import make_field_index

CITIES = [
    {"city": "London", "color": "green"},
    {"city": "London", "color": "red"},
    {"city": "London", "color": "blue"},
    {"city": "Berlin", "color": "red"},
    {"city": "Moscow", "color": "green"},
    {"city": "Moscow", "color": "blue"},
]


def _ids(payloads: list[Any], raw: dict[str, Any], indexes: dict[str, str] | None = None) -> list[int]:
    ids = list(range(1, len(payloads) + 1))
    built = {}
    for key, schema in (indexes or {}).items():
        built[key] = make_field_index(key, schema)
        for off, p in enumerate(payloads):
            built[key].index_point(off, p)
    mask = evaluate(compile_filter(raw), ref.ListContext(ids, payloads, indexes=built))
    return [ids[i] for i in mask.nonzero()[0]]


LONDON = {"key": "city", "match": {"value": "London"}}
RED = {"key": "color", "match": {"value": "red"}}


@pytest.mark.parametrize("indexes", [None, {"city": "keyword", "color": "keyword"}])
@pytest.mark.parametrize(
    "raw, expected",
    [
        ({"must": [LONDON, RED]}, [2]),
        ({"should": [LONDON, RED]}, [1, 2, 3, 4]),
        ({"must_not": [LONDON, RED]}, [5, 6]),
        ({"must": [LONDON], "must_not": [RED]}, [1, 3]),
        ({"must_not": [{"must": [LONDON, RED]}]}, [1, 3, 4, 5, 6]),
        ({"must": [{"key": "color", "match": {"any": ["black", "yellow"]}}]}, []),
        ({"must": [{"key": "color", "match": {"except": ["black", "yellow"]}}]}, [1, 2, 3, 4, 5, 6]),
        ({"must": [{"key": "color", "match": {"except": ["green", "blue"]}}]}, [2, 4]),
        # Repeated values are accepted (Qdrant reads the list into a set) and count once.
        ({"must": [{"key": "color", "match": {"any": ["red", "red", "blue"]}}]}, [2, 3, 4, 6]),
        ({"must": [{"key": "color", "match": {"except": ["green", "blue", "green"]}}]}, [2, 4]),
        ({"min_should": {"conditions": [LONDON, RED, {"key": "color", "match": {"value": "green"}}], "min_count": 2}}, [1, 2]),
        ({"must": [{"has_id": [1, 3, 5, 7, 9, 11]}]}, [1, 3, 5]),
        ({"should": []}, [1, 2, 3, 4, 5, 6]),
        ({}, [1, 2, 3, 4, 5, 6]),
    ],
)
def test_clauses(raw: dict[str, Any], expected: list[int], indexes: dict[str, str] | None) -> None:
    assert _ids(CITIES, raw, indexes) == expected


DINOSAURS = [
    {"dinosaur": "t-rex", "diet": [{"food": "leaves", "likes": False}, {"food": "meat", "likes": True}]},
    {"dinosaur": "diplodocus", "diet": [{"food": "leaves", "likes": True}, {"food": "meat", "likes": False}]},
]


def test_array_of_objects_without_nested_matches_across_elements() -> None:
    raw = {"must": [{"key": "diet[].food", "match": {"value": "meat"}}, {"key": "diet[].likes", "match": {"value": True}}]}
    assert _ids(DINOSAURS, raw) == [1, 2]


def test_nested_requires_one_element_to_satisfy_all() -> None:
    inner = {"must": [{"key": "food", "match": {"value": "meat"}}, {"key": "likes", "match": {"value": True}}]}
    assert _ids(DINOSAURS, {"must": [{"nested": {"key": "diet", "filter": inner}}]}) == [1]
    assert _ids(DINOSAURS, {"must": [{"nested": {"key": "diet[]", "filter": inner}}]}) == [1]
    # must_not inside nested applies per element
    neg = {"must_not": [{"key": "food", "match": {"value": "meat"}}], "must": [{"key": "likes", "match": {"value": True}}]}
    assert _ids(DINOSAURS, {"must": [{"nested": {"key": "diet", "filter": neg}}]}) == [2]
    # has_id never matches inside a nested filter
    assert _ids(DINOSAURS, {"must": [{"nested": {"key": "diet", "filter": {"must": [{"has_id": [1, 2]}]}}}]}) == []


COUNTRIES = [
    {"country": {"name": "Germany", "cities": [
        {"name": "Berlin", "population": 3.7, "sightseeing": ["Brandenburg Gate", "Reichstag"]},
        {"name": "Munich", "population": 1.5, "sightseeing": ["Marienplatz", "Olympiapark"]}]}},
    {"country": {"name": "Japan", "cities": [
        {"name": "Tokyo", "population": 9.3, "sightseeing": ["Tokyo Tower", "Tokyo Skytree"]},
        {"name": "Osaka", "population": 2.7, "sightseeing": ["Osaka Castle", "Universal Studios Japan"]}]}},
    {"country": {"name": "Japan", "cities": [
        {"name": "Kyoto", "population": 1.5, "sightseeing": ["Kiyomizu-dera", "Fushimi Inari Taisha"]}]}},
]


@pytest.mark.parametrize("indexes", [None, {"country.name": "keyword", "country.cities[].population": "float",
                                              "country.cities[].sightseeing": "keyword"}])
def test_nested_key_paths(indexes: dict[str, str] | None) -> None:
    assert _ids(COUNTRIES, {"must": [{"key": "country.name", "match": {"value": "Germany"}}]}, indexes) == [1]
    assert _ids(COUNTRIES, {"must": [{"key": "country.cities[].population", "range": {"gte": 9.0}}]}, indexes) == [2]
    assert _ids(COUNTRIES, {"must": [{"key": "country.cities[].sightseeing", "match": {"value": "Osaka Castle"}}]}, indexes) == [2]
    assert _ids(COUNTRIES, {"must": [{"key": "country.cities[0].name", "match": {"value": "Kyoto"}}]}, indexes) == [3]
    assert _ids(COUNTRIES, {"must": [{"key": "country.cities.name", "match": {"value": "Kyoto"}}]}, indexes) == []
    assert _ids(COUNTRIES, {"must": [{"key": "country.cities[].sightseeing", "values_count": {"gt": 1}}]}, indexes) == [1, 2, 3]
    assert _ids(COUNTRIES, {"must": [{"key": "country.cities", "values_count": {"gte": 2}}]}, indexes) == [1, 2]


EMPTINESS = [{"reports": []}, {"reports": None}, {}, {"reports": [None]}, {"reports": ["r"]}, {"reports": 0}, None]


def test_is_empty_and_is_null() -> None:
    assert _ids(EMPTINESS, {"must": [{"is_empty": {"key": "reports"}}]}) == [1, 2, 3, 7]  # [null] is not empty
    assert _ids(EMPTINESS, {"must": [{"is_null": {"key": "reports"}}]}) == [2, 4]
    assert _ids(EMPTINESS, {"must": [{"key": "reports", "is_empty": False}]}) == [4, 5, 6]
    assert _ids(EMPTINESS, {"must_not": [{"is_empty": {"key": "reports"}}]}) == [4, 5, 6]


def test_values_count_docs() -> None:
    posts = [{"comments": ["a", "b", "c"]}, {"comments": "a"}, {"comments": ["a", "b"]}, {}]
    assert _ids(posts, {"must": [{"key": "comments", "values_count": {"gt": 2}}]}) == [1]
    assert _ids(posts, {"must": [{"key": "comments", "values_count": {"lt": 2}}]}) == [2, 4]


def test_types_never_cross() -> None:
    data = [{"v": 1}, {"v": 1.0}, {"v": True}, {"v": "1"}, {"v": [1, "x"]}]
    assert _ids(data, {"must": [{"key": "v", "match": {"value": 1}}]}) == [1, 5]
    assert _ids(data, {"must": [{"key": "v", "match": {"value": True}}]}) == [3]
    assert _ids(data, {"must": [{"key": "v", "match": {"value": "1"}}]}) == [4]
    assert _ids(data, {"must": [{"key": "v", "range": {"gte": 1, "lte": 1}}]}) == [1, 2, 5]
    for schema in ("integer", "float", "keyword", "bool"):
        assert _ids(data, {"must": [{"key": "v", "range": {"gte": 1, "lte": 1}}]}, {"v": schema}) == [1, 2, 5]
        assert _ids(data, {"must": [{"key": "v", "match": {"value": 1}}]}, {"v": schema}) == [1, 5]


def test_text_match_without_and_with_index() -> None:
    docs = [{"t": "The quick brown fox"}, {"t": "quickly, brown-ish"}, {"t": ["a fox", "quick"]}, {"t": "Brown QUICK"}]
    for idx in (None, {"t": "text"}):
        assert _ids(docs, {"must": [{"key": "t", "match": {"text": "quick brown"}}]}, idx) == [1, 4]
        assert _ids(docs, {"must": [{"key": "t", "match": {"text_any": "fox quickly"}}]}, idx) == [1, 2, 3]
        assert _ids(docs, {"must": [{"key": "t", "match": {"phrase": "quick brown"}}]}, idx) == [1]
        assert _ids(docs, {"must": [{"key": "t", "match": {"text": ""}}]}, idx) == []
    # a prefix tokenizer matches words by their beginnings
    assert _ids(docs, {"must": [{"key": "t", "match": {"text": "qui bro"}}]}, {"t": {"type": "text", "tokenizer": "prefix"}}) == [1, 2, 4]  # type: ignore[dict-item]


def test_prefix_match() -> None:
    docs = [{"k": "apple"}, {"k": "Apple"}, {"k": ["x", "application"]}, {"k": 5}]
    for idx in (None, {"k": "keyword"}):
        assert _ids(docs, {"must": [{"key": "k", "match": {"prefix": "app"}}]}, idx) == [1, 3]
        assert _ids(docs, {"must": [{"key": "k", "match": {"prefix": ""}}]}, idx) == [1, 2, 3]


def test_datetime_range() -> None:
    docs = [{"d": "2023-02-08T10:49:00Z"}, {"d": "2023-02-08 11:49:00+02:00"}, {"d": "2023-02-08"}, {"d": "bad"}, {"d": 5}]
    raw = {"must": [{"key": "d", "range": {"gte": "2023-02-08T09:00:00Z", "lt": "2023-02-08T10:49:00.000001Z"}}]}
    for idx in (None, {"d": "datetime"}):
        assert _ids(docs, raw, idx) == [1, 2]


def test_geo_docs_examples() -> None:
    berlin = {"lat": 52.520711, "lon": 13.403683}
    docs = [{"location": {"lon": 13.40, "lat": 52.52}}, {"location": {"lon": 2.35, "lat": 48.86}}, {"location": [{"lon": 0, "lat": 0}, berlin]}]
    for idx in (None, {"location": "geo"}):
        radius = {"must": [{"key": "location", "geo_radius": {"center": berlin, "radius": 1000.0}}]}
        assert _ids(docs, radius, idx) == [1, 3]
        box = {"must": [{"key": "location", "geo_bounding_box": {"bottom_right": {"lon": 13.455868, "lat": 52.495862}, "top_left": {"lon": 13.403683, "lat": 52.520711}}}]}
        assert _ids(docs, box, idx) == []
        box2 = {"must": [{"key": "location", "geo_bounding_box": {"bottom_right": {"lon": 13.455868, "lat": 52.495862}, "top_left": {"lon": 13.3, "lat": 52.6}}}]}
        assert _ids(docs, box2, idx) == [1, 3]
        poly = {"must": [{"key": "location", "geo_polygon": {
            "exterior": {"points": [{"lon": -70.0, "lat": -70.0}, {"lon": 60.0, "lat": -70.0}, {"lon": 60.0, "lat": 60.0}, {"lon": -70.0, "lat": 60.0}, {"lon": -70.0, "lat": -70.0}]},
            "interiors": [{"points": [{"lon": -65.0, "lat": -65.0}, {"lon": 0.0, "lat": -65.0}, {"lon": 0.0, "lat": 0.0}, {"lon": -65.0, "lat": 0.0}, {"lon": -65.0, "lat": -65.0}]}]}}]}
        assert _ids(docs, poly, idx) == [1, 2, 3]


def test_has_vector_and_slice() -> None:
    ctx = ref.ListContext([1, 2, 3], [{}, {}, {}], vectors=[{"", "img"}, {""}, {"img"}])
    assert evaluate(compile_filter({"must": [{"has_vector": "img"}]}), ctx).tolist() == [True, False, True]
    halves = [evaluate(compile_filter({"must": [{"slice": {"total": 2, "index": i}}]}), ctx) for i in (0, 1)]
    assert (halves[0] ^ halves[1]).all()
