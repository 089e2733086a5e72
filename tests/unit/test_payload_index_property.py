"""Differential: filters evaluated with field indexes == without == the reference evaluator."""

from __future__ import annotations

import os
import sys
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, os.path.dirname(__file__))

# raise for a deeper run: PYDRANT_FILTER_EXAMPLES=2000 pytest tests/unit/test_filter_property.py
EXAMPLES = int(os.environ.get("PYDRANT_FILTER_EXAMPLES", "60"))

import filter_reference as ref

from pydrant.segment.filtering.compile import compile_filter
from pydrant.segment.filtering.evaluate import evaluate
from pydrant.segment.payload_index import make_field_index

INDEX_CHOICES = {
    "a": ["integer", "float", "keyword", "bool", {"type": "integer", "lookup": False}, {"type": "integer", "range": False}],
    "s": ["keyword", "text", "integer", {"type": "keyword", "prefix": True}],
    "o.x": ["integer", "float", "keyword"],
    "n[].x": ["integer", "float"],
    "g": ["geo"],
    "d": ["datetime"],
    "u": ["uuid", "keyword"],
    "e": ["integer", "bool"],
}


@st.composite
def indexed_scenario(draw: Any) -> tuple[list[Any], list[Any], dict[str, Any], list[Any], list[dict[str, Any]]]:
    n = draw(st.integers(0, 20))
    ids = list(range(n))
    payloads = draw(st.lists(ref.payloads, min_size=n, max_size=n))
    chosen = draw(st.dictionaries(st.sampled_from(sorted(INDEX_CHOICES)), st.integers(0, 10), max_size=6))
    schemas = {k: INDEX_CHOICES[k][i % len(INDEX_CHOICES[k])] for k, i in chosen.items()}
    # payloads the points held before their final one: exercises re-indexing and removal
    churn = draw(st.lists(st.tuples(st.integers(0, max(n - 1, 0)), ref.payloads), max_size=8))
    fs = draw(st.lists(ref.filters(ref.SCALAR_KEYS, 40), min_size=1, max_size=4))
    return ids, payloads, schemas, churn, fs


@settings(max_examples=EXAMPLES, deadline=None)
@given(indexed_scenario())
def test_indexed_equals_unindexed_equals_reference(case: Any) -> None:
    ids, payloads, schemas, churn, fs = case
    indexes = {k: make_field_index(k, s) for k, s in schemas.items()}
    plain = ref.ListContext(ids, payloads)
    for off, old in churn:
        if off < len(payloads):
            for index in indexes.values():
                index.index_point(off, old)
    for i, index in enumerate(indexes.values()):
        if i % 2 and fs:  # query once mid-way so later updates land on merged structures
            evaluate(compile_filter(fs[0]), ref.ListContext(ids, payloads, indexes=indexes))
    for off, p in enumerate(payloads):
        for index in indexes.values():
            index.index_point(off, p)
    indexed = ref.ListContext(ids, payloads, indexes=indexes)
    for raw in fs:
        compiled = compile_filter(raw)
        want = [ref.check(compiled, p) for p in plain.points()]
        assert evaluate(compiled, plain).tolist() == want, raw
        assert evaluate(compiled, indexed).tolist() == want, (raw, schemas)


@settings(max_examples=100, deadline=None)
@given(st.lists(ref.payloads, max_size=25), st.lists(st.integers(0, 24), max_size=10))
def test_points_count_and_removal(payloads: list[Any], removed: list[int]) -> None:
    index = make_field_index("a", "integer")
    for off, p in enumerate(payloads):
        index.index_point(off, p)
    gone = {r for r in removed if r < len(payloads)}
    for r in gone:
        index.remove_point(r)
    ctx = ref.ListContext(list(range(len(payloads))), [None if i in gone else p for i, p in enumerate(payloads)])
    has_int = [any(type(v) is int for v in (ref.values_at(p, ("a",)) if p else [])) for p in ctx.payloads]
    assert index.points_count() == sum(has_int)
    cond = compile_filter({"must": {"key": "a", "range": {"gte": -100}}})
    mask = index.mask(cond.must[0], len(payloads))  # type: ignore[index]
    if mask is not None:
        assert mask.tolist() == evaluate(cond, ctx).tolist()
    assert np.all(index.mask(compile_filter({"must": {"key": "a", "match": {"any": [0, 1, 2, 3, 4, 5, -1, -2, -3, -4, -5]}}}).must[0], len(payloads)) == np.array(has_int, dtype=bool)) or not payloads  # type: ignore[index]
