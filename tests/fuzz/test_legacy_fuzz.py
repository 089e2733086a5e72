"""Random bodies for the legacy search endpoints (outside the contract, so schemathesis does not
reach them): every answer is a 200 or a 4xx in Qdrant's error envelope, never a 5xx, and none
changes a point."""

from __future__ import annotations

import json
from typing import Any, Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz_support import DENSE_DIM, SEED_IDS, SPARSE_NAME, create_fuzz_collection
from helpers.contract import check_error_envelope
from helpers.server import ServerProcess

COLLECTION = "legacy_fuzz"
ENDPOINTS = ["search", "search/batch", "search/groups", "recommend", "recommend/batch", "recommend/groups",
             "discover", "discover/batch"]
KEYS = ["vector", "limit", "top", "offset", "filter", "params", "with_payload", "with_vector", "with_vectors",
        "score_threshold", "positive", "negative", "strategy", "using", "lookup_from", "target", "context",
        "group_by", "group_size", "with_lookup", "shard_key"]

scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 30), st.integers(2**63, 2**70),
                    st.floats(allow_nan=False), st.sampled_from(["", "city", SPARSE_NAME, "nope", "best_score"]))
vectors = st.one_of(st.lists(st.floats(-2, 2), min_size=0, max_size=DENSE_DIM + 1),
                    st.lists(st.lists(st.floats(-2, 2), max_size=DENSE_DIM), max_size=2),
                    st.fixed_dictionaries({"indices": st.lists(st.integers(-1, 9), max_size=3),
                                           "values": st.lists(st.floats(-2, 2), max_size=3)}),
                    st.sampled_from(SEED_IDS + [999]))
values = st.recursive(
    st.one_of(scalars, vectors),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(["name", "vector", "positive", "negative", "collection",
                                                             "must", "key", "match", "value"]), inner, max_size=3)),
    max_leaves=8,
)
bodies = st.dictionaries(st.sampled_from(KEYS), values, max_size=7)


SEEDED: dict[str, Any] = {}  # the collection as created, before any fuzzed request


@pytest.fixture(scope="module")
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30.0) as client:
        create_fuzz_collection(client, COLLECTION)
        SEEDED["points"] = _points(client)
        yield client


def _points(http: httpx.Client) -> Any:
    resp = http.post(f"/collections/{COLLECTION}/points/scroll", json={"limit": 100, "with_vector": True, "with_payload": True})
    return resp.json()["result"]


@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(endpoint=st.sampled_from(ENDPOINTS), body=bodies, batch=st.lists(bodies, max_size=3), wrap=st.booleans(),
       well_formed=st.booleans())
def test_legacy_endpoints_never_fail_on_input(http: httpx.Client, endpoint: str, body: dict[str, Any],
                                              batch: list[dict[str, Any]], wrap: bool, well_formed: bool) -> None:
    if well_formed:  # half the bodies get past the required fields, to reach the engine
        body = {"limit": 3, "group_by": "city", "group_size": 2, "vector": [0.1] * DENSE_DIM, "positive": [1], **body}
    if endpoint.endswith("batch") and wrap:
        body = {"searches": batch}
    resp = http.post(f"/collections/{COLLECTION}/points/{endpoint}", content=json.dumps(body))
    assert resp.status_code < 500, f"{endpoint} {json.dumps(body)[:300]} -> {resp.status_code}: {resp.text[:300]}"
    if resp.status_code >= 400:
        check_error_envelope(resp.json(), endpoint)
    else:
        assert resp.json()["status"] == "ok"


def test_the_fuzzed_reads_changed_nothing(http: httpx.Client) -> None:
    """Runs after the fuzz test above (file order): every point is as seeded."""
    assert len(SEEDED["points"]["points"]) == len(SEED_IDS)
    assert _points(http) == SEEDED["points"]
