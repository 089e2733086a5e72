"""Property tests: evaluate() agrees with the reference evaluator and with qdrant-client local mode,
also on a segment whose cached columns outlive payload changes."""

from __future__ import annotations

import os
import sys
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, os.path.dirname(__file__))

# raise for a deeper run: PYDRANT_FILTER_EXAMPLES=2000 pytest tests/unit/test_filter_property.py
EXAMPLES = int(os.environ.get("PYDRANT_FILTER_EXAMPLES", "60"))

import filter_reference as ref

from pydrant.segment import payload_ops
from pydrant.segment.filtering.compile import compile_filter
from pydrant.segment.filtering.evaluate import evaluate
from pydrant.segment.segment import Segment

local = pytest.importorskip("qdrant_client")
from qdrant_client import QdrantClient, models

KEYS = ref.SCALAR_KEYS


@pytest.fixture(scope="module")
def qdrant_local() -> Any:
    client = QdrantClient(":memory:")
    yield client
    client.close()


def _local_mask(client: Any, ids: list[Any], payloads: list[Any], raw_filter: dict[str, Any]) -> np.ndarray:
    if client.collection_exists("t"):
        client.delete_collection("t")
    client.create_collection("t", vectors_config=models.VectorParams(size=1, distance=models.Distance.DOT))
    if ids:
        client.upsert("t", [models.PointStruct(id=i, vector=[1.0], payload=p) for i, p in zip(ids, payloads)])
    found = client.scroll("t", scroll_filter=models.Filter.model_validate(raw_filter), limit=1000, with_payload=False)[0]
    hit = {p.id for p in found}
    return np.array([i in hit for i in ids], dtype=bool)


@st.composite
def scenario(draw: Any) -> tuple[list[Any], list[Any], list[dict[str, Any]]]:
    n = draw(st.integers(0, 12))
    ids = draw(st.lists(st.integers(0, 40), min_size=n, max_size=n, unique=True))
    payloads = draw(st.lists(ref.payloads, min_size=n, max_size=n))
    fs = draw(st.lists(ref.filters(KEYS, 40), min_size=1, max_size=4))
    return ids, payloads, fs


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(scenario())
def test_evaluate_matches_reference_and_local_mode(qdrant_local: Any, case: Any) -> None:
    ids, payloads, fs = case
    ctx = ref.ListContext(ids, payloads)
    for raw in fs:
        compiled = compile_filter(raw)
        got = evaluate(compiled, ctx)
        want = np.array([ref.check(compiled, p) for p in ctx.points()], dtype=bool)
        assert got.tolist() == want.tolist(), raw
        oracle = _local_mask(qdrant_local, ids, [p if p is not None else None for p in payloads], raw)
        assert got.tolist() == oracle.tolist(), raw


_CHANGED_KEYS = ["a", "s", "n[].x", "n", "o.x", "e", "g", "d"]
# Random filters are mostly all-true or all-false on a few points; these see most changes.
_PROBES = [
    *({"must": [{"is_empty": {"key": k}}]} for k in ("a", "s", "o.x", "n[].x", "e", "g", "d")),
    {"must": [{"key": "a", "range": {"gte": 0}}]},
    {"must": [{"key": "a", "match": {"any": ["a", "b"]}}]},
    {"must": [{"key": "e", "values_count": {"gte": 1}}]},
    {"must": [{"key": "s", "match": {"text": "apple"}}]},
    {"must": [{"nested": {"key": "n", "filter": {"must": [{"key": "x", "range": {"gte": 1}}]}}}]},
    {"must": [{"key": "g", "geo_radius": {"center": {"lat": 0, "lon": 0}, "radius": 800000.0}}]},
    {"must": [{"key": "d", "range": {"gte": "2023-01-01T11:00:00Z"}}]},
]
_change = st.one_of(
    st.tuples(st.just("insert"), ref.payloads),
    st.tuples(st.just("overwrite"), st.integers(0, 63), ref.payloads),
    st.tuples(st.just("set"), st.integers(0, 63), ref.payloads),
    st.tuples(st.just("delete_keys"), st.integers(0, 63), st.lists(st.sampled_from(_CHANGED_KEYS), max_size=2)),
    st.tuples(st.just("clear"), st.integers(0, 63)),
    st.tuples(st.just("delete"), st.integers(0, 63)),
)


def _apply_change(segment: Segment, change: tuple[Any, ...], version: int) -> None:
    """One payload write on `segment`, through the methods the update worker uses."""
    if change[0] == "insert":
        segment.insert([100 + version], version, [change[1]])
        return
    live = np.flatnonzero(segment.tracker.live)
    if not len(live):
        return
    offsets = live[change[1] % len(live) :][:1]
    current = segment.payloads[int(offsets[0])]
    match change[0]:
        case "delete":
            segment.delete(offsets, version)
            return
        case "overwrite":
            new = payload_ops.overwrite_payload(current, change[2] or {})
        case "set":
            new = payload_ops.set_payload(current, change[2] or {})
        case "delete_keys":
            new = payload_ops.delete_payload_keys(current, change[2])
        case _:
            new = None
    segment.set_payloads(offsets, [new], version)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(ref.payloads, min_size=3, max_size=12),
    st.lists(ref.filters(KEYS, 120), min_size=1, max_size=3),
    st.lists(_change, min_size=2, max_size=10),
)
def test_cached_evaluation_follows_payload_changes(payloads: list[Any], fs: list[dict[str, Any]], changes: list[Any]) -> None:
    """The same filters evaluated again and again on one segment (its column cache warm) while
    payloads change in between agree with a fresh evaluation and with the reference."""
    segment = Segment(0, {})
    segment.insert(list(range(len(payloads))), 1, payloads)
    fs = [*fs, *_PROBES]
    compiled = [compile_filter(raw) for raw in fs]
    for version, change in enumerate([None, *changes], start=2):
        if change is not None:
            _apply_change(segment, change, version)
        fresh = ref.ListContext(list(segment.external_ids), list(segment.payloads))
        live = segment.tracker.live
        points = [p for p, alive in zip(fresh.points(), live.tolist()) if alive]
        for raw, f in zip(fs, compiled):
            for _ in range(2):
                got = evaluate(f, segment)
                assert got.tolist() == evaluate(f, fresh).tolist(), raw
                assert got[live].tolist() == [ref.check(f, p) for p in points], raw
