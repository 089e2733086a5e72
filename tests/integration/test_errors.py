"""Bad input: every rejection is a clear 4xx in Qdrant's error envelope, never a 500, and changes nothing."""

from __future__ import annotations

import json
from typing import Any, Iterator

import pytest

from helpers.rest import RestClient

WAIT = {"wait": "true"}
# Qdrant answers 400 for bodies that do not deserialize; some stacks say 422. Both are clean refusals.
SHAPE_ERRORS = (400, 422)


@pytest.fixture
def coll(rest: RestClient, collection_name: str) -> Iterator[str]:
    """One unnamed 4-d Dot vector and a point 1 whose state every rejected request must keep."""
    rest.ok("PUT", f"/collections/{collection_name}", json={"vectors": {"size": 4, "distance": "Dot"}})
    rest.ok("PUT", f"/collections/{collection_name}/points", params=WAIT,
            json={"points": [{"id": 1, "vector": [1.0, 2.0, 3.0, 4.0], "payload": {"k": "v"}}]})
    yield collection_name


@pytest.fixture
def named(rest: RestClient, collection_name: str) -> str:
    rest.ok("PUT", f"/collections/{collection_name}", json={
        "vectors": {"image": {"size": 4, "distance": "Dot"}}, "sparse_vectors": {"sp": {}}})
    return collection_name


def snapshot(rest: RestClient, name: str) -> Any:
    """What a failed write must leave as it was: the count and every point a test here touches."""
    records = rest.ok("POST", f"/collections/{name}/points",
                      json={"ids": [1, 2, 3, 100], "with_payload": True, "with_vector": True})
    info = rest.ok("GET", f"/collections/{name}")
    return info["points_count"], sorted(json.dumps(p, sort_keys=True) for p in records)


def assert_rejected(rest: RestClient, name: str, method: str, path: str, statuses: tuple[int, ...],
                    message: str | None = None, **kw: Any) -> str:
    before = snapshot(rest, name)
    resp = rest.request(method, path, **kw)
    assert resp.status_code in statuses, f"{method} {path}: {resp.status_code} {resp.text[:500]}"
    error = resp.json()["status"]["error"]
    if message is not None:
        assert error == message
    assert snapshot(rest, name) == before, "a rejected request changed the collection"
    return str(error)


# ---------------------------------------------------------------- body shape

def test_malformed_json(rest: RestClient, coll: str) -> None:
    msg = assert_rejected(rest, coll, "PUT", f"/collections/{coll}/points", SHAPE_ERRORS, params=WAIT,
                          content=b'{"points": [{"id": 2, "vector": [1, 2, 3, 4]}')
    assert msg


@pytest.mark.parametrize("body", [
    b"",
    b"[]",
    b"null",
    b'{"points": "nope"}',
    b'{"points": [{"id": 2, "vector": "abcd"}]}',
    b'{"points": [{"id": 2, "vector": [1, 2, "x", 4]}]}',
    b'{"points": [{"id": 2, "vector": [1, 2, 3, 4], "payload": [1, 2]}]}',
    b'{"points": [{"id": 2}]}',
    b'{}',
    b'{"batch": {"ids": [2, 3], "vectors": [[1, 2, 3, 4]]}}',
    b'{"points": [{"id": 2, "vector": [1, 2, 3, 4]}], "extra_unknown_field": {"a": [}',
])
def test_wrong_shapes_are_rejected(rest: RestClient, coll: str, body: bytes) -> None:
    assert_rejected(rest, coll, "PUT", f"/collections/{coll}/points", (400, 422), params=WAIT, content=body)


