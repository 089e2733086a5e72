"""POST /points/batch with all eight operations (by ids and by filter), run in order with one
result per operation and partial failure; PUT /points update_mode and update_filter; compared
with qdrant-client local mode state after state."""

from __future__ import annotations

import random
import uuid
from typing import Any

import pytest
from helpers.rest import RestClient
from helpers.vectors import assert_vec_equal
from qdrant_client import QdrantClient, models

WAIT = {"wait": "true"}
NAMED = {"a": {"size": 3, "distance": "Dot"}, "b": {"size": 2, "distance": "Dot"}}


# ---------------------------------------------------------------- helpers

def create_both(rest: RestClient, local: QdrantClient, name: str, vectors: dict[str, Any]) -> None:
    assert rest.ok("PUT", f"/collections/{name}", json={"vectors": vectors}) is True
    if "size" in vectors:
        local.create_collection(name, vectors_config=models.VectorParams(**vectors))
    else:
        local.create_collection(name, vectors_config={k: models.VectorParams(**v) for k, v in vectors.items()})


def upsert_both(rest: RestClient, local: QdrantClient, name: str, points: list[dict[str, Any]]) -> None:
    rest.ok("PUT", f"/collections/{name}/points", params=WAIT, json={"points": points})
    local.upsert(name, points=[models.PointStruct(**p) for p in points])


