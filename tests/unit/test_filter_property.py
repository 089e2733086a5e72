"""Property tests: evaluate() agrees with the reference evaluator and with qdrant-client local mode."""

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

from pydrant.segment.filtering.compile import compile_filter
from pydrant.segment.filtering.evaluate import evaluate

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