def test_integers_beyond_64_bits_in_payloads(rest: RestClient, coll: str) -> None:
    """JSON integers past 64 bits become the floats Qdrant's JSON parser reads them as (they
    used to be a 500: the WAL cannot log them); past float range they are refused."""
    big = b'{"points": [{"id": 2, "vector": [1, 0, 0, 0], "payload": {"a": 100000000000000000000000000000, "u": 18446744073709551615, "l": [1, -100000000000000000000000]}}]}'
    rest.ok("PUT", f"/collections/{coll}/points", params=WAIT, content=big, headers={"content-type": "application/json"})
    rest.ok("POST", f"/collections/{coll}/points/payload", params=WAIT, content=b'{"payload": {"b": 1000000000000000000000}, "points": [2]}',
            headers={"content-type": "application/json"})
    payload = rest.ok("GET", f"/collections/{coll}/points/2")["payload"]
    assert payload == {"a": 1e29, "u": 2**64 - 1, "l": [1, -1e23], "b": 1e21}
    assert type(payload["a"]) is float and type(payload["u"]) is int
    huge = "1" + "0" * 400
    assert "number out of range" in assert_rejected(rest, coll, "PUT", f"/collections/{coll}/points", SHAPE_ERRORS, params=WAIT,
                                                    content=f'{{"points": [{{"id": 3, "vector": [1, 0, 0, 0], "payload": {{"h": {huge}}}}}]}}',
                                                    headers={"content-type": "application/json"})
    batch = f'{{"operations": [{{"set_payload": {{"payload": {{"c": 1}}, "points": [1]}}}}, {{"overwrite_payload": {{"payload": {{"h": -{huge}}}, "points": [2]}}}}]}}'
    assert_rejected(rest, coll, "POST", f"/collections/{coll}/points/batch", SHAPE_ERRORS, params=WAIT, content=batch,
                    headers={"content-type": "application/json"})
    # Elsewhere such a number is refused as Qdrant's JSON parser refuses it, never a 500.
    for body in (f'{{"filter": {{"must": [{{"key": "a", "range": {{"gt": {huge}}}}}]}}}}',
                 f'{{"filter": {{"must": [{{"key": "a", "geo_radius": {{"center": {{"lat": 1, "lon": 1}}, "radius": {huge}}}}}]}}}}'):
        assert "number out of range" in rest.error("POST", f"/collections/{coll}/points/count", 400, content=body)
    rrf = f'{{"prefetch": {{"query": [1, 0, 0, 0]}}, "query": {{"rrf": {{"k": {huge}}}}}}}'
    assert "number out of range" in rest.error("POST", f"/collections/{coll}/points/query", 400, content=rrf)


@pytest.mark.parametrize("bad_id", [-1, 1.5, 2**64, True, None, "not-a-uuid", "", [1], {"id": 1}])
def test_bad_point_ids_are_rejected(rest: RestClient, coll: str, bad_id: Any) -> None:
    assert_rejected(rest, coll, "PUT", f"/collections/{coll}/points", SHAPE_ERRORS, params=WAIT,
                    json={"points": [{"id": bad_id, "vector": [1.0, 2.0, 3.0, 4.0]}]})


@pytest.mark.parametrize("bad_id", ["-1", "1.5", "abc", "18446744073709551616"])
def test_bad_point_id_in_path(rest: RestClient, coll: str, bad_id: str) -> None:
    resp = rest.get(f"/collections/{coll}/points/{bad_id}")
    assert 400 <= resp.status_code < 500


def test_bad_ids_in_retrieve_and_delete(rest: RestClient, coll: str) -> None:
    assert_rejected(rest, coll, "POST", f"/collections/{coll}/points", SHAPE_ERRORS, json={"ids": [-5]})
    assert_rejected(rest, coll, "POST", f"/collections/{coll}/points", SHAPE_ERRORS, json={"ids": "1"})
    assert_rejected(rest, coll, "POST", f"/collections/{coll}/points/delete", SHAPE_ERRORS, params=WAIT,
                    json={"points": [1, 2.5]})


# ---------------------------------------------------------------- semantic checks against the config

def test_wrong_dimension(rest: RestClient, coll: str) -> None:
    assert_rejected(rest, coll, "PUT", f"/collections/{coll}/points", (400,),
                    "Wrong input: Vector dimension error: expected dim: 4, got 3",
                    params=WAIT, json={"points": [{"id": 2, "vector": [1.0, 2.0, 3.0]}]})


def test_wrong_dimension_with_wait_false_is_still_400(rest: RestClient, coll: str) -> None:
    # Qdrant checks dimensions before the WAL, so an unawaited write still gets its 400.
    assert_rejected(rest, coll, "PUT", f"/collections/{coll}/points", (400,),
                    "Wrong input: Vector dimension error: expected dim: 4, got 5",
                    params={"wait": "false"}, json={"points": [{"id": 2, "vector": [1.0] * 5}]})