def batch(rest: RestClient, name: str, operations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    results = rest.ok("POST", f"/collections/{name}/points/batch", params=WAIT, json={"operations": operations})
    assert isinstance(results, list) and len(results) == len(operations)
    assert [r["status"] for r in results] == ["completed"] * len(operations)
    op_ids = [r["operation_id"] for r in results]
    assert op_ids == sorted(op_ids) and len(set(op_ids)) == len(op_ids), op_ids  # one logged op each
    return results  # type: ignore[no-any-return]


def local_batch(local: QdrantClient, name: str, operations: list[dict[str, Any]]) -> None:
    parsed = models.UpdateOperations.model_validate({"operations": operations}).operations
    local.batch_update_points(name, update_operations=parsed)


def state(rest: RestClient, name: str) -> dict[Any, dict[str, Any]]:
    """Every point: id -> {payload, vector}, scrolled over REST."""
    out: dict[Any, dict[str, Any]] = {}
    offset = None
    while True:
        page = rest.ok("POST", f"/collections/{name}/points/scroll",
                       json={"limit": 100, "offset": offset, "with_payload": True, "with_vector": True})
        for r in page["points"]:
            out[r["id"]] = {"payload": r["payload"], "vector": r["vector"]}
        offset = page["next_page_offset"]
        if offset is None:
            return out


def local_state(local: QdrantClient, name: str) -> dict[Any, dict[str, Any]]:
    records, _ = local.scroll(name, limit=100000, with_payload=True, with_vectors=True)
    return {r.id: {"payload": r.payload, "vector": r.vector} for r in records}


def assert_vectors_equal(ours: Any, theirs: Any, where: Any) -> None:
    if isinstance(theirs, dict):
        assert isinstance(ours, dict) and set(ours) == set(theirs), (where, ours, theirs)
        for key in theirs:
            assert_vec_equal(ours[key], theirs[key])
    else:
        assert_vec_equal(ours, theirs)


def assert_same_state(rest: RestClient, local: QdrantClient, name: str) -> dict[Any, dict[str, Any]]:
    ours, theirs = state(rest, name), local_state(local, name)
    assert sorted(map(str, ours)) == sorted(map(str, theirs))
    for pid, rec in theirs.items():
        assert ours[pid]["payload"] == (rec["payload"] or {}), pid
        assert_vectors_equal(ours[pid]["vector"], rec["vector"], pid)
    return ours


def make_named(n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    points = []
    for i in range(n):
        vector: dict[str, Any] = {"a": [rng.randrange(-8, 8) / 4 for _ in range(3)]}
        if i % 3:
            vector["b"] = [rng.randrange(-8, 8) / 4 for _ in range(2)]
        points.append({"id": i, "vector": vector,
                       "payload": {"i": i, "group": ["x", "y", "z"][i % 3], "score": i % 7, "nested": {"keep": True}}})
    return points


@pytest.fixture
def named(rest: RestClient, local: QdrantClient, collection_name: str) -> str:
    create_both(rest, local, collection_name, NAMED)
    upsert_both(rest, local, collection_name, make_named(30, seed=4))
    return collection_name


# ---------------------------------------------------------------- the docs example

def test_docs_example_all_eight_operations(rest: RestClient, local: QdrantClient, collection_name: str) -> None:
    create_both(rest, local, collection_name, {"size": 4, "distance": "Dot"})
    upsert_both(rest, local, collection_name, [{"id": 2, "vector": [0.5, 0.5, 0.5, 0.5], "payload": {"keep": 1}}])
    operations = [
        {"upsert": {"points": [{"id": 1, "vector": [1.0, 2.0, 3.0, 4.0], "payload": {}}]}},
        {"update_vectors": {"points": [{"id": 1, "vector": [1.0, 2.0, 3.0, 4.0]}]}},
        {"delete_vectors": {"points": [1], "vector": [""]}},
        {"overwrite_payload": {"payload": {"test_payload": "1"}, "points": [1]}},
        {"set_payload": {"payload": {"test_payload_2": "2", "test_payload_3": "3"}, "points": [1]}},
        {"delete_payload": {"keys": ["test_payload_2"], "points": [1]}},
        {"clear_payload": {"points": [1]}},
        {"delete": {"points": [1]}},
    ]
    batch(rest, collection_name, operations)
    local_batch(local, collection_name, operations)
    final = assert_same_state(rest, local, collection_name)
    assert list(final) == [2]
    assert final[2]["payload"] == {"keep": 1}


def test_docs_example_steps_are_visible_in_order(rest: RestClient, local: QdrantClient, collection_name: str) -> None:
    """The same operations without the final delete: each later one sees the earlier ones."""
    create_both(rest, local, collection_name, {"size": 4, "distance": "Dot"})
    operations = [
        {"upsert": {"points": [{"id": 1, "vector": [1.0, 2.0, 3.0, 4.0], "payload": {"a": 1}}]}},
        {"update_vectors": {"points": [{"id": 1, "vector": [4.0, 3.0, 2.0, 1.0]}]}},
        {"overwrite_payload": {"payload": {"test_payload": "1"}, "points": [1]}},
        {"set_payload": {"payload": {"test_payload_2": "2", "test_payload_3": "3"}, "points": [1]}},
        {"delete_payload": {"keys": ["test_payload_2"], "points": [1]}},
    ]
    batch(rest, collection_name, operations)
    local_batch(local, collection_name, operations)
    final = assert_same_state(rest, local, collection_name)
    assert final[1]["payload"] == {"test_payload": "1", "test_payload_3": "3"}
    assert_vec_equal(final[1]["vector"], [4.0, 3.0, 2.0, 1.0])
    batch(rest, collection_name, [{"clear_payload": {"points": [1]}}, {"delete_vectors": {"points": [1], "vector": [""]}}])
    local_batch(local, collection_name, [{"clear_payload": {"points": [1]}}, {"delete_vectors": {"points": [1], "vector": [""]}}])
    final = assert_same_state(rest, local, collection_name)
    assert final[1]["payload"] == {}


# ---------------------------------------------------------------- order inside a batch

def test_upsert_then_payload_ops_on_the_new_point(rest: RestClient, local: QdrantClient, named: str) -> None:
    new = str(uuid.UUID(int=77))
    operations = [
        {"upsert": {"points": [{"id": new, "vector": {"a": [1.0, 0.0, 0.0]}, "payload": {"k": 1}}]}},
        {"set_payload": {"payload": {"added": [1, 2]}, "points": [new]}},
        {"set_payload": {"payload": {"deep": 5}, "points": [new], "key": "obj"}},
        {"update_vectors": {"points": [{"id": new, "vector": {"b": [0.5, 0.25]}}]}},
        {"delete_payload": {"keys": ["k"], "points": [new]}},
    ]
    batch(rest, named, operations)
    local_batch(local, named, operations)
    final = assert_same_state(rest, local, named)
    assert final[new]["payload"] == {"added": [1, 2], "obj": {"deep": 5}}
    assert_vectors_equal(final[new]["vector"], {"a": [1.0, 0.0, 0.0], "b": [0.5, 0.25]}, new)


def test_delete_then_upsert_and_upsert_then_delete(rest: RestClient, local: QdrantClient, named: str) -> None:
    operations = [
        {"delete": {"points": [1]}},
        {"upsert": {"points": [{"id": 1, "vector": {"a": [0.0, 0.0, 1.0]}, "payload": {"reborn": True}}]}},
        {"upsert": {"points": [{"id": 100, "vector": {"a": [0.0, 1.0, 0.0]}}]}},
        {"delete": {"points": [100]}},
    ]
    batch(rest, named, operations)
    local_batch(local, named, operations)
    final = assert_same_state(rest, local, named)
    assert final[1]["payload"] == {"reborn": True} and 100 not in final


def test_filters_see_the_effects_of_earlier_operations(rest: RestClient, local: QdrantClient, named: str) -> None:
    flagged = {"must": [{"key": "flag", "match": {"value": True}}]}
    operations = [
        {"set_payload": {"payload": {"flag": True}, "points": [3, 4, 5]}},
        {"set_payload": {"payload": {"flag": True}, "filter": {"must": [{"key": "score", "match": {"value": 6}}]}}},
        {"upsert": {"points": [{"id": 200, "vector": {"a": [1.0, 1.0, 1.0]}, "payload": {"flag": True}}]}},
        {"delete": {"filter": flagged}},
        {"upsert": {"points": [{"id": 201, "vector": {"a": [1.0, 1.0, 1.0]}, "payload": {"flag": True}}]}},
    ]
    batch(rest, named, operations)
    local_batch(local, named, operations)
    final = assert_same_state(rest, local, named)
    gone = {3, 4, 5, 200} | {i for i in range(30) if i % 7 == 6}
    assert set(final) == (set(range(30)) - gone) | {201}


# ---------------------------------------------------------------- every operation by filter

FILTER_OPS = [
    {"set_payload": {"payload": {"hit": "yes"}, "filter": {"must": [{"key": "group", "match": {"value": "x"}}]}}},
    {"set_payload": {"payload": {"inner": 1}, "key": "nested", "filter": {"must": [{"key": "score", "range": {"gte": 4}}]}}},
    {"overwrite_payload": {"payload": {"only": True}, "filter": {"must": [{"key": "score", "match": {"value": 0}}]}}},
    {"delete_payload": {"keys": ["score", "nested.keep"], "filter": {"must": [{"key": "group", "match": {"value": "y"}}]}}},
    {"clear_payload": {"filter": {"must": [{"has_id": [7, 8, 9, 999]}]}}},
    {"delete_vectors": {"vector": ["b"], "filter": {"must": [{"key": "group", "match": {"value": "z"}}]}}},
    {"update_vectors": {"points": [{"id": 10, "vector": {"b": [9.0, 9.0]}}, {"id": 11, "vector": {"b": [8.0, 8.0]}}],
                        "update_filter": {"must": [{"key": "group", "match": {"value": "y"}}]}}},
    {"delete": {"filter": {"must": [{"key": "i", "range": {"gt": 25}}]}}},
]


@pytest.mark.parametrize("op", FILTER_OPS, ids=[next(iter(o)) + str(i) for i, o in enumerate(FILTER_OPS)])
def test_each_operation_by_filter_equals_local_mode(rest: RestClient, local: QdrantClient, named: str, op: dict[str, Any]) -> None:
    batch(rest, named, [op])
    local_batch(local, named, [op])
    assert_same_state(rest, local, named)


def test_all_filter_operations_in_one_batch(rest: RestClient, local: QdrantClient, named: str) -> None:
    before = state(rest, named)
    batch(rest, named, FILTER_OPS)
    local_batch(local, named, FILTER_OPS)
    final = assert_same_state(rest, local, named)
    assert final[0]["payload"] == {"only": True}  # score 0, group x: set then overwritten
    assert final[7]["payload"] == {}
    # 28 survives the last op: its score was 0, so overwrite_payload had already dropped its "i"
    assert set(final) == set(range(26)) | {28}
    assert final != before


def test_random_batches_equal_local_mode(rest: RestClient, local: QdrantClient, named: str) -> None:
    rng = random.Random(99)

    def ids() -> list[int]:
        return rng.sample(range(40), rng.randrange(1, 5))

    def flt() -> dict[str, Any]:
        return rng.choice([{"must": [{"key": "group", "match": {"value": rng.choice("xyz")}}]},
                           {"must": [{"key": "score", "range": {"lt": rng.randrange(7)}}]},
                           {"must_not": [{"key": "i", "range": {"lt": rng.randrange(40)}}]}])

    for round_ in range(8):
        operations: list[dict[str, Any]] = []
        for _ in range(12):
            kind = rng.randrange(8)
            if kind == 0:
                operations.append({"upsert": {"points": [
                    {"id": i, "vector": {"a": [rng.randrange(8) / 2] * 3}, "payload": {"group": rng.choice("xyz"), "score": rng.randrange(7), "i": i}}
                    for i in ids()]}})
            elif kind == 1:
                operations.append({"delete": rng.choice([{"points": ids()}, {"filter": flt()}])})
            elif kind == 2:
                operations.append({"set_payload": {"payload": {"r": round_, "score": rng.randrange(7)}, "filter": flt()}})
            elif kind == 3:
                operations.append({"overwrite_payload": {"payload": {"group": rng.choice("xyz"), "i": -1}, "filter": flt()}})
            elif kind == 4:
                operations.append({"delete_payload": {"keys": ["r", "score"], "filter": flt()}})
            elif kind == 5:
                operations.append({"clear_payload": {"filter": flt()}})
            elif kind == 6:
                operations.append({"delete_vectors": {"vector": ["b"], "filter": flt()}})
            else:
                operations.append({"upsert": {"points": [{"id": i, "vector": {"a": [1.0, 2.0, 3.0], "b": [0.5, 0.5]}} for i in ids()],
                                              "update_filter": flt()}})
        batch(rest, named, operations)
        local_batch(local, named, operations)
        assert_same_state(rest, local, named)


def test_empty_batch_is_an_empty_result_list(rest: RestClient, named: str) -> None:
    before = state(rest, named)
    assert rest.ok("POST", f"/collections/{named}/points/batch", params=WAIT, json={"operations": []}) == []
    assert state(rest, named) == before


# ---------------------------------------------------------------- partial failure

def test_failing_operation_keeps_earlier_ones_and_skips_later_ones(rest: RestClient, local: QdrantClient, named: str) -> None:
    operations = [
        {"set_payload": {"payload": {"step": 1}, "points": [1]}},
        {"upsert": {"points": [{"id": 300, "vector": {"a": [1.0, 1.0, 1.0]}}]}},
        {"update_vectors": {"points": [{"id": 999, "vector": {"a": [1.0, 1.0, 1.0]}}]}},
        {"set_payload": {"payload": {"step": 3}, "points": [2]}},
        {"delete": {"points": [5]}},
    ]
    message = rest.error("POST", f"/collections/{named}/points/batch", 404, params=WAIT, json={"operations": operations})
    assert "999" in message
    final = state(rest, named)
    assert final[1]["payload"]["step"] == 1
    assert 300 in final
    assert "step" not in final[2]["payload"]
    assert 5 in final
    with pytest.raises(KeyError):
        local_batch(local, named, operations)
    assert_same_state(rest, local, named)


@pytest.mark.parametrize("bad,status", [
    ({"set_payload": {"payload": {"z": 1}, "points": [12345]}}, 404),
    ({"overwrite_payload": {"payload": {"z": 1}, "points": [12345]}}, 404),
    ({"delete_payload": {"keys": ["i"], "points": [12345]}}, 404),
    ({"update_vectors": {"points": [{"id": 1, "vector": {"a": [1.0, 2.0]}}]}}, 400),  # wrong dimension
    ({"upsert": {"points": [{"id": 1, "vector": {"nope": [1.0]}}]}}, 400),  # unknown vector name
    ({"delete_vectors": {"points": [1], "vector": ["nope"]}}, 400),
    ({"set_payload": {"payload": {"z": 1}, "filter": {"must": [{"key": "g", "match": {"bad": 1}}]}}}, 400),
])
def test_each_kind_of_failure_stops_the_batch_there(rest: RestClient, named: str, bad: dict[str, Any], status: int) -> None:
    operations = [
        {"set_payload": {"payload": {"before": True}, "points": [0]}},
        bad,
        {"set_payload": {"payload": {"after": True}, "points": [0]}},
    ]
    rest.error("POST", f"/collections/{named}/points/batch", status, params=WAIT, json={"operations": operations})
    payload = state(rest, named)[0]["payload"]
    assert payload.get("before") is True
    assert "after" not in payload


@pytest.mark.parametrize("body", [
    {"operations": [{"set_payload": {"payload": {"z": 1}, "points": [0]}}, {"frobnicate": {"points": [1]}}]},
    {"operations": [{"set_payload": {"payload": {"z": 1}, "points": [0]}}, 5]},
    {"operations": {"delete": {"points": [1]}}},
    {},
])
def test_malformed_batch_is_400_and_applies_nothing(rest: RestClient, named: str, body: dict[str, Any]) -> None:
    """The body is parsed as a whole before any operation runs (Qdrant's serde)."""
    before = state(rest, named)
    rest.error("POST", f"/collections/{named}/points/batch", 400, params=WAIT, json=body)
    assert state(rest, named) == before


def test_update_vectors_with_a_missing_id_writes_the_others_then_404(rest: RestClient, local: QdrantClient, named: str) -> None:
    """Qdrant applies the points it finds and answers 404 for the first it does not (local mode
    documents the same); it is not an all-or-nothing check."""
    body = {"points": [{"id": 1, "vector": {"a": [7.0, 7.0, 7.0]}}, {"id": 4040, "vector": {"a": [1.0, 1.0, 1.0]}},
                       {"id": 2, "vector": {"a": [6.0, 6.0, 6.0]}}]}
    message = rest.error("PUT", f"/collections/{named}/points/vectors", 404, params=WAIT, json=body)
    assert "4040" in message
    with pytest.raises(KeyError):
        local.update_vectors(named, points=[models.PointVectors(**p) for p in body["points"]])
    final = assert_same_state(rest, local, named)
    assert_vec_equal(final[1]["vector"]["a"], [7.0, 7.0, 7.0])


def test_set_payload_with_a_missing_id_writes_the_others_then_404(rest: RestClient, local: QdrantClient, named: str) -> None:
    message = rest.error("POST", f"/collections/{named}/points/payload", 404, params=WAIT,
                         json={"payload": {"seen": 1}, "points": [3, 5050, 4]})
    assert "5050" in message
    with pytest.raises(KeyError):
        local.set_payload(named, payload={"seen": 1}, points=[3, 5050, 4])
    final = assert_same_state(rest, local, named)
    assert final[3]["payload"]["seen"] == 1 and final[4]["payload"]["seen"] == 1


# ---------------------------------------------------------------- update_mode and update_filter

def put_points(rest: RestClient, name: str, body: dict[str, Any]) -> None:
    res = rest.ok("PUT", f"/collections/{name}/points", params=WAIT, json=body)
    assert res["status"] == "completed"


def local_put(local: QdrantClient, name: str, body: dict[str, Any]) -> None:
    if "batch" in body:
        points: Any = models.Batch(**body["batch"])
    else:
        points = [models.PointStruct(**p) for p in body["points"]]
    flt = body.get("update_filter")
    local.upsert(name, points=points, update_filter=None if flt is None else models.Filter.model_validate(flt),
                 update_mode=body.get("update_mode"))


@pytest.fixture
def small(rest: RestClient, local: QdrantClient, collection_name: str) -> str:
    create_both(rest, local, collection_name, {"size": 2, "distance": "Dot"})
    upsert_both(rest, local, collection_name, [
        {"id": 1, "vector": [1.0, 0.0], "payload": {"v": "old", "tag": "a"}},
        {"id": 2, "vector": [0.0, 1.0], "payload": {"v": "old", "tag": "b"}},
        {"id": 3, "vector": [1.0, 1.0], "payload": {"v": "old", "tag": "a"}},
    ])
    return collection_name


NEW_1_2_10 = {"points": [
    {"id": 1, "vector": [5.0, 5.0], "payload": {"v": "new"}},
    {"id": 2, "vector": [6.0, 6.0], "payload": {"v": "new"}},
    {"id": 10, "vector": [7.0, 7.0], "payload": {"v": "new"}},
]}


@pytest.mark.parametrize("mode,expect", [
    (None, {1: "new", 2: "new", 3: "old", 10: "new"}),
    ("upsert", {1: "new", 2: "new", 3: "old", 10: "new"}),
    ("insert_only", {1: "old", 2: "old", 3: "old", 10: "new"}),
    ("update_only", {1: "new", 2: "new", 3: "old"}),
])
def test_update_mode(rest: RestClient, local: QdrantClient, small: str, mode: str | None, expect: dict[int, str]) -> None:
    body = dict(NEW_1_2_10, **({"update_mode": mode} if mode else {}))
    put_points(rest, small, body)
    local_put(local, small, body)
    final = assert_same_state(rest, local, small)
    assert {pid: rec["payload"]["v"] for pid, rec in final.items()} == expect
    if mode == "insert_only":
        assert final[1]["payload"] == {"v": "old", "tag": "a"}
        assert_vec_equal(final[1]["vector"], [1.0, 0.0])
    if mode == "update_only":
        assert_vec_equal(final[2]["vector"], [6.0, 6.0])


@pytest.mark.parametrize("mode,expect", [
    (None, {1: "new", 2: "old", 3: "old", 10: "new"}),
    ("update_only", {1: "new", 2: "old", 3: "old"}),
    ("insert_only", {1: "old", 2: "old", 3: "old", 10: "new"}),
])
def test_update_filter_updates_only_matching_existing_points(rest: RestClient, local: QdrantClient, small: str,
                                                             mode: str | None, expect: dict[int, str]) -> None:
    body = dict(NEW_1_2_10, update_filter={"must": [{"key": "tag", "match": {"value": "a"}}]})
    if mode:
        body["update_mode"] = mode
    put_points(rest, small, body)
    local_put(local, small, body)
    final = assert_same_state(rest, local, small)
    assert {pid: rec["payload"]["v"] for pid, rec in final.items()} == expect
    assert final[2]["payload"] == {"v": "old", "tag": "b"}  # not matching: untouched, vector too
    assert_vec_equal(final[2]["vector"], [0.0, 1.0])


def test_update_filter_and_mode_in_batch_form(rest: RestClient, local: QdrantClient, small: str) -> None:
    body = {"batch": {"ids": [3, 2, 11], "vectors": [[2.0, 2.0], [3.0, 3.0], [4.0, 4.0]],
                      "payloads": [{"v": "b1"}, {"v": "b2"}, {"v": "b3"}]},
            "update_filter": {"must_not": [{"key": "tag", "match": {"value": "b"}}]}}
    put_points(rest, small, body)
    local_put(local, small, body)
    final = assert_same_state(rest, local, small)
    assert {pid: rec["payload"]["v"] for pid, rec in final.items()} == {1: "old", 2: "old", 3: "b1", 11: "b3"}
    body = {"batch": {"ids": [1, 12], "vectors": [[2.0, 2.0], [3.0, 3.0]]}, "update_mode": "update_only"}
    put_points(rest, small, body)
    local_put(local, small, body)
    final = assert_same_state(rest, local, small)
    assert 12 not in final and final[1]["payload"] == {}  # an upsert without payload replaces it by none


def test_update_mode_and_filter_inside_a_batch(rest: RestClient, local: QdrantClient, small: str) -> None:
    operations = [
        {"upsert": dict(NEW_1_2_10, update_mode="insert_only")},
        {"upsert": {"points": [{"id": 3, "vector": [9.0, 9.0], "payload": {"v": "x"}},
                               {"id": 10, "vector": [8.0, 8.0], "payload": {"v": "x"}}],
                    "update_filter": {"must": [{"key": "v", "match": {"value": "new"}}]}}},
        {"update_vectors": {"points": [{"id": 1, "vector": [0.5, 0.5]}, {"id": 2, "vector": [0.25, 0.25]}],
                            "update_filter": {"must": [{"key": "tag", "match": {"value": "b"}}]}}},
    ]
    batch(rest, small, operations)
    local_batch(local, small, operations)
    final = assert_same_state(rest, local, small)
    assert {pid: rec["payload"]["v"] for pid, rec in final.items()} == {1: "old", 2: "old", 3: "old", 10: "x"}
    assert_vec_equal(final[1]["vector"], [1.0, 0.0])
    assert_vec_equal(final[2]["vector"], [0.25, 0.25])


def test_update_only_does_not_revive_a_deleted_point(rest: RestClient, local: QdrantClient, small: str) -> None:
    rest.ok("POST", f"/collections/{small}/points/delete", params=WAIT, json={"points": [3]})
    local.delete(small, points_selector=models.PointIdsList(points=[3]))
    body = {"points": [{"id": 3, "vector": [2.0, 2.0], "payload": {"v": "again"}}], "update_mode": "update_only"}
    put_points(rest, small, body)
    local_put(local, small, body)
    assert 3 not in assert_same_state(rest, local, small)
    body["update_mode"] = "insert_only"
    put_points(rest, small, body)
    local_put(local, small, body)
    assert assert_same_state(rest, local, small)[3]["payload"] == {"v": "again"}


def test_update_vectors_update_filter(rest: RestClient, local: QdrantClient, small: str) -> None:
    body = {"points": [{"id": 1, "vector": [3.0, 3.0]}, {"id": 2, "vector": [4.0, 4.0]}, {"id": 3, "vector": [5.0, 5.0]}],
            "update_filter": {"must": [{"key": "tag", "match": {"value": "a"}}]}}
    rest.ok("PUT", f"/collections/{small}/points/vectors", params=WAIT, json=body)
    local.update_vectors(small, points=[models.PointVectors(**p) for p in body["points"]],
                         update_filter=models.Filter.model_validate(body["update_filter"]))
    final = assert_same_state(rest, local, small)
    assert_vec_equal(final[1]["vector"], [3.0, 3.0])
    assert_vec_equal(final[2]["vector"], [0.0, 1.0])
    assert_vec_equal(final[3]["vector"], [5.0, 5.0])


@pytest.mark.parametrize("body", [
    dict(NEW_1_2_10, update_mode="replace"),
    dict(NEW_1_2_10, update_mode=1),
    dict(NEW_1_2_10, update_filter={"must": [{"key": "tag", "match": {"oops": 1}}]}),
])
def test_bad_update_mode_or_filter_is_400_and_writes_nothing(rest: RestClient, small: str, body: dict[str, Any]) -> None:
    before = state(rest, small)
    rest.error("PUT", f"/collections/{small}/points", 400, params=WAIT, json=body)
    assert state(rest, small) == before
