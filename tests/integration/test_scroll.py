"""POST /points/scroll over REST, checked against Qdrant's documented id order and against
qdrant-client local mode page by page: mixed int / UUID ids, filters, offsets, page sizes,
payload / vector selectors, several segments, and the scroll + update_vectors re-embedding flow."""

from __future__ import annotations

import random
import uuid
import zlib
from typing import Any

import numpy as np
import pytest
from helpers.rest import RestClient
from helpers.vectors import assert_vec_equal
from qdrant_client import QdrantClient, models

WAIT = {"wait": "true"}
DIM = 2
GROUPS = ["red", "green", "blue"]


# ---------------------------------------------------------------- data and helpers

def id_key(point_id: Any) -> tuple[int, Any]:
    """Qdrant's documented order: integer ids first (numerically), then UUIDs (by 128-bit value)."""
    if isinstance(point_id, int):
        return (0, point_id)
    return (1, uuid.UUID(point_id).int)


def make_points(n: int, seed: int, uuid_share: float = 0.4) -> list[dict[str, Any]]:
    """n points with unique mixed ids (small and huge ints, UUIDs) and exact float32 vectors."""
    rng = random.Random(seed)
    ids: set[Any] = set()
    while len(ids) < n:
        if rng.random() < uuid_share:
            ids.add(str(uuid.UUID(int=rng.getrandbits(128))))
        elif rng.random() < 0.1:
            ids.add(rng.randrange(2**63, 2**64))
        else:
            ids.add(rng.randrange(0, 10 * n))
    order = list(ids)
    rng.shuffle(order)  # insertion order must not matter
    points = []
    for i, pid in enumerate(order):
        points.append({
            "id": pid,
            "vector": [rng.randrange(-64, 64) / 8, rng.randrange(-64, 64) / 8],
            "payload": {"n": i, "group": GROUPS[i % 3], "parity": i % 2 == 0, "nested": {"k": i % 5}},
        })
    return points


def create(rest: RestClient, name: str, distance: str = "Dot") -> None:
    assert rest.ok("PUT", f"/collections/{name}", json={"vectors": {"size": DIM, "distance": distance}}) is True


def upsert(rest: RestClient, name: str, points: list[dict[str, Any]], chunk: int = 500) -> None:
    for start in range(0, len(points), chunk):
        res = rest.ok("PUT", f"/collections/{name}/points", params=WAIT, json={"points": points[start:start + chunk]})
        assert res["status"] == "completed"


def scroll(rest: RestClient, name: str, **body: Any) -> dict[str, Any]:
    return rest.ok("POST", f"/collections/{name}/points/scroll", json=body)  # type: ignore[no-any-return]


def scroll_all(rest: RestClient, name: str, limit: int, **body: Any) -> tuple[list[dict[str, Any]], list[Any]]:
    """Follow next_page_offset to the end; returns every record and the offset of each page."""
    records: list[dict[str, Any]] = []
    offsets: list[Any] = []
    offset = None
    for _ in range(100000):
        page = scroll(rest, name, limit=limit, offset=offset, **body)
        assert len(page["points"]) <= limit
        records.extend(page["points"])
        offsets.append(offset)
        offset = page["next_page_offset"]
        if offset is None:
            return records, offsets
        # the next page starts exactly at next_page_offset, which was not returned yet
        assert id_key(offset) > id_key(page["points"][-1]["id"])
    raise AssertionError("scroll did not terminate")


def ids_of(records: list[dict[str, Any]]) -> list[Any]:
    return [r["id"] for r in records]


def matches(point: dict[str, Any], group: str | None = None, parity: bool | None = None) -> bool:
    p = point["payload"]
    return (group is None or p["group"] == group) and (parity is None or p["parity"] == parity)


def local_twin(local: QdrantClient, name: str, points: list[dict[str, Any]], distance: str = "Dot") -> None:
    local.create_collection(name, vectors_config=models.VectorParams(size=DIM, distance=distance))
    local.upsert(name, points=[models.PointStruct(**p) for p in points])