def test_one_bad_point_rejects_the_whole_batch(rest: RestClient, coll: str) -> None:
    assert_rejected(rest, coll, "PUT", f"/collections/{coll}/points", (400,),
                    "Wrong input: Vector dimension error: expected dim: 4, got 3", params=WAIT,
                    json={"points": [{"id": 1, "vector": [9.0, 9.0, 9.0, 9.0], "payload": {"k": "changed"}},
                                     {"id": 2, "vector": [1.0, 2.0, 3.0, 4.0]},
                                     {"id": 3, "vector": [1.0, 2.0, 3.0]}]})
    assert_rejected(rest, coll, "PUT", f"/collections/{coll}/points", (400,),
                    "Wrong input: Vector dimension error: expected dim: 4, got 3", params=WAIT,
                    json={"batch": {"ids": [2, 3], "vectors": [[1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0]]}})


def test_wrong_dimension_in_update_vectors(rest: RestClient, coll: str) -> None:
    assert_rejected(rest, coll, "PUT", f"/collections/{coll}/points/vectors", (400,),
                    "Wrong input: Vector dimension error: expected dim: 4, got 2",
                    params=WAIT, json={"points": [{"id": 1, "vector": [1.0, 2.0]}]})


def test_unknown_vector_name(rest: RestClient, named: str) -> None:
    assert_rejected(rest, named, "PUT", f"/collections/{named}/points", (400,),
                    "Wrong input: Not existing vector name error: nope",
                    params=WAIT, json={"points": [{"id": 1, "vector": {"nope": [1.0, 2.0, 3.0, 4.0]}}]})


def test_unknown_vector_name_in_update_and_delete_vectors(rest: RestClient, named: str) -> None:
    rest.ok("PUT", f"/collections/{named}/points", params=WAIT,
            json={"points": [{"id": 1, "vector": {"image": [1.0, 2.0, 3.0, 4.0]}}]})
    assert_rejected(rest, named, "PUT", f"/collections/{named}/points/vectors", (400,),
                    "Wrong input: Not existing vector name error: nope",
                    params=WAIT, json={"points": [{"id": 1, "vector": {"nope": [1.0, 2.0, 3.0, 4.0]}}]})
    assert_rejected(rest, named, "POST", f"/collections/{named}/points/vectors/delete", (400,),
                    "Wrong input: Not existing vector name error: nope",
                    params=WAIT, json={"points": [1], "vector": ["nope"]})


def test_unnamed_vector_into_named_collection(rest: RestClient, named: str) -> None:
    assert_rejected(rest, named, "PUT", f"/collections/{named}/points", (400,), params=WAIT,
                    json={"points": [{"id": 1, "vector": [1.0, 2.0, 3.0, 4.0]}]})


def test_sparse_vector_checks(rest: RestClient, named: str) -> None:
    for sparse in ({"indices": [1, 2], "values": [0.5]},          # lengths differ
                   {"indices": [3, 3], "values": [0.5, 0.25]}):   # duplicate index
        assert_rejected(rest, named, "PUT", f"/collections/{named}/points", SHAPE_ERRORS, params=WAIT,
                        json={"points": [{"id": 1, "vector": {"sp": sparse}}]})
    # Dense data for a sparse name and sparse data for a dense name.
    assert_rejected(rest, named, "PUT", f"/collections/{named}/points", SHAPE_ERRORS, params=WAIT,
                    json={"points": [{"id": 1, "vector": {"sp": [1.0, 2.0]}}]})
    assert_rejected(rest, named, "PUT", f"/collections/{named}/points", SHAPE_ERRORS, params=WAIT,
                    json={"points": [{"id": 1, "vector": {"image": {"indices": [1], "values": [1.0]}}}]})


def test_sparse_vector_checks_use_qdrants_words(rest: RestClient, named: str) -> None:
    path = f"/collections/{named}/points"
    uneven = {"points": [{"id": 1, "vector": {"sp": {"indices": [1, 2], "values": [0.5]}}}]}
    assert rest.error("PUT", path, 422, params=WAIT, json=uneven) == (
        "Validation error in JSON body: [points[0].vector.?.values: Validation error: must be the same length as indices [{}]]")
    repeated = {"points": [{"id": 1, "vector": {"sp": {"indices": [3, 3], "values": [0.5, 0.25]}}}]}
    assert rest.error("PUT", path, 422, params=WAIT, json=repeated) == (
        "Validation error in JSON body: [points[0].vector.?.indices: Validation error: must be unique [{}]]")
    clash = {"vectors": {"image": {"size": 2, "distance": "Dot"}}, "sparse_vectors": {"image": {}}}
    assert rest.error("PUT", f"/collections/{named}_clash", 400, json=clash) == (
        "Wrong input: Dense and sparse vector names must be unique - duplicate found with 'image'")
    for body in ({"vectors": {"size": 2, "distance": "Dot"}, "sparse_vectors": {"": {}}}, {"sparse_vectors": {"": {}}}):
        assert rest.error("PUT", f"/collections/{named}_clash", 422, json=body) == (
            "Validation error in JSON body: [sparse_vectors: Sparse vector name cannot be empty]")


