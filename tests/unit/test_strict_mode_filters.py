"""Strict mode's filter walks: which index types a condition needs, counts and sizes."""

from __future__ import annotations

from typing import Any

import pytest

from pydrant.collection.strict_mode import ALL_INDEX_TYPES, StrictMode, conditions_count, max_condition_size, unindexed_key
from pydrant.errors import StrictModeViolation

UUID = "5c56c793-69f3-4fbf-87e6-c4bf54c28c26"


@pytest.mark.parametrize(("condition", "needs"), [
    ({"key": "k", "match": {"value": "x"}}, ["keyword"]),
    ({"key": "k", "match": {"value": UUID}}, ["keyword", "uuid"]),
    ({"key": "k", "match": {"value": 3}}, ["integer"]),
    ({"key": "k", "match": {"value": True}}, ["bool"]),
    ({"key": "k", "match": {"any": ["a", UUID]}}, ["keyword"]),
    ({"key": "k", "match": {"except": [1, 2]}}, ["integer"]),
    ({"key": "k", "match": {"text": "hello"}}, ["text"]),
    ({"key": "k", "range": {"gt": 1.5}}, ["float", "integer"]),
    ({"key": "k", "range": {"gt": "2024-01-01T00:00:00Z"}}, ["datetime"]),
    ({"key": "k", "geo_radius": {"center": {"lat": 1, "lon": 2}, "radius": 3}}, ["geo"]),
    ({"key": "k", "values_count": {"gt": 1}}, list(ALL_INDEX_TYPES)),
    ({"is_empty": {"key": "k"}}, list(ALL_INDEX_TYPES)),
    ({"is_null": {"key": "k"}}, list(ALL_INDEX_TYPES)),
])
def test_index_types_a_condition_needs(condition: dict[str, Any], needs: list[str]) -> None:
    assert unindexed_key({}, {"must": [condition]}) == ("k", needs)


def test_conditions_that_need_no_index() -> None:
    for condition in ({"has_id": [1]}, {"has_vector": "v"}, {"key": "k", "match": {"any": []}}):
        assert unindexed_key({}, {"should": [condition]}) is None


def test_existing_indexes_answer_what_they_can() -> None:
    assert unindexed_key({"k": "keyword"}, {"must": {"key": "k", "match": {"value": "x"}}}) is None
    assert unindexed_key({"k": "keyword"}, {"must": {"key": "k", "range": {"gt": 1}}}) == ("k", ["float", "integer"])
    assert unindexed_key({"k": "float"}, {"must": {"key": "k", "range": {"gt": 1}}}) is None
    assert unindexed_key({"k": "uuid"}, {"must": {"key": "k", "match": {"value": UUID}}}) is None
    assert unindexed_key({"k": "uuid"}, {"must": {"key": "k", "match": {"value": "plain"}}}) == ("k", ["keyword"])
    lookup_only = {"k": {"type": "integer", "lookup": True, "range": False}}
    assert unindexed_key(lookup_only, {"must": {"key": "k", "match": {"value": 1}}}) is None
    assert unindexed_key(lookup_only, {"must": {"key": "k", "range": {"lt": 1}}}) == ("k", ["float", "integer"])
    assert unindexed_key({"k": "geo"}, {"must": {"is_empty": {"key": "k"}}}) is None  # any index


def test_walks_every_clause_and_nesting() -> None:
    flt = {"must_not": [{"must": [{"key": "a", "match": {"value": 1}}]}],
           "min_should": {"conditions": [{"nested": {"key": "n", "filter": {"must": [{"key": "b", "match": {"value": "x"}}]}}}],
                          "min_count": 1}}
    assert unindexed_key({}, flt) == ("a", ["integer"])
    assert unindexed_key({"a": "integer"}, flt) == ("n[].b", ["keyword"])
    assert unindexed_key({"a": "integer", "n[].b": "keyword"}, flt) is None
    assert conditions_count(flt) == 2
    assert conditions_count({"must": [{"has_id": [1, 2, 3]}, {"key": "x", "match": {"any": [1, 2]}}], "should": {"is_null": {"key": "y"}}}) == 3
    assert max_condition_size({"must": [{"has_id": [1, 2, 3]}, {"key": "x", "match": {"any": [1, 2]}}]}) == 3
    polygon = {"exterior": {"points": [{"lat": 0, "lon": 0}] * 4}, "interiors": [{"points": [{"lat": 0, "lon": 0}] * 5}]}
    assert max_condition_size({"must": [{"key": "g", "geo_polygon": polygon}]}) == 9


def test_disabled_or_absent_config_is_no_strict_mode() -> None:
    assert StrictMode.from_config(None) is None
    assert StrictMode.from_config({"enabled": False, "max_query_limit": 1}) is None
    mode = StrictMode.from_config({"enabled": True, "max_query_limit": 5})
    assert mode is not None
    mode.limit(5)
    with pytest.raises(StrictModeViolation, match='Limit exceeded 6 > 5 for "limit"'):
        mode.limit(6)
    mode.search_params({"exact": True})  # search_allow_exact unset: allowed
