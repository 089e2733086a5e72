"""Points over REST and qdrant-client: every REST example of Qdrant's Points docs, ids, vector kinds,
upsert/retrieve/delete/update_vectors/delete_vectors, wait semantics and operation ids."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from qdrant_client import models

from helpers.rest import RestClient
from helpers.server import wait_until
from helpers.vectors import assert_vec_close, assert_vec_equal, normalized, sparse_as_dict

WAIT = {"wait": "true"}


def create(rest: RestClient, name: str, body: dict[str, Any]) -> None:
    assert rest.ok("PUT", f"/collections/{name}", json=body) is True


def upsert(rest: RestClient, name: str, body: dict[str, Any], wait: bool = True) -> dict[str, Any]:
    res = rest.ok("PUT", f"/collections/{name}/points", params={"wait": str(wait).lower()}, json=body)
    assert res["status"] == ("completed" if wait else "acknowledged")
    return res  # type: ignore[no-any-return]


def retrieve(rest: RestClient, name: str, ids: list[Any], **opts: Any) -> dict[Any, dict[str, Any]]:
    """POST /points, keyed by returned id (Qdrant does not promise an order)."""
    records = rest.ok("POST", f"/collections/{name}/points", json={"ids": ids, **opts})
    by_id = {r["id"]: r for r in records}
    assert len(by_id) == len(records), f"duplicate ids in {records}"
    return by_id


def count(rest: RestClient, name: str) -> int:
    return rest.ok("POST", f"/collections/{name}/points/count", json={"exact": True})["count"]  # type: ignore[no-any-return]


@pytest.fixture
def dot3(rest: RestClient, collection_name: str) -> str:
    """A collection with one unnamed 3-d Dot vector (Dot keeps vectors exactly as sent)."""
    create(rest, collection_name, {"vectors": {"size": 3, "distance": "Dot"}})
    return collection_name


@pytest.fixture
def named(rest: RestClient, collection_name: str) -> str:
    """The docs' named-vector collection: image (4-d) and text (8-d)."""
    create(rest, collection_name, {"vectors": {"image": {"size": 4, "distance": "Dot"},
                                               "text": {"size": 8, "distance": "Dot"}}})
    return collection_name


COLORS_BATCH = {
    "batch": {
        "ids": [1, 2, 3],
        "payloads": [{"color": "red"}, {"color": "green"}, {"color": "blue"}],
        "vectors": [[0.9, 0.1, 0.1], [0.1, 0.9, 0.1], [0.1, 0.1, 0.9]],
    }
}
COLORS_RECORDS = {
    "points": [
        {"id": 1, "payload": {"color": "red"}, "vector": [0.9, 0.1, 0.1]},
        {"id": 2, "payload": {"color": "green"}, "vector": [0.1, 0.9, 0.1]},
        {"id": 3, "payload": {"color": "blue"}, "vector": [0.1, 0.1, 0.9]},
    ]
}
NAMED_DOC = {
    "points": [
        {"id": 1, "vector": {"image": [0.9, 0.1, 0.1, 0.2], "text": [0.4, 0.7, 0.1, 0.8, 0.1, 0.1, 0.9, 0.2]}},
        {"id": 2, "vector": {"image": [0.2, 0.1, 0.3, 0.9], "text": [0.5, 0.2, 0.7, 0.4, 0.7, 0.2, 0.3, 0.9]}},
    ]
}


# ---------------------------------------------------------------- Points docs examples, verbatim

def test_docs_uuid_point(rest: RestClient, dot3: str) -> None:
    upsert(rest, dot3, {"points": [{"id": "5c56c793-69f3-4fbf-87e6-c4bf54c28c26",
                                    "payload": {"color": "red"}, "vector": [0.9, 0.1, 0.1]}]})
    got = rest.ok("GET", f"/collections/{dot3}/points/5c56c793-69f3-4fbf-87e6-c4bf54c28c26")
    assert got["id"] == "5c56c793-69f3-4fbf-87e6-c4bf54c28c26"
    assert got["payload"] == {"color": "red"}
    assert_vec_equal(got["vector"], [0.9, 0.1, 0.1])


def test_docs_int_point(rest: RestClient, dot3: str) -> None:
    upsert(rest, dot3, {"points": [{"id": 1, "payload": {"color": "red"}, "vector": [0.9, 0.1, 0.1]}]})
    got = rest.ok("GET", f"/collections/{dot3}/points/1")
    assert got["id"] == 1
    assert got["payload"] == {"color": "red"}
    assert_vec_equal(got["vector"], [0.9, 0.1, 0.1])


def test_docs_batch_and_records_are_equivalent(rest: RestClient, collection_name: str) -> None:
    a, b = collection_name, collection_name + "_rec"
    for name, body in ((a, COLORS_BATCH), (b, COLORS_RECORDS)):
        create(rest, name, {"vectors": {"size": 3, "distance": "Dot"}})
        upsert(rest, name, body)
    try:
        got_a = retrieve(rest, a, [1, 2, 3], with_vector=True)
        got_b = retrieve(rest, b, [1, 2, 3], with_vector=True)
        assert set(got_a) == set(got_b) == {1, 2, 3}
        for p in COLORS_RECORDS["points"]:
            for got in (got_a, got_b):
                assert got[p["id"]]["payload"] == p["payload"]
                assert_vec_equal(got[p["id"]]["vector"], p["vector"])
    finally:
        rest.ok("DELETE", f"/collections/{b}")