def test_a_timeout_of_zero_is_a_422(rest: RestClient, named: str) -> None:
    assert rest.error("PUT", f"/collections/{named}_t0", 422, params={"timeout": "0"},
                      json={"vectors": {"size": 2, "distance": "Dot"}}) == (
        "Validation error in query parameters: [timeout: value 0 invalid, must be 1 or larger]")
    assert "timeout" in rest.error("PUT", f"/collections/{named}_t0", 400, params={"timeout": "soon"},
                                   json={"vectors": {"size": 2, "distance": "Dot"}})
    assert rest.ok("GET", f"/collections/{named}_t0/exists") == {"exists": False}


# ---------------------------------------------------------------- unknown collection

@pytest.mark.parametrize("method,suffix,body", [
    ("GET", "", None),
    ("GET", "/points/1", None),
    ("POST", "/points", {"ids": [1]}),
    ("PUT", "/points", {"points": [{"id": 1, "vector": [1.0]}]}),
    ("POST", "/points/delete", {"points": [1]}),
    ("PUT", "/points/vectors", {"points": [{"id": 1, "vector": [1.0]}]}),
    ("POST", "/points/scroll", {"limit": 1}),
    ("POST", "/points/count", {}),
])
def test_unknown_collection_is_404(rest: RestClient, collection_name: str, method: str, suffix: str, body: Any) -> None:
    msg = rest.error(method, f"/collections/{collection_name}{suffix}", 404, json=body)
    assert msg == f"Not found: Collection `{collection_name}` doesn't exist!"


# ---------------------------------------------------------------- collection creation

@pytest.mark.parametrize("body", [
    {"vectors": {"size": 4, "distance": "Hamming"}},
    {"vectors": {"size": 0, "distance": "Dot"}},
    {"vectors": {"size": -3, "distance": "Dot"}},
    {"vectors": {"size": "four", "distance": "Dot"}},
    {"vectors": {"distance": "Dot"}},
    {"vectors": {"size": 4, "distance": "Dot"}, "hnsw_config": {"m": "many"}},
])
def test_bad_collection_config_creates_nothing(rest: RestClient, collection_name: str, body: Any) -> None:
    resp = rest.put(f"/collections/{collection_name}", json=body)
    assert resp.status_code in SHAPE_ERRORS, resp.text
    assert rest.ok("GET", f"/collections/{collection_name}/exists") == {"exists": False}


def test_malformed_collection_body_creates_nothing(rest: RestClient, collection_name: str) -> None:
    resp = rest.put(f"/collections/{collection_name}", content=b'{"vectors": {"size": 4,')
    assert resp.status_code in SHAPE_ERRORS
    assert rest.ok("GET", f"/collections/{collection_name}/exists") == {"exists": False}


# ---------------------------------------------------------------- size limit

def test_oversized_body_is_refused_cleanly(rest: RestClient, coll: str) -> None:
    # Qdrant's default max_request_size_mb is 32; send a bit more than that.
    row = [0.123456789] * 4
    n = 33 * 1024 * 1024 // len(json.dumps({"id": 0, "vector": row})) + 1000
    body = json.dumps({"points": [{"id": i + 100, "vector": row} for i in range(n)]}).encode()
    assert len(body) > 33 * 1024 * 1024
    msg = assert_rejected(rest, coll, "PUT", f"/collections/{coll}/points", (400, 413), params=WAIT, content=body)
    assert msg
    # The server is still healthy afterwards.
    assert rest.get("/readyz").status_code == 200


def test_the_default_vector_missing_is_named_empty_as_qdrant_does(rest: RestClient, collection_name: str) -> None:
    """Clients match on Qdrant's exact text, which names the default vector with an empty string."""
    rest.ok("PUT", f"/collections/{collection_name}", json={"vectors": {"dense": {"size": 2, "distance": "Dot"}}})
    expected = "Wrong input: Not existing vector name error: "
    assert rest.error("POST", f"/collections/{collection_name}/points/query", 400, json={"query": [1.0, 2.0]}) == expected
    assert rest.error("PUT", f"/collections/{collection_name}/points", 400, params={"wait": "true"},
                      json={"points": [{"id": 1, "vector": [1.0, 2.0]}]}) == expected
