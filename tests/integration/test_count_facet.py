"""POST /points/count (exact and approximate) and POST /facet over REST, compared with
qdrant-client local mode and with counts computed from the data, on random filters."""

from __future__ import annotations

import random
import uuid
from collections import Counter
from typing import Any

import pytest
from helpers.rest import RestClient
from qdrant_client import QdrantClient, models

WAIT = {"wait": "true"}
N = 300
COLORS = ["amber", "blue", "cyan", "green", "red"]
TAGS = [f"t{i:02d}" for i in range(14)]
UIDS = [str(uuid.UUID(int=(i + 1) * 0x1111_2222_3333_4444)) for i in range(6)]
INDEXES = {"color": "keyword", "size": "integer", "in_stock": "bool", "tags": "keyword", "price": "float", "uid": "uuid"}


def make_points(n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    points = []
    for i in range(n):
        payload: dict[str, Any] = {
            "color": COLORS[i % 5],  # exactly n/5 of each: ties in facet counts
            "size": rng.choice([1, 2, 2, 3, 3, 3, 4, 5, 8, 13]),
            "in_stock": rng.random() < 0.3,
            "price": rng.randrange(0, 400) / 4,
            "uid": rng.choice(UIDS),
        }
        if i % 6:
            payload["tags"] = rng.sample(TAGS, rng.randrange(0, 4))
        if i % 17 == 0:
            payload["tags"] = ["t00", "t00", "t01"]  # a value twice in one point counts once
        if i % 23 == 0:
            del payload["size"]
        points.append({"id": i, "vector": [1.0, i / 8], "payload": payload})
    return points


def random_condition(rng: random.Random, depth: int = 0) -> dict[str, Any]:
    kind = rng.randrange(9 if depth < 2 else 8)
    if kind == 0:
        return {"key": "color", "match": {"value": rng.choice(COLORS)}}
    if kind == 1:
        return {"key": "color", "match": {"any": rng.sample(COLORS, rng.randrange(1, 4))}}
    if kind == 2:
        return {"key": "color", "match": {"except": rng.sample(COLORS, rng.randrange(1, 3))}}
    if kind == 3:
        lo = rng.randrange(0, 6)
        return {"key": "size", "range": {"gte": lo, "lt": lo + rng.randrange(1, 9)}}
    if kind == 4:
        return {"key": "in_stock", "match": {"value": rng.random() < 0.5}}
    if kind == 5:
        return {"key": "tags", "match": {"any": rng.sample(TAGS, rng.randrange(1, 4))}}
    if kind == 6:
        return {"has_id": rng.sample(range(N + 20), rng.randrange(1, 60))}
    if kind == 7:
        return rng.choice([{"is_empty": {"key": "tags"}}, {"is_null": {"key": "size"}},
                           {"key": "price", "range": {"lte": rng.randrange(0, 100)}}])
    return random_filter(rng, depth + 1)


def random_filter(rng: random.Random, depth: int = 0) -> dict[str, Any]:
    flt: dict[str, Any] = {}
    for clause in rng.sample(["must", "should", "must_not"], rng.randrange(1, 4)):
        flt[clause] = [random_condition(rng, depth) for _ in range(rng.randrange(1, 4))]
    return flt


RANDOM_FILTERS = [random_filter(random.Random(seed)) for seed in range(60)]


def count(rest: RestClient, name: str, **body: Any) -> int:
    result = rest.ok("POST", f"/collections/{name}/points/count", json=body)
    assert set(result) == {"count"}
    value = result["count"]
    assert type(value) is int and value >= 0
    return value  # type: ignore[no-any-return]


def scroll_ids(rest: RestClient, name: str, flt: Any) -> list[Any]:
    ids: list[Any] = []
    offset = None
    while True:
        page = rest.ok("POST", f"/collections/{name}/points/scroll",
                       json={"filter": flt, "limit": 128, "offset": offset, "with_payload": False})
        ids += [r["id"] for r in page["points"]]
        offset = page["next_page_offset"]
        if offset is None:
            return ids


def facet(rest: RestClient, name: str, **body: Any) -> list[dict[str, Any]]:
    result = rest.ok("POST", f"/collections/{name}/facet", json=body)
    assert set(result) == {"hits"}
    return result["hits"]  # type: ignore[no-any-return]


def local_facet(local: QdrantClient, name: str, key: str, flt: Any = None, limit: int = 10) -> list[dict[str, Any]]:
    res = local.facet(name, key, facet_filter=None if flt is None else models.Filter.model_validate(flt), limit=limit)
    return [{"value": h.value, "count": h.count} for h in res.hits]


def facet_from_data(points: list[dict[str, Any]], key: str, keep: Any = None) -> Counter[Any]:
    counts: Counter[Any] = Counter()
    for p in points:
        if keep is not None and not keep(p):
            continue
        raw = p["payload"].get(key)
        if raw is None:
            continue
        for value in set(raw if isinstance(raw, list) else [raw]):
            counts[value] += 1
    return counts


def ranked(counts: Counter[Any], limit: int) -> list[dict[str, Any]]:
    """Qdrant's facet order: count descending, ties by value ascending."""
    return [{"value": v, "count": c} for v, c in sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:limit]]