def test_docs_named_vectors(rest: RestClient, named: str) -> None:
    upsert(rest, named, NAMED_DOC)
    got = retrieve(rest, named, [1, 2], with_vector=True)
    for p in NAMED_DOC["points"]:
        vec = got[p["id"]]["vector"]
        assert set(vec) == {"image", "text"}
        assert_vec_equal(vec["image"], p["vector"]["image"])
        assert_vec_equal(vec["text"], p["vector"]["text"])


def test_docs_sparse_example_with_mismatched_lengths_is_rejected(rest: RestClient, collection_name: str) -> None:
    # The docs' second point has 6 indices and 5 values; "indices and values must have the same length".
    create(rest, collection_name, {"sparse_vectors": {"text": {}}})
    resp = rest.put(f"/collections/{collection_name}/points", params=WAIT, json={"points": [
        {"id": 1, "vector": {"text": {"indices": [6, 7], "values": [1.0, 2.0]}}},
        {"id": 2, "vector": {"text": {"indices": [1, 2, 4, 15, 33, 34], "values": [0.1, 0.2, 0.3, 0.4, 0.5]}}},
    ]})
    assert resp.status_code in (400, 422)  # Qdrant: a validation error (422)
    assert count(rest, collection_name) == 0, "a rejected batch must write nothing"


def test_docs_sparse_vectors(rest: RestClient, collection_name: str) -> None:
    create(rest, collection_name, {"sparse_vectors": {"text": {}}})
    upsert(rest, collection_name, {"points": [
        {"id": 1, "vector": {"text": {"indices": [6, 7], "values": [1.0, 2.0]}}},
        {"id": 2, "vector": {"text": {"indices": [33, 1, 2, 4, 15], "values": [0.5, 0.1, 0.2, 0.3, 0.4]}}},
    ]})
    got = retrieve(rest, collection_name, [1, 2], with_vector=True)
    assert sparse_as_dict(got[1]["vector"]["text"]) == sparse_as_dict({"indices": [6, 7], "values": [1.0, 2.0]})
    assert sparse_as_dict(got[2]["vector"]["text"]) == sparse_as_dict(
        {"indices": [1, 2, 4, 15, 33], "values": [0.1, 0.2, 0.3, 0.4, 0.5]})


def test_docs_update_vectors(rest: RestClient, named: str) -> None:
    upsert(rest, named, NAMED_DOC)
    res = rest.ok("PUT", f"/collections/{named}/points/vectors", params=WAIT, json={"points": [
        {"id": 1, "vector": {"image": [0.1, 0.2, 0.3, 0.4]}},
        {"id": 2, "vector": {"text": [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2]}},
    ]})
    assert res["status"] == "completed"
    got = retrieve(rest, named, [1, 2], with_vector=True)
    assert_vec_equal(got[1]["vector"]["image"], [0.1, 0.2, 0.3, 0.4])
    assert_vec_equal(got[1]["vector"]["text"], NAMED_DOC["points"][0]["vector"]["text"])  # unchanged
    assert_vec_equal(got[2]["vector"]["image"], NAMED_DOC["points"][1]["vector"]["image"])  # unchanged
    assert_vec_equal(got[2]["vector"]["text"], [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2])
    # No vector named: nothing to update is Qdrant's 422, and nothing changes.
    message = rest.error("PUT", f"/collections/{named}/points/vectors", 422, params=WAIT, json={"points": [
        {"id": 1, "vector": {"image": [0.5, 0.5, 0.5, 0.5]}}, {"id": 2, "vector": {}}]})
    assert "points[1].vector: must specify vectors to update for point" in message
    assert_vec_equal(retrieve(rest, named, [1], with_vector=True)[1]["vector"]["image"], [0.1, 0.2, 0.3, 0.4])


def test_docs_delete_vectors(rest: RestClient, named: str) -> None:
    # The docs write the key as "vectors"; the 1.19 contract and qdrant-client send "vector".
    points = [{"id": i, "vector": NAMED_DOC["points"][0]["vector"], "payload": {"n": i}} for i in (0, 3, 100, 5)]
    upsert(rest, named, {"points": points})
    res = rest.ok("POST", f"/collections/{named}/points/vectors/delete", params=WAIT,
                  json={"points": [0, 3, 100], "vector": ["text", "image"]})
    assert res["status"] == "completed"
    got = retrieve(rest, named, [0, 3, 100, 5], with_vector=True)
    assert set(got) == {0, 3, 100, 5}, "deleting vectors never deletes points"
    for i in (0, 3, 100):
        assert got[i]["vector"] == {}
        assert got[i]["payload"] == {"n": i}
    assert set(got[5]["vector"]) == {"image", "text"}


def test_docs_delete_points(rest: RestClient, dot3: str) -> None:
    upsert(rest, dot3, {"points": [{"id": i, "vector": [1.0, 0.0, float(i)]} for i in (0, 1, 3, 100)]})
    res = rest.ok("POST", f"/collections/{dot3}/points/delete", params=WAIT, json={"points": [0, 3, 100]})
    assert res["status"] == "completed"
    assert set(retrieve(rest, dot3, [0, 1, 3, 100])) == {1}
    assert count(rest, dot3) == 1