def local_page(local: QdrantClient, name: str, **kw: Any) -> dict[str, Any]:
    if "filter" in kw:
        raw = kw.pop("filter")
        kw["scroll_filter"] = None if raw is None else models.Filter.model_validate(raw)
    if "with_vector" in kw:
        kw["with_vectors"] = kw.pop("with_vector")
    records, next_offset = local.scroll(name, **kw)
    return {"points": [r.model_dump(exclude={"shard_key", "order_value"}) for r in records], "next_page_offset": next_offset}


def assert_same_records(ours: list[dict[str, Any]], theirs: list[dict[str, Any]]) -> None:
    assert ids_of(ours) == ids_of(theirs)
    for a, b in zip(ours, theirs):
        assert a.get("payload") == b["payload"], a["id"]
        if b["vector"] is None:
            assert a.get("vector") is None, a
        elif isinstance(b["vector"], list):
            assert_vec_equal(a["vector"], b["vector"])
        else:
            assert set(a["vector"]) == set(b["vector"]), a["id"]
            for key in b["vector"]:
                assert_vec_equal(a["vector"][key], b["vector"][key])


@pytest.fixture(scope="module")
def mixed(rest: RestClient, local: QdrantClient) -> tuple[str, list[dict[str, Any]]]:
    """150 points with mixed ids, the same in pydrant and in local mode."""
    name = f"scroll_{uuid.uuid4().hex[:10]}"
    points = make_points(150, seed=11)
    create(rest, name)
    upsert(rest, name, points)
    local_twin(local, name, points)
    return name, points


# ---------------------------------------------------------------- full scrolls