def assert_hits_equal(ours: list[dict[str, Any]], theirs: list[dict[str, Any]]) -> None:
    assert [(h["value"], h["count"]) for h in ours] == [(h["value"], h["count"]) for h in theirs]
    for h in ours:  # true stays a boolean, 3 stays an integer
        assert type(h["value"]) in (bool, int, str)


@pytest.fixture(scope="module")
def data(rest: RestClient, local: QdrantClient) -> tuple[str, list[dict[str, Any]]]:
    name = f"cf_{uuid.uuid4().hex[:10]}"
    points = make_points(N, seed=42)
    rest.ok("PUT", f"/collections/{name}", json={"vectors": {"size": 2, "distance": "Dot"}})
    for key, schema in INDEXES.items():
        rest.ok("PUT", f"/collections/{name}/index", params=WAIT, json={"field_name": key, "field_schema": schema})
    rest.ok("PUT", f"/collections/{name}/points", params=WAIT, json={"points": points})
    local.create_collection(name, vectors_config=models.VectorParams(size=2, distance="Dot"))
    local.upsert(name, points=[models.PointStruct(**p) for p in points])
    return name, points


# ---------------------------------------------------------------- count

def test_count_without_filter(rest: RestClient, data: Any) -> None:
    name, _ = data
    assert count(rest, name) == N  # exact defaults to true
    assert count(rest, name, exact=True) == N
    assert count(rest, name, exact=False) == N
    assert count(rest, name, filter=None, exact=False) == N


@pytest.mark.parametrize("index", range(len(RANDOM_FILTERS)))
def test_exact_count_equals_scroll_and_local_mode(rest: RestClient, local: QdrantClient, data: Any, index: int) -> None:
    name, _ = data
    flt = RANDOM_FILTERS[index]
    exact = count(rest, name, filter=flt, exact=True)
    assert exact == len(scroll_ids(rest, name, flt))
    assert exact == local.count(name, count_filter=models.Filter.model_validate(flt), exact=True).count
    count(rest, name, filter=flt, exact=False)  # an estimate: only a non-negative integer is promised


def test_count_of_simple_filters_from_data(rest: RestClient, data: Any) -> None:
    name, points = data
    assert count(rest, name, filter={"must": [{"key": "color", "match": {"value": "red"}}]}) == N // 5
    in_stock = sum(p["payload"]["in_stock"] for p in points)
    assert count(rest, name, filter={"must": [{"key": "in_stock", "match": {"value": True}}]}) == in_stock
    assert count(rest, name, filter={"must_not": [{"key": "in_stock", "match": {"value": True}}]}) == N - in_stock
    assert count(rest, name, filter={"must": [{"has_id": [0, 1, 2, 10**6]}]}) == 3
    assert count(rest, name, filter={"must": [{"key": "nowhere", "match": {"value": 1}}]}) == 0