def test_docs_delete_points_by_filter(rest: RestClient, dot3: str) -> None:
    upsert(rest, dot3, COLORS_RECORDS)
    upsert(rest, dot3, {"points": [{"id": 4, "payload": {"color": "red"}, "vector": [1.0, 1.0, 1.0]}]})
    rest.ok("POST", f"/collections/{dot3}/points/delete", params=WAIT,
            json={"filter": {"must": [{"key": "color", "match": {"value": "red"}}]}})
    assert set(retrieve(rest, dot3, [1, 2, 3, 4])) == {2, 3}


def test_docs_retrieve_points(rest: RestClient, dot3: str) -> None:
    upsert(rest, dot3, {"points": [{"id": i, "vector": [1.0, 2.0, 3.0], "payload": {"i": i}} for i in (0, 3, 7)]})
    got = retrieve(rest, dot3, [0, 3, 100])
    assert set(got) == {0, 3}, "missing ids are simply absent"
    # Defaults: payload on, vector off.
    assert got[0]["payload"] == {"i": 0}
    assert got[0].get("vector") is None


def test_docs_retrieve_single_point(rest: RestClient, dot3: str) -> None:
    upsert(rest, dot3, {"points": [{"id": 42, "vector": [1.0, 2.0, 3.0], "payload": {"a": [1, 2]}}]})
    got = rest.ok("GET", f"/collections/{dot3}/points/42")
    assert got["id"] == 42
    assert got["payload"] == {"a": [1, 2]}
    assert_vec_equal(got["vector"], [1.0, 2.0, 3.0])


def test_docs_scroll_with_filter(rest: RestClient, dot3: str) -> None:
    upsert(rest, dot3, {"points": [
        {"id": 0, "payload": {"color": "red"}, "vector": [1.0, 0.0, 0.0]},
        {"id": 1, "payload": {"color": "red"}, "vector": [0.0, 1.0, 0.0]},
        {"id": 2, "payload": {"color": "green"}, "vector": [0.0, 0.0, 1.0]},
    ]})
    page = rest.ok("POST", f"/collections/{dot3}/points/scroll", json={
        "filter": {"must": [{"key": "color", "match": {"value": "red"}}]},
        "limit": 1, "with_payload": True, "with_vector": False,
    })
    assert page["next_page_offset"] == 1
    assert [(p["id"], p["payload"], p.get("vector")) for p in page["points"]] == [(0, {"color": "red"}, None)]


def test_docs_count_exact(rest: RestClient, dot3: str) -> None:
    upsert(rest, dot3, COLORS_RECORDS)
    upsert(rest, dot3, {"points": [{"id": 9, "payload": {"color": "red"}, "vector": [1.0, 1.0, 1.0]}]})
    got = rest.ok("POST", f"/collections/{dot3}/points/count",
                  json={"filter": {"must": [{"key": "color", "match": {"value": "red"}}]}, "exact": True})
    assert got == {"count": 2}


def test_docs_update_mode_insert_only(rest: RestClient, dot3: str) -> None:
    upsert(rest, dot3, {"points": [{"id": 1, "payload": {"color": "old"}, "vector": [5.0, 5.0, 5.0]}]})
    upsert(rest, dot3, {**COLORS_RECORDS, "update_mode": "insert_only"})
    got = retrieve(rest, dot3, [1, 2, 3], with_vector=True)
    assert got[1]["payload"] == {"color": "old"}, "insert_only must not touch an existing point"
    assert_vec_equal(got[1]["vector"], [5.0, 5.0, 5.0])
    assert got[2]["payload"] == {"color": "green"}
    assert got[3]["payload"] == {"color": "blue"}


def test_docs_conditional_upsert(rest: RestClient, collection_name: str) -> None:
    create(rest, collection_name, {"vectors": {"size": 4, "distance": "Dot"}})
    body = {
        "points": [{"id": 1, "vector": [0.05, 0.61, 0.76, 0.74],
                    "payload": {"city": "Berlin", "price": 1.99, "version": 3}}],
        "update_filter": {"must": [{"key": "version", "match": {"value": 2}}]},
    }
    upsert(rest, collection_name, {"points": [{"id": 1, "vector": [1.0, 1.0, 1.0, 1.0], "payload": {"version": 1}}]})
    upsert(rest, collection_name, body)
    assert rest.ok("GET", f"/collections/{collection_name}/points/1")["payload"] == {"version": 1}
    upsert(rest, collection_name, {"points": [{"id": 1, "vector": [1.0, 1.0, 1.0, 1.0], "payload": {"version": 2}}]})
    upsert(rest, collection_name, body)
    assert rest.ok("GET", f"/collections/{collection_name}/points/1")["payload"] == {
        "city": "Berlin", "price": 1.99, "version": 3}