@pytest.mark.parametrize("limit", [1, 7, 100, 149, 150, 151, 1000])
@pytest.mark.parametrize("flt", [None, "green", "parity"])
def test_full_scroll_returns_every_point_once_in_id_order(rest: RestClient, mixed: Any, limit: int, flt: str | None) -> None:
    name, points = mixed
    if flt is None:
        body: dict[str, Any] = {}
        expected = points
    elif flt == "green":
        body = {"filter": {"must": [{"key": "group", "match": {"value": "green"}}]}}
        expected = [p for p in points if matches(p, group="green")]
    else:
        body = {"filter": {"must_not": [{"key": "parity", "match": {"value": True}}]}}
        expected = [p for p in points if matches(p, parity=False)]
    records, offsets = scroll_all(rest, name, limit, **body)
    want = sorted((p["id"] for p in expected), key=id_key)
    assert ids_of(records) == want
    # ceil(len / limit) pages, at least one
    assert len(offsets) == max(1, -(-len(want) // limit))
    by_id = {p["id"]: p for p in points}
    for record in records:
        assert record["payload"] == by_id[record["id"]]["payload"]  # with_payload defaults to true
        assert record.get("vector") is None  # with_vector defaults to false


def test_ints_sort_numerically_before_uuids(rest: RestClient, collection_name: str) -> None:
    ids: list[Any] = [2**64 - 1, 10, 9, 100, 0,
                      "ffffffff-ffff-4fff-8fff-ffffffffffff", "00000000-0000-4000-8000-000000000001",
                      "0a000000-0000-4000-8000-000000000000", "a0000000-0000-4000-8000-000000000000"]
    create(rest, collection_name)
    upsert(rest, collection_name, [{"id": i, "vector": [1.0, 0.0]} for i in ids])
    page = scroll(rest, collection_name, limit=100)
    assert ids_of(page["points"]) == [0, 9, 10, 100, 2**64 - 1,
                                      "00000000-0000-4000-8000-000000000001", "0a000000-0000-4000-8000-000000000000",
                                      "a0000000-0000-4000-8000-000000000000", "ffffffff-ffff-4fff-8fff-ffffffffffff"]
    assert page["next_page_offset"] is None


@pytest.mark.parametrize("limit", [1, 7, 100, 1000])
@pytest.mark.parametrize("flt", [None, {"must": [{"key": "group", "match": {"any": ["red", "blue"]}}]},
                                 {"should": [{"key": "n", "range": {"lt": 20}}, {"has_id": [0, 1, 2, 3]}]}])
def test_pages_equal_local_mode(rest: RestClient, local: QdrantClient, mixed: Any, limit: int, flt: Any) -> None:
    name, _ = mixed
    offset = None
    pages = 0
    while True:
        ours = scroll(rest, name, limit=limit, offset=offset, filter=flt, with_vector=True)
        theirs = local_page(local, name, limit=limit, offset=offset, filter=flt, with_vector=True)
        assert_same_records(ours["points"], theirs["points"])
        assert ours["next_page_offset"] == theirs["next_page_offset"]
        pages += 1
        offset = ours["next_page_offset"]
        if offset is None:
            break
    assert pages >= 1


def test_client_scroll_over_rest_equals_local_mode(client: QdrantClient, local: QdrantClient, mixed: Any) -> None:
    name, _ = mixed
    flt = models.Filter(must=[models.FieldCondition(key="nested.k", match=models.MatchAny(any=[1, 3]))])
    offset = None
    while True:
        ours, ours_next = client.scroll(name, scroll_filter=flt, limit=9, offset=offset, with_vectors=True)
        theirs, theirs_next = local.scroll(name, scroll_filter=flt, limit=9, offset=offset, with_vectors=True)
        assert [r.id for r in ours] == [r.id for r in theirs]
        assert [r.payload for r in ours] == [r.payload for r in theirs]
        for a, b in zip(ours, theirs):
            assert_vec_equal(a.vector, b.vector)
        assert ours_next == theirs_next
        if ours_next is None:
            break
        offset = ours_next


# ---------------------------------------------------------------- offset, limit, last page

def test_offset_that_is_not_an_id_starts_at_the_next_id(rest: RestClient, local: QdrantClient, mixed: Any) -> None:
    name, points = mixed
    ordered = sorted((p["id"] for p in points), key=id_key)
    ints = [i for i in ordered if isinstance(i, int)]
    uuids = [i for i in ordered if isinstance(i, str)]
    gap = next(i + 1 for i in ints if i + 1 not in set(ints))
    missing_uuid = str(uuid.UUID(int=uuid.UUID(uuids[3]).int + 1))
    assert missing_uuid not in uuids
    cases = [
        (gap, [i for i in ordered if id_key(i) > id_key(gap)]),
        (ints[-1] + 1 if ints[-1] < 2**64 - 1 else ints[-1], None),  # past every int: UUIDs next
        (missing_uuid, uuids[4:]),
        ("00000000-0000-4000-8000-000000000000", uuids),
        (0, ordered),
    ]
    for offset, want in cases:
        if want is None:
            want = [i for i in ordered if id_key(i) >= id_key(offset)]
        page = scroll(rest, name, offset=offset, limit=5)
        assert ids_of(page["points"]) == want[:5], offset
        assert page["next_page_offset"] == (want[5] if len(want) > 5 else None), offset
        theirs = local_page(local, name, offset=offset, limit=5)
        assert ids_of(page["points"]) == ids_of(theirs["points"])
        assert page["next_page_offset"] == theirs["next_page_offset"]


def test_offset_past_the_last_id_is_an_empty_last_page(rest: RestClient, mixed: Any) -> None:
    name, _ = mixed
    page = scroll(rest, name, offset="ffffffff-ffff-ffff-ffff-ffffffffffff", limit=5)
    assert page == {"points": [], "next_page_offset": None}


def test_offset_accepts_uuid_in_other_forms(rest: RestClient, mixed: Any) -> None:
    name, points = mixed
    uuids = sorted((p["id"] for p in points if isinstance(p["id"], str)), key=id_key)
    target = uuids[2]
    simple = target.replace("-", "").upper()
    page = scroll(rest, name, offset=simple, limit=2)
    assert ids_of(page["points"]) == uuids[2:4]


def test_default_limit_is_ten(rest: RestClient, mixed: Any) -> None:
    name, points = mixed
    ordered = sorted((p["id"] for p in points), key=id_key)
    page = scroll(rest, name)
    assert ids_of(page["points"]) == ordered[:10]
    assert page["next_page_offset"] == ordered[10]
    page = rest.ok("POST", f"/collections/{name}/points/scroll", json={"limit": None, "offset": None, "filter": None})
    assert ids_of(page["points"]) == ordered[:10]


def test_next_page_offset_is_null_exactly_on_the_last_page(rest: RestClient, collection_name: str) -> None:
    create(rest, collection_name)
    upsert(rest, collection_name, [{"id": i, "vector": [1.0, 0.0]} for i in range(1, 21)])
    assert scroll(rest, collection_name, limit=20)["next_page_offset"] is None
    assert scroll(rest, collection_name, limit=19)["next_page_offset"] == 20
    first = scroll(rest, collection_name, limit=10)
    assert ids_of(first["points"]) == list(range(1, 11)) and first["next_page_offset"] == 11
    second = scroll(rest, collection_name, limit=10, offset=11)
    assert ids_of(second["points"]) == list(range(11, 21)) and second["next_page_offset"] is None
    # a filter that leaves exactly `limit` points after the offset: no further page
    flt = {"must": [{"is_empty": {"key": "x"}}]}
    assert scroll(rest, collection_name, limit=10, offset=11, filter=flt)["next_page_offset"] is None


def test_empty_collection_and_empty_filter_result(rest: RestClient, collection_name: str) -> None:
    create(rest, collection_name)
    assert scroll(rest, collection_name) == {"points": [], "next_page_offset": None}
    upsert(rest, collection_name, [{"id": 1, "vector": [1.0, 0.0], "payload": {"a": 1}}])
    flt = {"must": [{"key": "a", "match": {"value": 2}}]}
    assert scroll(rest, collection_name, filter=flt) == {"points": [], "next_page_offset": None}


def test_deleted_points_are_not_scrolled(rest: RestClient, local: QdrantClient, collection_name: str) -> None:
    points = make_points(60, seed=5)
    create(rest, collection_name)
    upsert(rest, collection_name, points)
    local_twin(local, collection_name, points)
    doomed = [p["id"] for p in points[::3]]
    rest.ok("POST", f"/collections/{collection_name}/points/delete", params=WAIT, json={"points": doomed})
    local.delete(collection_name, points_selector=models.PointIdsList(points=doomed))
    records, _ = scroll_all(rest, collection_name, 7)
    assert ids_of(records) == sorted((p["id"] for p in points if p["id"] not in set(doomed)), key=id_key)
    # a deleted id as offset still starts at the next live id
    offset = sorted(doomed, key=id_key)[5]
    ours = scroll(rest, collection_name, offset=offset, limit=4)
    theirs = local_page(local, collection_name, offset=offset, limit=4)
    assert ids_of(ours["points"]) == ids_of(theirs["points"])
    assert ours["next_page_offset"] == theirs["next_page_offset"]


# ---------------------------------------------------------------- with_payload / with_vector

@pytest.mark.parametrize("with_payload", [True, False, ["group"], ["nested.k", "n"], {"include": ["parity"]},
                                          {"exclude": ["n", "nested"]}, ["missing"]])
def test_with_payload_selectors_equal_local_mode(rest: RestClient, local: QdrantClient, mixed: Any, with_payload: Any) -> None:
    name, _ = mixed
    ours = scroll(rest, name, limit=12, with_payload=with_payload)
    kw_payload = with_payload
    if isinstance(with_payload, dict):
        kw_payload = models.PayloadSelectorInclude(**with_payload) if "include" in with_payload \
            else models.PayloadSelectorExclude(**with_payload)
    theirs = local_page(local, name, limit=12, with_payload=kw_payload)
    assert ids_of(ours["points"]) == ids_of(theirs["points"])
    for a, b in zip(ours["points"], theirs["points"]):
        if with_payload is False:
            assert "payload" not in a  # left out, as Qdrant does
        else:
            assert a["payload"] == b["payload"], (a["id"], with_payload)


def test_with_vector_true_returns_exact_vectors(rest: RestClient, mixed: Any) -> None:
    name, points = mixed
    by_id = {p["id"]: p for p in points}
    records, _ = scroll_all(rest, name, 50, with_vector=True, with_payload=False)
    assert len(records) == len(points)
    for record in records:
        assert_vec_equal(record["vector"], by_id[record["id"]]["vector"])
        assert "payload" not in record


def test_with_vector_by_name_on_named_vectors(rest: RestClient, local: QdrantClient, collection_name: str) -> None:
    config = {"a": {"size": 2, "distance": "Dot"}, "b": {"size": 3, "distance": "Dot"}}
    rest.ok("PUT", f"/collections/{collection_name}", json={"vectors": config})
    points = [{"id": i, "vector": {"a": [i / 4, 1.0], "b": [1.0, i / 8, 0.5]}, "payload": {"i": i}} for i in range(12)]
    upsert(rest, collection_name, points)
    local.create_collection(collection_name, vectors_config={k: models.VectorParams(**v) for k, v in config.items()})
    local.upsert(collection_name, points=[models.PointStruct(**p) for p in points])
    for selector in (True, ["b"], ["a", "b"], False):
        ours = scroll(rest, collection_name, limit=5, offset=3, with_vector=selector)
        theirs = local_page(local, collection_name, limit=5, offset=3, with_vector=selector)
        assert_same_records(ours["points"], theirs["points"])
        assert ours["next_page_offset"] == theirs["next_page_offset"] == 8
        if selector == ["b"]:
            assert all(set(r["vector"]) == {"b"} for r in ours["points"])


# ---------------------------------------------------------------- bad requests

@pytest.mark.parametrize("body,status", [
    ({"limit": 0}, 422),  # a bound of the validator: Qdrant answers 422
    ({"limit": -1}, 400),  # not a usize at all: a JSON format error, 400
    ({"limit": "ten"}, 400),
    ({"offset": "not-a-uuid"}, 400),
    ({"offset": -1}, 400),
    ({"offset": 1.5}, 400),
    ({"filter": {"must": [{"key": "n", "match": {"nope": 1}}]}}, 400),
    ({"with_vector": ["no_such_vector"]}, 400),
])
def test_bad_scroll_requests(rest: RestClient, mixed: Any, body: dict[str, Any], status: int) -> None:
    name, _ = mixed
    message = rest.error("POST", f"/collections/{name}/points/scroll", status, json=body)
    assert message


def test_scroll_missing_collection_is_404(rest: RestClient, collection_name: str) -> None:
    message = rest.error("POST", f"/collections/{collection_name}/points/scroll", 404, json={})
    assert collection_name in message


# ---------------------------------------------------------------- several segments

@pytest.fixture(scope="module")
def big(rest: RestClient, local: QdrantClient) -> tuple[str, list[dict[str, Any]]]:
    """2600 points: more than two appendable segments' worth (a segment seals at >= 1000 points)."""
    name = f"scrollbig_{uuid.uuid4().hex[:10]}"
    points = make_points(2600, seed=23)
    create(rest, name)
    upsert(rest, name, points)
    local_twin(local, name, points)
    return name, points


def test_multi_segment_scroll_every_point_once(rest: RestClient, big: Any) -> None:
    name, points = big
    info = rest.ok("GET", f"/collections/{name}")
    assert info["points_count"] == len(points)
    for limit in (333, 2600, 5000):
        records, _ = scroll_all(rest, name, limit, with_payload=False)
        assert ids_of(records) == sorted((p["id"] for p in points), key=id_key)
    flt = {"must": [{"key": "group", "match": {"value": "blue"}}, {"key": "n", "range": {"gte": 500}}]}
    records, _ = scroll_all(rest, name, 97, filter=flt)
    expected = [p["id"] for p in points if p["payload"]["group"] == "blue" and p["payload"]["n"] >= 500]
    assert ids_of(records) == sorted(expected, key=id_key)


def test_multi_segment_pages_equal_local_mode_after_updates(rest: RestClient, local: QdrantClient, big: Any) -> None:
    """Deletes and payload updates touch points of every segment; scroll still agrees page by page."""
    name, points = big
    doomed = [p["id"] for p in points[::7]]
    rest.ok("POST", f"/collections/{name}/points/delete", params=WAIT, json={"points": doomed})
    local.delete(name, points_selector=models.PointIdsList(points=doomed))
    touched = [p["id"] for i, p in enumerate(points) if i % 11 == 3 and i % 7 != 0]
    rest.ok("POST", f"/collections/{name}/points/payload", params=WAIT, json={"payload": {"group": "red", "touched": True}, "points": touched})
    local.set_payload(name, payload={"group": "red", "touched": True}, points=touched)
    reinserted = [dict(p, payload={"re": True}) for p in points[::14]]  # half of the deleted ones come back
    upsert(rest, name, reinserted)
    local.upsert(name, points=[models.PointStruct(**p) for p in reinserted])
    flt = {"must": [{"key": "group", "match": {"value": "red"}}]}
    for body in ({}, {"filter": flt}):
        offset = None
        while True:
            ours = scroll(rest, name, limit=250, offset=offset, with_vector=True, **body)
            theirs = local_page(local, name, limit=250, offset=offset, with_vector=True, **body)
            assert_same_records(ours["points"], theirs["points"])
            assert ours["next_page_offset"] == theirs["next_page_offset"]
            offset = ours["next_page_offset"]
            if offset is None:
                break


# ---------------------------------------------------------------- re-embedding flow

def new_vector(point_id: Any) -> list[float]:
    """A deterministic 'new embedding' per id, exact in float32."""
    h = zlib.crc32(str(point_id).encode()) & 0xFFFF
    return [(h % 97) / 16 - 3, (h % 89) / 32 + 0.5]


@pytest.mark.parametrize("via_batch", [False, True])
def test_reembedding_by_scroll_and_update_vectors(rest: RestClient, collection_name: str, via_batch: bool) -> None:
    """Scroll every page with payload, write new vectors for that page, follow next_page_offset:
    afterwards every payload is untouched and every vector is the new one."""
    points = make_points(2300, seed=31)
    create(rest, collection_name)
    upsert(rest, collection_name, points)
    offset = None
    seen: list[Any] = []
    pages = 0
    while True:
        page = scroll(rest, collection_name, limit=256, offset=offset, with_payload=True)
        update = {"points": [{"id": r["id"], "vector": new_vector(r["id"])} for r in page["points"]]}
        if via_batch:
            res = rest.ok("POST", f"/collections/{collection_name}/points/batch", params=WAIT,
                          json={"operations": [{"update_vectors": update}]})
            assert [r["status"] for r in res] == ["completed"]
        else:
            res = rest.ok("PUT", f"/collections/{collection_name}/points/vectors", params=WAIT, json=update)
            assert res["status"] == "completed"
        seen.extend(ids_of(page["points"]))
        pages += 1
        offset = page["next_page_offset"]
        if offset is None:
            break
    assert pages == 9
    assert seen == sorted((p["id"] for p in points), key=id_key)  # nothing skipped or repeated
    by_id = {p["id"]: p for p in points}
    records, _ = scroll_all(rest, collection_name, 1000, with_vector=True)
    assert len(records) == len(points)
    for record in records:
        assert record["payload"] == by_id[record["id"]]["payload"]
        assert_vec_equal(record["vector"], new_vector(record["id"]))
    count = rest.ok("POST", f"/collections/{collection_name}/points/count", json={"exact": True})["count"]
    assert count == len(points)
    # search sees the new vectors too: the best Dot match of a new vector among new vectors
    target = records[123]
    vecs = np.asarray([new_vector(r["id"]) for r in records], dtype=np.float32)
    scores = vecs @ np.asarray(new_vector(target["id"]), dtype=np.float32)
    hit = rest.ok("POST", f"/collections/{collection_name}/points/query",
                  json={"query": new_vector(target["id"]), "limit": 1, "params": {"exact": True}})["points"][0]
    assert np.isclose(hit["score"], scores.max(), rtol=1e-5)