def test_count_follows_deletes_and_updates(rest: RestClient, collection_name: str) -> None:
    points = make_points(90, seed=1)
    rest.ok("PUT", f"/collections/{collection_name}", json={"vectors": {"size": 2, "distance": "Dot"}})
    assert count(rest, collection_name) == 0
    assert count(rest, collection_name, exact=False) == 0
    rest.ok("PUT", f"/collections/{collection_name}/index", params=WAIT, json={"field_name": "color", "field_schema": "keyword"})
    rest.ok("PUT", f"/collections/{collection_name}/points", params=WAIT, json={"points": points})
    red = {"must": [{"key": "color", "match": {"value": "red"}}]}
    assert count(rest, collection_name, filter=red) == 18
    rest.ok("POST", f"/collections/{collection_name}/points/delete", params=WAIT, json={"filter": red})
    assert count(rest, collection_name) == 72
    assert count(rest, collection_name, exact=False) == 72
    assert count(rest, collection_name, filter=red) == 0
    rest.ok("POST", f"/collections/{collection_name}/points/payload", params=WAIT, json={"payload": {"color": "red"}, "points": [0, 1, 2]})
    assert count(rest, collection_name, filter=red) == 3
    rest.ok("PUT", f"/collections/{collection_name}/points", params=WAIT, json={"points": points[:10]})  # re-upsert: no double count
    assert count(rest, collection_name) == 74  # ids 4 and 9 were red and deleted: they come back
    assert count(rest, collection_name, filter=red) == 2  # 4 and 9; 0, 1, 2 got their own colors back


@pytest.mark.parametrize("body,status", [
    ({"exact": "yes"}, 400),
    ({"filter": {"must": [{"key": "color"}]}}, 422),  # a field condition without a check: validator
    ({"filter": 5}, 400),
])
def test_bad_count_requests(rest: RestClient, data: Any, body: dict[str, Any], status: int) -> None:
    name, _ = data
    assert rest.error("POST", f"/collections/{name}/points/count", status, json=body)


def test_count_missing_collection_is_404(rest: RestClient, collection_name: str) -> None:
    assert collection_name in rest.error("POST", f"/collections/{collection_name}/points/count", 404, json={})


# ---------------------------------------------------------------- facet

@pytest.mark.parametrize("key", ["color", "size", "in_stock", "tags", "uid"])
@pytest.mark.parametrize("limit", [1, 3, 10, 100])
def test_facet_counts_equal_local_mode_and_data(rest: RestClient, local: QdrantClient, data: Any, key: str, limit: int) -> None:
    name, points = data
    ours = facet(rest, name, key=key, limit=limit, exact=True)
    assert_hits_equal(ours, local_facet(local, name, key, limit=limit))
    assert_hits_equal(ours, ranked(facet_from_data(points, key), limit))
    # without a filter an approximate facet reads the index counts: the same numbers
    assert_hits_equal(facet(rest, name, key=key, limit=limit, exact=False), ours)


@pytest.mark.parametrize("index", range(0, len(RANDOM_FILTERS), 3))
@pytest.mark.parametrize("key", ["color", "size", "tags", "in_stock"])
def test_filtered_exact_facet_equals_local_mode(rest: RestClient, local: QdrantClient, data: Any, index: int, key: str) -> None:
    name, _ = data
    flt = RANDOM_FILTERS[index]
    ours = facet(rest, name, key=key, filter=flt, limit=50, exact=True)
    assert_hits_equal(ours, local_facet(local, name, key, flt, limit=50))
    # an approximate facet still returns well-formed hits for values that occur
    approx = facet(rest, name, key=key, filter=flt, limit=50, exact=False)
    assert all(h["count"] >= 0 for h in approx)