def test_docs_batch_update(rest: RestClient, collection_name: str) -> None:
    create(rest, collection_name, {"vectors": {"size": 4, "distance": "Dot"}})
    ops: list[dict[str, Any]] = [
        {"upsert": {"points": [{"id": 1, "vector": [1.0, 2.0, 3.0, 4.0], "payload": {}}]}},
        {"update_vectors": {"points": [{"id": 1, "vector": [1.0, 2.0, 3.0, 4.0]}]}},
        {"delete_vectors": {"points": [1], "vector": [""]}},
        {"overwrite_payload": {"payload": {"test_payload": "1"}, "points": [1]}},
        {"set_payload": {"payload": {"test_payload_2": "2", "test_payload_3": "3"}, "points": [1]}},
        {"delete_payload": {"keys": ["test_payload_2"], "points": [1]}},
        {"clear_payload": {"points": [1]}},
        {"delete": {"points": [1]}},
    ]
    results = rest.ok("POST", f"/collections/{collection_name}/points/batch", params=WAIT, json={"operations": ops})
    assert len(results) == len(ops)
    assert all(r["status"] == "completed" for r in results)
    rest.error("GET", f"/collections/{collection_name}/points/1", 404)
    # Without the final delete, the clear_payload leaves an empty payload.
    results = rest.ok("POST", f"/collections/{collection_name}/points/batch", params=WAIT,
                      json={"operations": ops[:-1]})
    assert len(results) == len(ops) - 1
    assert rest.ok("GET", f"/collections/{collection_name}/points/1")["payload"] == {}


# ---------------------------------------------------------------- ids

UUID_FORMS = [
    ("936DA01F9ABD4d9d80C702AF85C822A8", "936da01f-9abd-4d9d-80c7-02af85c822a8"),
    ("550e8400-e29b-41d4-a716-446655440000", "550e8400-e29b-41d4-a716-446655440000"),
    ("urn:uuid:F9168C5E-CEB2-4faa-B6BF-329BF39FA1E4", "f9168c5e-ceb2-4faa-b6bf-329bf39fa1e4"),
]


@pytest.mark.parametrize("given,canonical", UUID_FORMS)
def test_uuid_forms_are_returned_hyphenated(rest: RestClient, dot3: str, given: str, canonical: str) -> None:
    upsert(rest, dot3, {"points": [{"id": given, "vector": [1.0, 2.0, 3.0]}]})
    assert set(retrieve(rest, dot3, [given])) == {canonical}
    assert set(retrieve(rest, dot3, [canonical])) == {canonical}
    assert rest.ok("GET", f"/collections/{dot3}/points/{canonical}")["id"] == canonical
    assert rest.ok("GET", f"/collections/{dot3}/points/{given}")["id"] == canonical
    assert count(rest, dot3) == 1


def test_uuid_forms_name_one_point(rest: RestClient, dot3: str) -> None:
    upsert(rest, dot3, {"points": [{"id": "936DA01F9ABD4d9d80C702AF85C822A8", "vector": [1.0, 0.0, 0.0], "payload": {"v": 1}}]})
    upsert(rest, dot3, {"points": [{"id": "936da01f-9abd-4d9d-80c7-02af85c822a8", "vector": [0.0, 1.0, 0.0], "payload": {"v": 2}}]})
    assert count(rest, dot3) == 1
    got = retrieve(rest, dot3, ["urn:uuid:936da01f-9abd-4d9d-80c7-02af85c822a8"])
    assert got["936da01f-9abd-4d9d-80c7-02af85c822a8"]["payload"] == {"v": 2}


def test_u64_id_extremes(rest: RestClient, dot3: str) -> None:
    big = 2**64 - 1
    upsert(rest, dot3, {"points": [{"id": 0, "vector": [1.0, 1.0, 1.0]}, {"id": big, "vector": [2.0, 2.0, 2.0]}]})
    got = retrieve(rest, dot3, [0, big], with_vector=True)
    assert set(got) == {0, big}
    assert_vec_equal(got[big]["vector"], [2.0, 2.0, 2.0])
    assert rest.ok("GET", f"/collections/{dot3}/points/{big}")["id"] == big


