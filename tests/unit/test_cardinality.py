"""Qdrant's filter cardinality estimate (segment/filtering/cardinality.py) on a real segment:
indexed conditions are counted, others expected to match half the points, and conditions
combine as independent probabilities."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from pydrant.collection.apply import Applier
from pydrant.collection.config import CollectionConfig
from pydrant.collection.holder import SegmentHolder
from pydrant.collection.operations import DenseColumn, Upsert, VectorColumns
from pydrant.segment.filtering.cardinality import expected_matches
from pydrant.segment.filtering.compile import compile_filter
from pydrant.segment.segment import Segment

N = 100


@pytest.fixture(scope="module")
def segment() -> Segment:
    config = CollectionConfig.from_create_request({"vectors": {"size": 2, "distance": "Dot"}})
    applier = Applier(SegmentHolder([], 0), lambda: config)
    payloads: list[dict[str, Any] | None] = [{"city": "Berlin" if i < 20 else "Paris", "n": i} for i in range(N)]
    vectors = np.ones((N, 2), dtype=np.float32).tobytes()
    applier.apply(Upsert(list(range(N)), VectorColumns(dense={"": DenseColumn(None, vectors, 2)}), payloads), 1)
    applier.apply_index_on_load("city", "keyword")
    return applier.holder.segments[-1]


@pytest.mark.parametrize(("flt", "expected"), [
    ({}, N),  # no condition: every point
    ({"must": [{"key": "city", "match": {"value": "Berlin"}}]}, 20),  # the index counts
    ({"must": [{"key": "n", "range": {"lt": 10}}]}, N // 2),  # no index: half
    ({"must": [{"key": "city", "match": {"value": "Berlin"}}, {"key": "n", "range": {"lt": 10}}]}, 10),  # 20% x 50%
    ({"should": [{"key": "city", "match": {"value": "Berlin"}}, {"key": "n", "range": {"lt": 10}}]}, 60),  # 1 - 80% x 50%
    ({"must_not": [{"key": "city", "match": {"value": "Berlin"}}]}, 80),
    ({"must": [{"has_id": [1, 2, 3]}]}, 3),
    ({"must": [{"must": [{"key": "city", "match": {"value": "Paris"}}]}]}, 80),  # a nested filter
])
def test_expected_matches(segment: Segment, flt: dict[str, Any], expected: int) -> None:
    compiled = compile_filter(flt, "filter")
    assert (expected_matches(compiled, segment) if compiled is not None else N) == expected


def test_an_empty_segment_matches_nothing() -> None:
    segment = Segment(0, {}, appendable=True)
    assert expected_matches(compile_filter({"must": [{"has_id": [1]}]}, "filter"), segment) == 0