def test_facet_defaults_limit_ten_and_ties_by_value(rest: RestClient, data: Any) -> None:
    name, points = data
    hits = facet(rest, name, key="tags")
    assert len(hits) == 10
    assert_hits_equal(hits, ranked(facet_from_data(points, "tags"), 10))
    colors = facet(rest, name, key="color", exact=True)
    assert colors == [{"value": c, "count": N // 5} for c in COLORS]  # all tied: by value ascending


def test_facet_with_a_simple_filter_from_data(rest: RestClient, data: Any) -> None:
    name, points = data
    flt = {"must": [{"key": "in_stock", "match": {"value": True}}, {"key": "size", "range": {"gte": 3}}]}
    keep = lambda p: p["payload"]["in_stock"] and p["payload"].get("size", -1) >= 3
    for key in ("color", "size", "tags"):
        assert_hits_equal(facet(rest, name, key=key, filter=flt, exact=True, limit=20), ranked(facet_from_data(points, key, keep), 20))
    assert facet(rest, name, key="color", filter={"must": [{"has_id": [999999]}]}, exact=True) == []


def test_facet_values_keep_their_type(rest: RestClient, collection_name: str) -> None:
    rest.ok("PUT", f"/collections/{collection_name}", json={"vectors": {"size": 2, "distance": "Dot"}})
    for key, schema in (("b", "bool"), ("n", "integer"), ("u", "uuid")):
        rest.ok("PUT", f"/collections/{collection_name}/index", params=WAIT, json={"field_name": key, "field_schema": schema})
    u = "5c56c793-69f3-4fbf-87e6-c4bf54c28c26"
    rest.ok("PUT", f"/collections/{collection_name}/points", params=WAIT, json={"points": [
        {"id": 1, "vector": [1, 0], "payload": {"b": True, "n": 1, "u": u}},
        {"id": 2, "vector": [1, 0], "payload": {"b": [False, True], "n": [0, 1, 1], "u": u.upper()}},
        {"id": 3, "vector": [1, 0], "payload": {"b": False, "n": -5}},
    ]})
    assert facet(rest, collection_name, key="b", exact=True) == [{"value": False, "count": 2}, {"value": True, "count": 2}]
    assert facet(rest, collection_name, key="n", exact=True) == [{"value": 1, "count": 2}, {"value": -5, "count": 1}, {"value": 0, "count": 1}]
    assert facet(rest, collection_name, key="u", exact=True) == [{"value": u, "count": 2}]


def test_facet_follows_updates(rest: RestClient, collection_name: str) -> None:
    rest.ok("PUT", f"/collections/{collection_name}", json={"vectors": {"size": 2, "distance": "Dot"}})
    rest.ok("PUT", f"/collections/{collection_name}/points", params=WAIT, json={"points": [
        {"id": i, "vector": [1, 0], "payload": {"c": ["x", "y", "z"][i % 3]}} for i in range(30)]})
    rest.ok("PUT", f"/collections/{collection_name}/index", params=WAIT, json={"field_name": "c", "field_schema": "keyword"})  # after the data
    assert facet(rest, collection_name, key="c", exact=True) == [{"value": v, "count": 10} for v in "xyz"]
    rest.ok("POST", f"/collections/{collection_name}/points/delete", params=WAIT, json={"points": [0, 3, 6]})
    rest.ok("POST", f"/collections/{collection_name}/points/payload", params=WAIT, json={"payload": {"c": "w"}, "points": [1, 4]})
    rest.ok("POST", f"/collections/{collection_name}/points/payload/clear", params=WAIT, json={"points": [2]})
    assert facet(rest, collection_name, key="c", exact=True) == [
        {"value": "z", "count": 9}, {"value": "y", "count": 8}, {"value": "x", "count": 7}, {"value": "w", "count": 2}]


def test_client_facet_over_rest_equals_local_mode(client: QdrantClient, local: QdrantClient, data: Any) -> None:
    name, _ = data
    flt = models.Filter(must_not=[models.FieldCondition(key="color", match=models.MatchValue(value="red"))])
    for key in ("tags", "size"):
        ours = client.facet(name, key, facet_filter=flt, limit=7, exact=True)
        theirs = local.facet(name, key, facet_filter=flt, limit=7)
        assert [(h.value, h.count) for h in ours.hits] == [(h.value, h.count) for h in theirs.hits]


@pytest.mark.parametrize("key", ["price", "nowhere", "vector"])
def test_facet_without_a_facetable_index_is_400(rest: RestClient, data: Any, key: str) -> None:
    """Qdrant facets keyword / integer / bool / uuid indexes only; a float index does not do."""
    name, _ = data
    message = rest.error("POST", f"/collections/{name}/facet", 400, json={"key": key})
    assert key in message


@pytest.mark.parametrize("body,status", [
    ({"key": "color", "limit": 0}, 422),
    ({"limit": 5}, 400),
    ({"key": 5}, 400),
    ({"key": "color", "exact": "yes"}, 400),
    ({"key": "color", "filter": {"must": [{"nope": 1}]}}, 400),
])
def test_bad_facet_requests(rest: RestClient, data: Any, body: dict[str, Any], status: int) -> None:
    name, _ = data
    assert rest.error("POST", f"/collections/{name}/facet", status, json=body)


def test_facet_missing_collection_is_404(rest: RestClient, collection_name: str) -> None:
    assert collection_name in rest.error("POST", f"/collections/{collection_name}/facet", 404, json={"key": "x"})