def test_int_and_uuid_ids_coexist(rest: RestClient, dot3: str) -> None:
    u = "550e8400-e29b-41d4-a716-446655440000"
    upsert(rest, dot3, {"batch": {"ids": [5, u], "vectors": [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
                                  "payloads": [{"kind": "int"}, {"kind": "uuid"}]}})
    got = retrieve(rest, dot3, [5, u])
    assert got[5]["payload"] == {"kind": "int"}
    assert got[u]["payload"] == {"kind": "uuid"}


# ---------------------------------------------------------------- vector kinds and upsert semantics

def test_cosine_vectors_are_normalised_on_insert(rest: RestClient, collection_name: str) -> None:
    create(rest, collection_name, {"vectors": {"size": 4, "distance": "Cosine"}})
    upsert(rest, collection_name, {"points": [{"id": 1, "vector": [3.0, 4.0, 0.0, 0.0]},
                                              {"id": 2, "vector": [0.05, 0.61, 0.76, 0.74]}]})
    got = retrieve(rest, collection_name, [1, 2], with_vector=True)
    assert_vec_close(got[1]["vector"], [0.6, 0.8, 0.0, 0.0])
    assert_vec_close(got[2]["vector"], normalized([0.05, 0.61, 0.76, 0.74]))


@pytest.mark.parametrize("distance", ["Euclid", "Dot", "Manhattan"])
def test_non_cosine_vectors_are_stored_as_sent(rest: RestClient, collection_name: str, distance: str) -> None:
    create(rest, collection_name, {"vectors": {"size": 4, "distance": distance}})
    upsert(rest, collection_name, {"points": [{"id": 1, "vector": [3.0, -4.0, 0.5, 1e-3]}]})
    assert_vec_equal(rest.ok("GET", f"/collections/{collection_name}/points/1")["vector"], [3.0, -4.0, 0.5, 1e-3])


def test_named_vectors_are_optional_per_point(rest: RestClient, named: str) -> None:
    upsert(rest, named, {"points": [
        {"id": 1, "vector": {"image": [1.0, 2.0, 3.0, 4.0]}},
        {"id": 2, "vector": {"text": [1.0] * 8}},
        {"id": 3, "vector": {}},
    ]})
    got = retrieve(rest, named, [1, 2, 3], with_vector=True)
    assert set(got[1]["vector"]) == {"image"}
    assert set(got[2]["vector"]) == {"text"}
    assert got[3]["vector"] == {}


def test_upsert_replaces_the_whole_point(rest: RestClient, named: str) -> None:
    upsert(rest, named, {"points": [{"id": 1, "vector": NAMED_DOC["points"][0]["vector"],
                                     "payload": {"a": 1, "b": 2}}]})
    upsert(rest, named, {"points": [{"id": 1, "vector": {"image": [4.0, 3.0, 2.0, 1.0]}, "payload": {"c": 3}}]})
    got = rest.ok("GET", f"/collections/{named}/points/1")
    assert got["payload"] == {"c": 3}, "payload is replaced, not merged"
    assert set(got["vector"]) == {"image"}, "unspecified vectors are set to null"
    assert_vec_equal(got["vector"]["image"], [4.0, 3.0, 2.0, 1.0])
    # Upsert without payload drops the payload entirely.
    upsert(rest, named, {"points": [{"id": 1, "vector": {"image": [1.0, 1.0, 1.0, 1.0]}}]})
    assert rest.ok("GET", f"/collections/{named}/points/1")["payload"] == {}
    assert count(rest, named) == 1


def test_batch_with_named_and_sparse_columns(rest: RestClient, collection_name: str) -> None:
    create(rest, collection_name, {"vectors": {"dense": {"size": 2, "distance": "Dot"}},
                                   "sparse_vectors": {"sp": {}}})
    upsert(rest, collection_name, {"batch": {
        "ids": [1, 2],
        "vectors": {"dense": [[1.0, 2.0], [3.0, 4.0]],
                    "sp": [{"indices": [3], "values": [0.5]}, {"indices": [1, 9], "values": [0.25, 2.0]}]},
    }})
    got = retrieve(rest, collection_name, [1, 2], with_vector=True, with_payload=False)
    assert_vec_equal(got[2]["vector"]["dense"], [3.0, 4.0])
    assert sparse_as_dict(got[2]["vector"]["sp"]) == sparse_as_dict({"indices": [1, 9], "values": [0.25, 2.0]})
    assert got[1].get("payload") is None


def test_multivectors(rest: RestClient, collection_name: str) -> None:
    create(rest, collection_name, {"vectors": {
        "colbert": {"size": 2, "distance": "Dot", "multivector_config": {"comparator": "max_sim"}},
        "colbert_cos": {"size": 2, "distance": "Cosine", "multivector_config": {"comparator": "max_sim"}},
    }})
    upsert(rest, collection_name, {"points": [
        {"id": 1, "vector": {"colbert": [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], "colbert_cos": [[3.0, 4.0], [0.0, 2.0]]}},
        {"id": 2, "vector": {"colbert": [[7.0, 8.0]]}},
    ]})
    got = retrieve(rest, collection_name, [1, 2], with_vector=True)
    assert_vec_equal(got[1]["vector"]["colbert"], [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    assert_vec_close(got[1]["vector"]["colbert_cos"], [[0.6, 0.8], [0.0, 1.0]])  # each row normalised
    assert_vec_equal(got[2]["vector"]["colbert"], [[7.0, 8.0]])
    assert set(got[2]["vector"]) == {"colbert"}


@pytest.mark.parametrize("named", [True, False])
def test_multivector_input_forms(rest: RestClient, collection_name: str, named: bool) -> None:
    """As Qdrant: a plain vector is a multivector of one row; `[]` is a plain vector of no
    dimensions (400); empty or ragged rows break the validator (422, Qdrant's path and words)."""
    spec = {"size": 2, "distance": "Dot", "multivector_config": {"comparator": "max_sim"}}
    create(rest, collection_name, {"vectors": {"mv": spec} if named else spec})

    def vector(value: Any) -> Any:
        return {"mv": value} if named else value

    upsert(rest, collection_name, {"points": [{"id": 1, "vector": vector([0.5, 0.25])},
                                              {"id": 2, "vector": vector([[1.0, 2.0], [3.0, 4.0]])}]})
    got = retrieve(rest, collection_name, [1, 2], with_vector=True)
    assert_vec_equal(got[1]["vector"]["mv"] if named else got[1]["vector"], [[0.5, 0.25]])
    path = f"/collections/{collection_name}/points"
    data = "points[0].vector.?.data" if named else "points[0].vector.data"
    cases = [
        ([], 400, "Wrong input: Vector dimension error: expected dim: 2, got 0"),
        ([[]], 422, f"Validation error in JSON body: [{data}: all vectors must be non-empty]"),
        ([[1.0, 2.0], []], 422, f"Validation error in JSON body: [{data}: all vectors must be non-empty]"),
        ([[1.0, 2.0], [1.0]], 422, f"Validation error in JSON body: [{data}: all vectors must have the same dimension, found vector with dimension 1]"),
        ([[1.0, 2.0, 3.0]], 400, "Wrong input: Vector dimension error: expected dim: 2, got 3"),
    ]
    for value, status, message in cases:
        assert rest.error("PUT", path, status, params={"wait": "true"}, json={"points": [{"id": 9, "vector": vector(value)}]}) == message
    assert rest.ok("POST", f"{path}/count", json={"exact": True})["count"] == 2


def test_payload_values_round_trip(rest: RestClient, dot3: str) -> None:
    payload = {"s": "x", "i": -7, "big": 2**53, "f": 1.5, "b": False, "n": None, "arr": [1, "a", {"k": [True]}],
               "nested": {"deep": {"deeper": [1.25, 2.5]}}, "unicode": "naïve ✓"}
    upsert(rest, dot3, {"points": [{"id": 1, "vector": [1.0, 1.0, 1.0], "payload": payload}]})
    assert rest.ok("GET", f"/collections/{dot3}/points/1")["payload"] == payload


# ---------------------------------------------------------------- retrieve options

@pytest.fixture
def retrieval(rest: RestClient, named: str) -> str:
    upsert(rest, named, {"points": [{"id": 1, "vector": NAMED_DOC["points"][0]["vector"],
                                     "payload": {"a": 1, "b": {"c": 2, "d": 3}, "e": [4]}}]})
    return named


@pytest.mark.parametrize(
    "with_payload,expected",
    [
        (True, {"a": 1, "b": {"c": 2, "d": 3}, "e": [4]}),
        (["a", "e"], {"a": 1, "e": [4]}),
        ({"include": ["b"]}, {"b": {"c": 2, "d": 3}}),
        ({"exclude": ["b"]}, {"a": 1, "e": [4]}),
        (["b.c"], {"b": {"c": 2}}),
        ({"exclude": ["b.d"]}, {"a": 1, "b": {"c": 2}, "e": [4]}),
    ],
)
def test_with_payload_selectors(rest: RestClient, retrieval: str, with_payload: Any, expected: Any) -> None:
    got = retrieve(rest, retrieval, [1], with_payload=with_payload)
    assert got[1]["payload"] == expected


def test_with_payload_false(rest: RestClient, retrieval: str) -> None:
    assert retrieve(rest, retrieval, [1], with_payload=False)[1].get("payload") is None


def test_with_vector_variants(rest: RestClient, retrieval: str) -> None:
    assert set(retrieve(rest, retrieval, [1], with_vector=True)[1]["vector"]) == {"image", "text"}
    assert retrieve(rest, retrieval, [1], with_vector=False)[1].get("vector") is None
    only_text = retrieve(rest, retrieval, [1], with_vector=["text"])[1]["vector"]
    assert set(only_text) == {"text"}
    assert_vec_equal(only_text["text"], NAMED_DOC["points"][0]["vector"]["text"])


def test_get_missing_point_is_404(rest: RestClient, dot3: str) -> None:
    assert rest.error("GET", f"/collections/{dot3}/points/42", 404) == "Not found: No point with id 42 found"
    u = "550e8400-e29b-41d4-a716-446655440000"
    assert rest.error("GET", f"/collections/{dot3}/points/{u}", 404) == f"Not found: No point with id {u} found"


def test_deleted_point_is_gone(rest: RestClient, dot3: str) -> None:
    upsert(rest, dot3, {"points": [{"id": 1, "vector": [1.0, 1.0, 1.0]}]})
    rest.ok("POST", f"/collections/{dot3}/points/delete", params=WAIT, json={"points": [1, 999]})
    assert rest.error("GET", f"/collections/{dot3}/points/1", 404) == "Not found: No point with id 1 found"
    assert retrieve(rest, dot3, [1]) == {}


# ---------------------------------------------------------------- update / delete vectors

def test_update_vectors_requires_every_point_to_exist(rest: RestClient, named: str) -> None:
    """Qdrant updates the points it finds, then fails on the first missing id (its
    `check_unprocessed_points` runs after the apply); the missing point is not created."""
    upsert(rest, named, {"points": [{"id": 1, "vector": {"image": [1.0, 1.0, 1.0, 1.0]}}]})
    msg = rest.error("PUT", f"/collections/{named}/points/vectors", 404, params=WAIT, json={"points": [
        {"id": 1, "vector": {"image": [2.0, 2.0, 2.0, 2.0]}},
        {"id": 77, "vector": {"image": [3.0, 3.0, 3.0, 3.0]}},
    ]})
    assert msg == "Not found: No point with id 77 found"
    assert_vec_equal(rest.ok("GET", f"/collections/{named}/points/1")["vector"]["image"], [2.0, 2.0, 2.0, 2.0])
    assert retrieve(rest, named, [77]) == {}


def test_update_vectors_unnamed(rest: RestClient, dot3: str) -> None:
    upsert(rest, dot3, {"points": [{"id": 1, "vector": [1.0, 1.0, 1.0], "payload": {"keep": True}}]})
    rest.ok("PUT", f"/collections/{dot3}/points/vectors", params=WAIT,
            json={"points": [{"id": 1, "vector": [9.0, 8.0, 7.0]}]})
    got = rest.ok("GET", f"/collections/{dot3}/points/1")
    assert_vec_equal(got["vector"], [9.0, 8.0, 7.0])
    assert got["payload"] == {"keep": True}


def test_update_vectors_normalises_cosine(rest: RestClient, collection_name: str) -> None:
    create(rest, collection_name, {"vectors": {"v": {"size": 2, "distance": "Cosine"}}})
    upsert(rest, collection_name, {"points": [{"id": 1, "vector": {"v": [1.0, 0.0]}}]})
    rest.ok("PUT", f"/collections/{collection_name}/points/vectors", params=WAIT,
            json={"points": [{"id": 1, "vector": {"v": [0.0, 5.0]}}]})
    assert_vec_close(rest.ok("GET", f"/collections/{collection_name}/points/1")["vector"]["v"], [0.0, 1.0])


def test_delete_vectors_keeps_other_vectors(rest: RestClient, named: str) -> None:
    upsert(rest, named, NAMED_DOC)
    rest.ok("POST", f"/collections/{named}/points/vectors/delete", params=WAIT,
            json={"points": [1], "vector": ["image"]})
    got = retrieve(rest, named, [1, 2], with_vector=True)
    assert set(got[1]["vector"]) == {"text"}
    assert set(got[2]["vector"]) == {"image", "text"}


# ---------------------------------------------------------------- wait and operation ids

def test_wait_true_is_completed_and_visible(rest: RestClient, dot3: str) -> None:
    res = upsert(rest, dot3, {"points": [{"id": 1, "vector": [1.0, 2.0, 3.0]}]}, wait=True)
    assert isinstance(res["operation_id"], int)
    assert set(retrieve(rest, dot3, [1])) == {1}


def test_wait_false_is_acknowledged_then_visible(rest: RestClient, dot3: str) -> None:
    points = [{"id": i, "vector": [float(i), 0.0, 1.0], "payload": {"i": i}} for i in range(50)]
    res = upsert(rest, dot3, {"points": points}, wait=False)
    assert isinstance(res["operation_id"], int)
    wait_until(lambda: count(rest, dot3) == 50, deadline_s=10, what="acknowledged upsert visible")
    got = retrieve(rest, dot3, list(range(50)))
    assert {i: p["payload"] for i, p in got.items()} == {i: {"i": i} for i in range(50)}


def test_an_acknowledged_upload_is_seen_by_the_next_read(client: Any, dot3: str) -> None:
    """qdrant-client's uploads do not wait; a sequential client's next read still sees every
    batch (each writer applies its own records when no other apply runs)."""
    from qdrant_client import models

    for round_ in range(3):
        points = [models.PointStruct(id=round_ * 2000 + i, vector=[1.0, float(i), 0.5], payload={"i": i}) for i in range(2000)]
        client.upload_points(dot3, points, batch_size=500)  # wait=False
        assert client.count(dot3, exact=True).count == (round_ + 1) * 2000


def test_unnamed_vector_beside_sparse_ones_comes_back_bare(rest: RestClient, collection_name: str) -> None:
    """As Qdrant and local mode: a point holding only the unnamed vector shows it as a list,
    one holding a sparse vector too shows them by name."""
    rest.ok("PUT", f"/collections/{collection_name}", json={
        "vectors": {"size": 2, "distance": "Dot"}, "sparse_vectors": {"s": {}}})
    upsert(rest, collection_name, {"points": [
        {"id": 1, "vector": [1.0, 2.0]},
        {"id": 2, "vector": {"": [3.0, 4.0], "s": {"indices": [7], "values": [0.5]}}},
        {"id": 3, "vector": {"s": {"indices": [1], "values": [1.5]}}}]})
    expected = {1: [1.0, 2.0], 2: {"": [3.0, 4.0], "s": {"indices": [7], "values": [0.5]}},
                3: {"s": {"indices": [1], "values": [1.5]}}}
    got = rest.ok("POST", f"/collections/{collection_name}/points", json={"ids": [1, 2, 3], "with_vector": True})
    assert {p["id"]: p["vector"] for p in got} == expected
    page = rest.ok("POST", f"/collections/{collection_name}/points/scroll", json={"with_vector": True})["points"]
    assert {p["id"]: p["vector"] for p in page} == expected
    hits = rest.ok("POST", f"/collections/{collection_name}/points/query", json={"query": [1.0, 0.0], "with_vector": True})["points"]
    assert {p["id"]: p["vector"] for p in hits} == {1: [1.0, 2.0], 2: expected[2]}


def test_with_vectors_is_an_alias_of_with_vector(rest: RestClient, named: str) -> None:
    """Qdrant reads `with_vectors` as `with_vector` in retrieve, scroll and query bodies."""
    upsert(rest, named, NAMED_DOC)
    got = rest.ok("POST", f"/collections/{named}/points", json={"ids": [1], "with_vectors": ["image"]})
    assert set(got[0]["vector"]) == {"image"}
    page = rest.ok("POST", f"/collections/{named}/points/scroll", json={"limit": 1, "with_vectors": True})["points"]
    assert set(page[0]["vector"]) == {"image", "text"}
    hits = rest.ok("POST", f"/collections/{named}/points/query", json={
        "query": [0.1, 0.2, 0.3, 0.4], "using": "image", "limit": 1, "with_vectors": ["text"]})["points"]
    assert set(hits[0]["vector"]) == {"text"}
    message = rest.error("POST", f"/collections/{named}/points", 400, json={"ids": [1], "with_vectors": ["image", "nope"]})
    assert message == "Wrong input: Not existing vector name error: nope"


def test_default_wait_is_false(rest: RestClient, dot3: str) -> None:
    res = rest.ok("PUT", f"/collections/{dot3}/points", json={"points": [{"id": 1, "vector": [1.0, 2.0, 3.0]}]})
    assert res["status"] == "acknowledged"
    wait_until(lambda: retrieve(rest, dot3, [1]), deadline_s=10, what="point 1 visible")


def test_operation_ids_increase(rest: RestClient, dot3: str) -> None:
    ids = []
    for i in range(5):
        ids.append(upsert(rest, dot3, {"points": [{"id": i, "vector": [1.0, 1.0, 1.0]}]}, wait=i % 2 == 0)["operation_id"])
    ids.append(rest.ok("POST", f"/collections/{dot3}/points/delete", params=WAIT, json={"points": [0]})["operation_id"])
    ids.append(rest.ok("PUT", f"/collections/{dot3}/points/vectors", params=WAIT,
                       json={"points": [{"id": 1, "vector": [2.0, 2.0, 2.0]}]})["operation_id"])
    assert all(isinstance(i, int) for i in ids)
    assert ids == sorted(ids) and len(set(ids)) == len(ids), f"operation ids not strictly increasing: {ids}"


# ---------------------------------------------------------------- qdrant-client

def test_client_point_flows(client, collection_name: str) -> None:  # type: ignore[no-untyped-def]
    client.create_collection(collection_name, vectors_config={
        "image": models.VectorParams(size=4, distance=models.Distance.DOT),
        "text": models.VectorParams(size=2, distance=models.Distance.COSINE),
    })
    res = client.upsert(collection_name, points=[
        models.PointStruct(id=1, vector={"image": [1.0, 2.0, 3.0, 4.0], "text": [3.0, 4.0]}, payload={"c": "red"}),
        models.PointStruct(id="5c56c793-69f3-4fbf-87e6-c4bf54c28c26", vector={"image": [0.5, 0.5, 0.5, 0.5]}),
    ], wait=True)
    assert res.status == models.UpdateStatus.COMPLETED
    res = client.upsert(collection_name, points=models.Batch(
        ids=[2, 3], vectors={"image": [[2.0, 2.0, 2.0, 2.0], [3.0, 3.0, 3.0, 3.0]]},
        payloads=[{"c": "green"}, {"c": "blue"}]), wait=True)
    assert res.status == models.UpdateStatus.COMPLETED
    assert client.count(collection_name, exact=True).count == 4

    recs = {r.id: r for r in client.retrieve(collection_name, [1, 2, 3, "5c56c793-69f3-4fbf-87e6-c4bf54c28c26"],
                                             with_vectors=True)}
    assert set(recs) == {1, 2, 3, "5c56c793-69f3-4fbf-87e6-c4bf54c28c26"}
    assert recs[1].payload == {"c": "red"}
    assert_vec_equal(recs[1].vector["image"], [1.0, 2.0, 3.0, 4.0])
    assert_vec_close(recs[1].vector["text"], [0.6, 0.8])
    assert recs[2].payload == {"c": "green"}

    client.update_vectors(collection_name, points=[models.PointVectors(id=2, vector={"text": [0.0, 2.0]})], wait=True)
    rec = client.retrieve(collection_name, [2], with_vectors=["text"])[0]
    assert_vec_close(rec.vector["text"], [0.0, 1.0])

    client.delete_vectors(collection_name, vectors=["image"], points=models.PointIdsList(points=[1]), wait=True)
    assert set(client.retrieve(collection_name, [1], with_vectors=True)[0].vector) == {"text"}

    res = client.delete(collection_name, points_selector=models.PointIdsList(points=[1, 3]), wait=True)
    assert res.status == models.UpdateStatus.COMPLETED
    assert {r.id for r in client.retrieve(collection_name, [1, 2, 3])} == {2}
    assert client.get_collection(collection_name).points_count == 2


def test_client_update_vectors_missing_point_raises_404(client, collection_name: str) -> None:  # type: ignore[no-untyped-def]
    from qdrant_client.http.exceptions import UnexpectedResponse

    client.create_collection(collection_name, vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT))
    with pytest.raises(UnexpectedResponse) as err:
        client.update_vectors(collection_name, points=[models.PointVectors(id=5, vector=[1.0, 2.0])], wait=True)
    assert err.value.status_code == 404


def test_pages_of_vectors_with_extreme_values_come_back_exactly(rest: RestClient, dot3: str) -> None:
    """Retrieve and scroll format a page of vectors as one array: tiny, subnormal and huge
    float32 values (which the fast formatting leaves to a per-value fallback) must come back
    in their own place. With 20 points x 3 values this was a 500 before."""
    extreme = [1.4e-45, -2.5e-30, 3e20, 1e-14, 123456789.0]
    points = [{"id": i, "vector": [extreme[i % 5], 0.5, -extreme[(i + 2) % 5]]} for i in range(20)]
    upsert(rest, dot3, {"points": points})
    got = retrieve(rest, dot3, list(range(20)), with_vector=True)
    page = rest.ok("POST", f"/collections/{dot3}/points/scroll", json={"limit": 20, "with_vector": True})["points"]
    assert len(page) == 20
    for record in [*got.values(), *page]:
        want = [float(str(np.float32(v))) for v in points[record["id"]]["vector"]]
        assert record["vector"] == want
