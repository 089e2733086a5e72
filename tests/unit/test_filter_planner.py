"""The planner: a selective indexed condition drives, the rest is evaluated on its candidates."""

from __future__ import annotations

import os
import sys
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))

import filter_reference as ref

from pydrant.segment.filtering.compile import compile_filter
from pydrant.segment.filtering.evaluate import estimate_cardinality, evaluate
from pydrant.segment.payload_index import make_field_index


class CountingList(list):  # type: ignore[type-arg]
    """Payload storage that counts reads, to see how many points a plan touched."""

    reads = 0

    def __getitem__(self, i: Any) -> Any:
        CountingList.reads += 1
        return super().__getitem__(i)

    def __iter__(self) -> Any:
        for item in super().__iter__():
            CountingList.reads += 1
            yield item


def _context(n: int, indexed: bool) -> ref.ListContext:
    rng = np.random.default_rng(7)
    payloads = CountingList(
        {"city": "rare" if i % 500 == 0 else "common", "price": float(rng.integers(0, 100)), "tags": ["x", str(i % 3)]}
        for i in range(n)
    )
    indexes = {}
    if indexed:
        index = make_field_index("city", "keyword")
        for off in range(n):
            index.index_point(off, list.__getitem__(payloads, off))
        indexes["city"] = index
    return ref.ListContext(list(range(n)), payloads, indexes=indexes)


FILTER = {"must": [{"key": "price", "range": {"gte": 10}}, {"key": "tags", "match": {"value": "1"}},
                   {"key": "city", "match": {"value": "rare"}}]}


def test_selective_index_limits_payload_reads() -> None:
    n = 5000
    plain, indexed = _context(n, False), _context(n, True)
    compiled = compile_filter(FILTER)
    CountingList.reads = 0
    want = evaluate(compiled, plain)
    scan_reads = CountingList.reads
    CountingList.reads = 0
    got = evaluate(compiled, indexed)
    assert got.tolist() == want.tolist()
    assert want.sum() > 0
    assert scan_reads >= 2 * n  # two unindexed keys over every point
    assert CountingList.reads <= 2 * (n // 500)  # only the 10 'rare' candidates are read


def test_estimates_come_from_indexes() -> None:
    ctx = _context(1000, True)
    f = compile_filter(FILTER)
    assert f is not None and f.must is not None
    assert estimate_cardinality(f.must[2], ctx) == 2
    assert estimate_cardinality(f.must[0], ctx) is None
    assert estimate_cardinality(compile_filter({"must": {"has_id": [1, 2, 3]}}).must[0], ctx) == 3  # type: ignore[union-attr]


def test_must_not_and_should_with_index() -> None:
    ctx, plain = _context(1000, True), _context(1000, False)
    for raw in [{"must_not": [{"key": "city", "match": {"value": "rare"}}]},
                {"should": [{"key": "city", "match": {"value": "rare"}}, {"key": "price", "range": {"lt": 5}}]},
                {"must": [{"key": "city", "match": {"value": "common"}}, {"must_not": {"key": "tags", "match": {"value": "2"}}}]}]:
        f = compile_filter(raw)
        assert evaluate(f, ctx).tolist() == evaluate(f, plain).tolist() == [ref.check(f, p) for p in plain.points()]
