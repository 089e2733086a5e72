"""The legacy search endpoints Qdrant still serves outside the 1.19 contract (`/points/search`,
`/recommend`, `/discover`, their batch and group forms), over raw HTTP: each answers what the
equivalent Query API request answers, in the legacy shapes, with Qdrant's checks and wording.
Their responses are not in the contract, so each point and group is checked against the
contract's ScoredPoint and GroupsResult schemas instead."""

from __future__ import annotations

import uuid
from typing import Any, Iterator

import httpx
import numpy as np
import pytest

from helpers.contract import SPEC_URI, check_error_envelope, validate_against
from helpers.rest import RestClient
from helpers.server import ServerProcess

WAIT = {"wait": "true"}
N = 120
DIM = 4


@pytest.fixture(scope="module")
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30.0) as client:
        yield client


def legacy(http: httpx.Client, name: str, endpoint: str, body: Any) -> Any:
    resp = http.post(f"/collections/{name}/points/{endpoint}", json=body)
    assert resp.status_code == 200, resp.text
    envelope = resp.json()
    assert envelope["status"] == "ok" and isinstance(envelope["time"], float)
    result = envelope["result"]
    if endpoint.endswith("groups"):
        validate_against(result, f"{SPEC_URI}#/components/schemas/GroupsResult", endpoint)
    else:
        for points in result if endpoint.endswith("batch") else [result]:
            for point in points:
                validate_against(point, f"{SPEC_URI}#/components/schemas/ScoredPoint", endpoint)
    return result


def refused(http: httpx.Client, name: str, endpoint: str, body: Any, status: int) -> str:
    resp = http.post(f"/collections/{name}/points/{endpoint}", json=body)
    assert resp.status_code == status, resp.text
    check_error_envelope(resp.json(), endpoint)
    return str(resp.json()["status"]["error"])


def query(rest: RestClient, name: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    return rest.ok("POST", f"/collections/{name}/points/query", json=body)["points"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def coll(rest: RestClient) -> str:
    """Unnamed dense vectors, plus named `img` (dense) and `words` (sparse) in a second one."""
    name = f"legacy_{uuid.uuid4().hex[:8]}"
    vectors = np.random.default_rng(5).normal(size=(N, DIM)).round(3).tolist()
    rest.ok("PUT", f"/collections/{name}", json={"vectors": {"size": DIM, "distance": "Dot"}})
    rest.ok("PUT", f"/collections/{name}/points", params=WAIT, json={"points": [
        {"id": i, "vector": vectors[i], "payload": {"group": i % 5, "city": ["Berlin", "London"][i % 2]}} for i in range(N)]})
    return name


@pytest.fixture(scope="module")
def named(rest: RestClient) -> str:
    name = f"legacy_named_{uuid.uuid4().hex[:8]}"
    rng = np.random.default_rng(6)
    rest.ok("PUT", f"/collections/{name}", json={"vectors": {"img": {"size": DIM, "distance": "Cosine"}},
                                                "sparse_vectors": {"words": {}}})
    points = [{"id": i, "vector": {"img": rng.normal(size=DIM).round(3).tolist(),
                                   "words": {"indices": [i % 7, 10 + i % 3], "values": [1.0, 0.5]}}} for i in range(40)]
    rest.ok("PUT", f"/collections/{name}/points", params=WAIT, json={"points": points})
    return name


# ---- search --------------------------------------------------------------------------------------


def test_search_answers_as_the_query_api(http: httpx.Client, rest: RestClient, coll: str) -> None:
    q = [0.2, 0.1, 0.9, 0.7]
    flt = {"must": [{"key": "city", "match": {"value": "London"}}]}
    ours = legacy(http, coll, "search", {"vector": q, "limit": 7, "filter": flt, "with_payload": True})
    assert ours == query(rest, coll, {"query": q, "limit": 7, "filter": flt, "with_payload": True})
    assert all(p["payload"]["city"] == "London" for p in ours) and len(ours) == 7
    # `top` is the old name of `limit`; `with_vectors` the alias of `with_vector`; offset pages.
    top = legacy(http, coll, "search", {"vector": q, "top": 3, "offset": 2, "with_vectors": True})
    assert top == query(rest, coll, {"query": q, "limit": 3, "offset": 2, "with_vector": True})
    assert all(len(p["vector"]) == DIM and "payload" not in p for p in top)
    threshold = (ours[3]["score"] + ours[4]["score"]) / 2
    above = legacy(http, coll, "search", {"vector": q, "limit": 7, "filter": flt, "score_threshold": threshold})
    assert [p["id"] for p in above] == [p["id"] for p in ours[:4]]


def test_search_named_dense_and_sparse(http: httpx.Client, rest: RestClient, named: str) -> None:
    dense = legacy(http, named, "search", {"vector": {"name": "img", "vector": [0.3, -0.2, 0.1, 0.9]}, "limit": 5})
    assert dense == query(rest, named, {"query": [0.3, -0.2, 0.1, 0.9], "using": "img", "limit": 5})
    sparse_query = {"indices": [3, 11], "values": [1.0, 2.0]}
    sparse = legacy(http, named, "search", {"vector": {"name": "words", "vector": sparse_query}, "limit": 5})
    assert sparse == query(rest, named, {"query": sparse_query, "using": "words", "limit": 5})
    assert len(sparse) == 5 and sparse[0]["score"] > 0


def test_search_batch_and_groups(http: httpx.Client, rest: RestClient, coll: str) -> None:
    searches = [{"vector": [0.1, 0.2, 0.3, 0.4], "limit": 3}, {"vector": [-1.0, 0.0, 0.5, 0.0], "limit": 2, "offset": 1}]
    batch = legacy(http, coll, "search/batch", {"searches": searches})
    assert batch == [query(rest, coll, {"query": s["vector"], "limit": s["limit"], "offset": s.get("offset", 0)}) for s in searches]
    groups = legacy(http, coll, "search/groups", {"vector": [0.1, 0.2, 0.3, 0.4], "group_by": "group", "group_size": 2,
                                                  "limit": 3, "with_payload": True})
    expected = rest.ok("POST", f"/collections/{coll}/points/query/groups", json={
        "query": [0.1, 0.2, 0.3, 0.4], "group_by": "group", "group_size": 2, "limit": 3, "with_payload": True})
    assert groups == expected and len(groups["groups"]) == 3


# ---- recommend -----------------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", [None, "average_vector", "best_score", "sum_scores"])
def test_recommend_answers_as_the_query_api(http: httpx.Client, rest: RestClient, coll: str, strategy: str | None) -> None:
    body: dict[str, Any] = {"positive": [1, [0.5, 0.5, 0.0, 0.1]], "negative": [2], "limit": 6}
    if strategy is not None:
        body["strategy"] = strategy
    ours = legacy(http, coll, "recommend", body)
    recommend = {"positive": body["positive"], "negative": body["negative"], "strategy": strategy or "average_vector"}
    assert ours == query(rest, coll, {"query": {"recommend": recommend}, "limit": 6})
    assert {1, 2}.isdisjoint(p["id"] for p in ours)  # the examples given by id are left out


def test_recommend_batch_groups_and_lookup(http: httpx.Client, rest: RestClient, coll: str, named: str) -> None:
    searches = [{"positive": [3], "limit": 2}, {"positive": [4], "negative": [5], "strategy": "best_score", "limit": 3}]
    batch = legacy(http, coll, "recommend/batch", {"searches": searches})
    assert [len(b) for b in batch] == [2, 3]
    assert batch[0] == legacy(http, coll, "recommend", searches[0])
    groups = legacy(http, coll, "recommend/groups", {"positive": [3], "group_by": "city", "group_size": 3, "limit": 2})
    assert {g["id"] for g in groups["groups"]} == {"Berlin", "London"}
    assert all(len(g["hits"]) == 3 for g in groups["groups"])
    # Examples looked up in another collection's named vector (same size); none left out here.
    other = legacy(http, coll, "recommend", {"positive": [3], "limit": 4, "lookup_from": {"collection": named, "vector": "img"}})
    assert other == query(rest, coll, {"query": {"recommend": {"positive": [3]}}, "limit": 4,
                                       "lookup_from": {"collection": named, "vector": "img"}})


def test_recommend_refusals_in_qdrants_words(http: httpx.Client, coll: str, named: str) -> None:
    assert refused(http, coll, "recommend", {"negative": [1], "limit": 3}, 400) == (
        "Bad request: At least one positive vector ID required with this strategy")
    assert refused(http, coll, "recommend", {"strategy": "best_score", "limit": 3}, 400) == (
        "Bad request: At least one positive or negative vector ID required with this strategy")
    assert refused(http, coll, "recommend", {"positive": [10_000], "limit": 3}, 404) == "Not found: No point with id 10000 found"
    assert refused(http, coll, "recommend", {"positive": [[]], "limit": 3}, 400) == (
        f"Wrong input: Vector dimension error: expected dim: {DIM}, got 0")
    assert refused(http, coll, "recommend", {"positive": [1], "limit": 3, "lookup_from": {"collection": "nowhere"}}, 404) == (
        "Not found: Collection nowhere not found")
    # In Qdrant's order: the point first (404), then the vector's name (400).
    lookup = {"collection": named, "vector": "nope"}
    assert refused(http, coll, "recommend", {"positive": [1000], "limit": 3, "lookup_from": lookup}, 404)
    assert refused(http, coll, "recommend", {"positive": [1], "limit": 3, "lookup_from": lookup}, 400) == (
        "Wrong input: Not existing vector name error: nope")
    assert refused(http, coll, "recommend", {"positive": [[1.0, 2.0]], "limit": 3}, 400) == (
        f"Wrong input: Vector dimension error: expected dim: {DIM}, got 2")
    # Fields are named as the legacy body names them, not by their place in a Query API body.
    assert refused(http, coll, "recommend", {"positive": [1, [1.0, True, 0.0, 0.0]], "limit": 3}, 422) == (
        "Validation error in JSON body: [recommend_request.positive[1]: expected a vector (array of numbers)]")
    assert refused(http, coll, "discover/batch", {"searches": [{"target": 1, "context": [{"positive": ["x"], "negative": 2}], "limit": 3}]}, 422) == (
        "Validation error in JSON body: [searches[0].discover_request.context[0].positive: expected a vector (array of numbers)]")


# ---- discover ------------------------------------------------------------------------------------


def test_discover_and_context(http: httpx.Client, rest: RestClient, coll: str) -> None:
    pairs = [{"positive": 1, "negative": 2}, {"positive": [0.1, 0.9, 0.0, 0.0], "negative": 3}]
    found = legacy(http, coll, "discover", {"target": 4, "context": pairs, "limit": 5})
    assert found == query(rest, coll, {"query": {"discover": {"target": 4, "context": pairs}}, "limit": 5})
    assert {1, 2, 3, 4}.isdisjoint(p["id"] for p in found)
    context = legacy(http, coll, "discover", {"context": pairs, "limit": 5})
    assert context == query(rest, coll, {"query": {"context": pairs}, "limit": 5})
    target_only = legacy(http, coll, "discover", {"target": [0.2, 0.1, 0.0, 0.3], "limit": 4})
    assert len(target_only) == 4
    batch = legacy(http, coll, "discover/batch", {"searches": [{"target": 4, "context": pairs, "limit": 5}, {"context": pairs, "limit": 5}]})
    assert batch == [found, context]
    assert refused(http, coll, "discover", {"limit": 5}, 400) == "Bad request: target and/or context_pairs must be specified"


# ---- shapes and bounds ---------------------------------------------------------------------------


def test_bad_bodies_are_refused_in_qdrants_terms(http: httpx.Client, coll: str, named: str) -> None:
    q = [0.1, 0.2, 0.3, 0.4]
    assert "limit" in refused(http, coll, "search", {"vector": q}, 400)
    assert refused(http, coll, "search", {"vector": q, "limit": 0}, 422) == (
        "Validation error in JSON body: [search_request.limit: value 0 invalid, must be 1 or larger]")
    assert refused(http, coll, "search/batch", {"searches": [{"vector": q, "limit": 1}, {"vector": q, "limit": 0}]}, 422) == (
        "Validation error in JSON body: [searches[1].search_request.limit: value 0 invalid, must be 1 or larger]")
    assert refused(http, coll, "recommend", {"positive": [1], "limit": 0}, 422) == (
        "Validation error in JSON body: [recommend_request.limit: value 0 invalid, must be 1 or larger]")
    assert refused(http, coll, "search/groups", {"vector": q, "group_by": "group", "group_size": 0, "limit": 2}, 422) == (
        "Validation error in JSON body: [search_group_request.group_request.group_size: value 0 invalid, must be 1 or larger]")
    assert "group_size" in refused(http, coll, "search/groups", {"vector": q, "group_by": "group", "limit": 2}, 400)
    assert refused(http, coll, "search", {"vector": [0.1, 0.2], "limit": 1}, 400) == (
        f"Wrong input: Vector dimension error: expected dim: {DIM}, got 2")
    assert "vector" in refused(http, coll, "search", {"vector": [[0.1, 0.2, 0.3, 0.4]], "limit": 1}, 400)  # no multivectors
    assert "vector" in refused(http, coll, "search", {"limit": 1}, 400)
    assert refused(http, named, "search", {"vector": {"name": "nope", "vector": q}, "limit": 1}, 400) == (
        "Wrong input: Not existing vector name error: nope")
    assert refused(http, "no_such_collection", "search", {"vector": q, "limit": 1}, 404)
    assert "JSON object" in refused(http, coll, "search", [q], 400)
