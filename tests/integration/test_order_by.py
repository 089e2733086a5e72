"""Scroll with `order_by` over REST: range index required, asc / desc / start_from, one record per
array value, no next_page_offset, and the documented start_from + must_not has_id pagination
walking a collection with tied values; compared with qdrant-client local mode."""

from __future__ import annotations

import random
import uuid
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from helpers.rest import RestClient
from qdrant_client import QdrantClient, models

WAIT = {"wait": "true"}
N = 120
BASE_TIME = datetime(2024, 3, 1, tzinfo=timezone.utc)
INDEXES = {"rank": "integer", "score": "float", "ts": "datetime", "multi": "integer", "kw": "keyword", "flag": "bool"}


def micros(dt: datetime) -> int:
    return int(dt.timestamp()) * 1_000_000 + dt.microsecond


def make_points(n: int, seed: int) -> list[dict[str, Any]]:
    """Few distinct values (many ties); some points lack a key; `multi` holds distinct-valued arrays."""
    rng = random.Random(seed)
    ids: list[Any] = list(rng.sample(range(10 * n), n * 2 // 3))
    ids += [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(n - len(ids))]
    rng.shuffle(ids)
    points = []
    for i, pid in enumerate(ids):
        payload: dict[str, Any] = {"i": i, "kw": f"k{i % 4}", "flag": i % 3 == 0}
        if i % 10 != 9:
            payload["rank"] = rng.randrange(-3, 7)
        if i % 8 != 7:
            payload["score"] = rng.randrange(-8, 8) / 4
        payload["ts"] = (BASE_TIME + timedelta(hours=rng.randrange(0, 12))).strftime("%Y-%m-%dT%H:%M:%SZ")
        if i % 5 == 0:
            payload["multi"] = rng.sample(range(30), rng.randrange(1, 4))
        elif i % 5 == 1:
            payload["multi"] = rng.randrange(0, 30)
        points.append({"id": pid, "vector": [1.0, float(i % 7)], "payload": payload})
    return points


def create_indexed(rest: RestClient, name: str, points: list[dict[str, Any]], index_first: bool = True) -> None:
    assert rest.ok("PUT", f"/collections/{name}", json={"vectors": {"size": 2, "distance": "Dot"}}) is True

    def index() -> None:
        for key, schema in INDEXES.items():
            rest.ok("PUT", f"/collections/{name}/index", params=WAIT, json={"field_name": key, "field_schema": schema})

    if index_first:
        index()
    for start in range(0, len(points), 500):
        rest.ok("PUT", f"/collections/{name}/points", params=WAIT, json={"points": points[start:start + 500]})
    if not index_first:
        index()


def scroll(rest: RestClient, name: str, **body: Any) -> dict[str, Any]:
    return rest.ok("POST", f"/collections/{name}/points/scroll", json=body)  # type: ignore[no-any-return]


def expected_values(points: list[dict[str, Any]], key: str, direction: str = "asc", start_from: Any = None,
                    keep: Any = None) -> list[tuple[Any, Any]]:
    """(order value, id) of every value of `key` (arrays: one per element), in order; ties unordered."""
    pairs = []
    for p in points:
        if keep is not None and not keep(p):
            continue
        raw = p["payload"].get(key)
        if raw is None:
            continue
        for v in (raw if isinstance(raw, list) else [raw]):
            value = micros(datetime.strptime(v, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)) if key == "ts" else v
            if start_from is not None and (value < start_from if direction == "asc" else value > start_from):
                continue
            pairs.append((value, p["id"]))
    pairs.sort(key=lambda pair: pair[0], reverse=direction == "desc")
    return pairs


def assert_same_order(records: list[dict[str, Any]], full: list[tuple[Any, Any]]) -> None:
    """`records` are the first len(records) of `full` (every expected (value, id), in order):
    the same sequence of values, and per value the same ids (Qdrant leaves tie order open).
    The last value of the page may be cut, so its ids need only be some of that value's ids."""
    got = [(r["order_value"], r["id"]) for r in records]
    assert [v for v, _ in got] == [v for v, _ in full[:len(got)]]
    by_value_got: dict[Any, Counter[Any]] = defaultdict(Counter)
    by_value_want: dict[Any, Counter[Any]] = defaultdict(Counter)
    for v, i in got:
        by_value_got[v][i] += 1
    for v, i in full:
        by_value_want[v][i] += 1
    last = got[-1][0] if got else None
    for value, ids in by_value_got.items():
        if value == last:
            assert not (ids - by_value_want[value]), value
        else:
            assert ids == by_value_want[value], value


@pytest.fixture(scope="module")
def data(rest: RestClient, local: QdrantClient) -> tuple[str, list[dict[str, Any]]]:
    name = f"ord_{uuid.uuid4().hex[:10]}"
    points = make_points(N, seed=3)
    create_indexed(rest, name, points)
    local.create_collection(name, vectors_config=models.VectorParams(size=2, distance="Dot"))
    local.upsert(name, points=[models.PointStruct(**p) for p in points])
    return name, points


def local_ordered(local: QdrantClient, name: str, limit: int, order_by: Any, flt: Any = None) -> list[dict[str, Any]]:
    records, next_offset = local.scroll(
        name, limit=limit, order_by=order_by if isinstance(order_by, str) else models.OrderBy(**order_by),
        scroll_filter=None if flt is None else models.Filter.model_validate(flt),
    )
    assert next_offset is None
    return [{"id": r.id, "order_value": r.order_value, "payload": r.payload} for r in records]


# ---------------------------------------------------------------- ordering

@pytest.mark.parametrize("key", ["rank", "score", "ts", "multi"])
@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_order_by_full_collection(rest: RestClient, local: QdrantClient, data: Any, key: str, direction: str) -> None:
    name, points = data
    want = expected_values(points, key, direction)
    page = scroll(rest, name, limit=1000, order_by={"key": key, "direction": direction})
    assert page["next_page_offset"] is None
    assert len(page["points"]) == len(want)
    assert_same_order(page["points"], want)
    by_id = {p["id"]: p for p in points}
    for record in page["points"]:
        assert record["payload"] == by_id[record["id"]]["payload"]
    theirs = local_ordered(local, name, 1000, {"key": key, "direction": direction})
    assert_same_order(page["points"], [(r["order_value"], r["id"]) for r in theirs])


def test_order_values_have_the_index_type(rest: RestClient, data: Any) -> None:
    name, _ = data
    ints = scroll(rest, name, limit=50, order_by="rank")["points"]
    assert ints and all(type(r["order_value"]) is int for r in ints)
    floats = scroll(rest, name, limit=50, order_by="score")["points"]
    assert floats and all(isinstance(r["order_value"], (int, float)) for r in floats)
    times = scroll(rest, name, limit=50, order_by="ts")["points"]
    # a datetime orders by its timestamp in microseconds, as Qdrant and local mode report it
    assert times and all(type(r["order_value"]) is int for r in times)
    assert times[0]["order_value"] == micros(BASE_TIME)


def test_key_string_is_ascending_with_default_limit(rest: RestClient, data: Any) -> None:
    name, points = data
    page = scroll(rest, name, order_by="rank")
    assert page["next_page_offset"] is None
    assert len(page["points"]) == 10
    assert_same_order(page["points"], expected_values(points, "rank"))


@pytest.mark.parametrize("key,direction,start_from", [
    ("rank", "asc", 2), ("rank", "desc", 2), ("rank", "asc", 100), ("rank", "desc", -100),
    ("score", "asc", -0.5), ("score", "desc", 0.75), ("score", "asc", 0.3),
    ("ts", "asc", "2024-03-01T05:00:00Z"), ("ts", "desc", "2024-03-01T05:00:00Z"),
    ("multi", "asc", 17), ("multi", "desc", 12),
])
def test_start_from_is_inclusive_in_the_direction(rest: RestClient, local: QdrantClient, data: Any,
                                                   key: str, direction: str, start_from: Any) -> None:
    name, points = data
    bound = micros(datetime.fromisoformat(start_from.replace("Z", "+00:00"))) if key == "ts" else start_from
    want = expected_values(points, key, direction, bound)
    order_by = {"key": key, "direction": direction, "start_from": start_from}
    page = scroll(rest, name, limit=1000, order_by=order_by)
    assert page["next_page_offset"] is None
    assert len(page["points"]) == len(want)
    assert_same_order(page["points"], want)
    theirs = local_ordered(local, name, 1000, order_by)
    assert_same_order(page["points"], [(r["order_value"], r["id"]) for r in theirs])


def test_order_by_with_filter_and_limit(rest: RestClient, local: QdrantClient, data: Any) -> None:
    name, points = data
    flt = {"must": [{"key": "kw", "match": {"any": ["k1", "k2"]}}], "must_not": [{"key": "flag", "match": {"value": True}}]}
    keep = lambda p: p["payload"]["kw"] in ("k1", "k2") and not p["payload"]["flag"]
    for limit in (1, 5, 13, 1000):
        order_by = {"key": "score", "direction": "desc"}
        page = scroll(rest, name, limit=limit, filter=flt, order_by=order_by)
        want = expected_values(points, "score", "desc", keep=keep)
        assert len(page["points"]) == min(limit, len(want))
        assert_same_order(page["points"], want)
        assert page["next_page_offset"] is None
        theirs = local_ordered(local, name, limit, order_by, flt)
        assert [r["order_value"] for r in page["points"]] == [r["order_value"] for r in theirs]


def test_array_values_yield_the_point_once_per_value(rest: RestClient, collection_name: str) -> None:
    rest.ok("PUT", f"/collections/{collection_name}", json={"vectors": {"size": 2, "distance": "Dot"}})
    rest.ok("PUT", f"/collections/{collection_name}/index", params=WAIT, json={"field_name": "t", "field_schema": "integer"})
    rest.ok("PUT", f"/collections/{collection_name}/points", params=WAIT, json={"points": [
        {"id": 1, "vector": [1, 0], "payload": {"t": [30, 10, 20]}},
        {"id": 2, "vector": [1, 0], "payload": {"t": 15}},
        {"id": 3, "vector": [1, 0], "payload": {"t": []}},
        {"id": 4, "vector": [1, 0], "payload": {"other": 1}},
    ]})
    page = scroll(rest, collection_name, limit=10, order_by="t", with_payload=False)
    assert [(r["id"], r["order_value"]) for r in page["points"]] == [(1, 10), (2, 15), (1, 20), (1, 30)]
    page = scroll(rest, collection_name, limit=10, order_by={"key": "t", "direction": "desc", "start_from": 25})
    assert [(r["id"], r["order_value"]) for r in page["points"]] == [(1, 20), (2, 15), (1, 10)]


def test_order_by_returns_vectors_and_payload_as_asked(rest: RestClient, data: Any) -> None:
    name, points = data
    by_id = {p["id"]: p for p in points}
    page = scroll(rest, name, limit=5, order_by="rank", with_payload=["i"], with_vector=True)
    for record in page["points"]:
        assert record["payload"] == {"i": by_id[record["id"]]["payload"]["i"]}
        assert record["vector"] == by_id[record["id"]]["vector"]


# ---------------------------------------------------------------- documented pagination pattern

def walk(rest: RestClient, name: str, key: str, direction: str, limit: int, flt: dict[str, Any] | None = None) -> list[tuple[Any, Any]]:
    """Qdrant's recipe: start_from = the last value seen, and must_not has_id of every id already
    returned with that value."""
    out: list[tuple[Any, Any]] = []
    last_value: Any = None
    ids_at_last: list[Any] = []
    for _ in range(10000):
        order_by: dict[str, Any] = {"key": key, "direction": direction}
        body_filter = dict(flt or {})
        if last_value is not None:
            order_by["start_from"] = last_value
            body_filter["must_not"] = list(body_filter.get("must_not", [])) + [{"has_id": ids_at_last}]
        page = scroll(rest, name, limit=limit, order_by=order_by, filter=body_filter or None, with_payload=False)
        assert page["next_page_offset"] is None
        if not page["points"]:
            return out
        for record in page["points"]:
            out.append((record["order_value"], record["id"]))
            if record["order_value"] == last_value:
                ids_at_last.append(record["id"])
            else:
                last_value, ids_at_last = record["order_value"], [record["id"]]
    raise AssertionError("pagination did not terminate")


@pytest.mark.parametrize("key", ["rank", "score"])
@pytest.mark.parametrize("direction", ["asc", "desc"])
@pytest.mark.parametrize("limit", [1, 4, 7, 50])
def test_documented_pagination_walks_everything_once(rest: RestClient, data: Any, key: str, direction: str, limit: int) -> None:
    name, points = data
    got = walk(rest, name, key, direction, limit)
    want = expected_values(points, key, direction)
    assert len(got) == len(want)
    assert Counter(got) == Counter(want)  # no loss, no duplicates
    values = [v for v, _ in got]
    assert values == sorted(values, reverse=direction == "desc")


def test_documented_pagination_with_a_filter(rest: RestClient, data: Any) -> None:
    name, points = data
    flt = {"must": [{"key": "kw", "match": {"value": "k3"}}], "must_not": [{"key": "rank", "range": {"gt": 4}}]}
    keep = lambda p: p["payload"]["kw"] == "k3" and not (p["payload"].get("rank", -99) > 4)
    got = walk(rest, name, "rank", "asc", 3, flt)
    assert Counter(got) == Counter(expected_values(points, "rank", keep=keep))
    assert len(got) == len(set(got))


def test_documented_pagination_across_segments(rest: RestClient, collection_name: str) -> None:
    """2400 points over several segments, the index built after the data, only 5 distinct values."""
    rng = random.Random(8)
    points = [{"id": i, "vector": [1.0, 0.0], "payload": {"v": rng.randrange(5)}} for i in range(2400)]
    rest.ok("PUT", f"/collections/{collection_name}", json={"vectors": {"size": 2, "distance": "Dot"}})
    for start in range(0, len(points), 800):
        rest.ok("PUT", f"/collections/{collection_name}/points", params=WAIT, json={"points": points[start:start + 800]})
    rest.ok("PUT", f"/collections/{collection_name}/index", params=WAIT, json={"field_name": "v", "field_schema": "integer"})
    # move some points between segments after indexing: a payload change and a re-upsert
    rest.ok("POST", f"/collections/{collection_name}/points/payload", params=WAIT,
            json={"payload": {"v": 2}, "points": list(range(0, 2400, 37))})
    for i in range(0, 2400, 37):
        points[i]["payload"]["v"] = 2
    rest.ok("PUT", f"/collections/{collection_name}/points", params=WAIT, json={"points": points[100:130]})
    got = walk(rest, collection_name, "v", "desc", 300)
    assert len(got) == 2400
    assert sorted(i for _, i in got) == list(range(2400))
    assert all(p["payload"]["v"] == v for v, p in ((v, points[i]) for v, i in got))


# ---------------------------------------------------------------- errors

@pytest.mark.parametrize("key", ["kw", "flag", "unindexed", "i"])
def test_order_by_needs_a_range_index(rest: RestClient, data: Any, key: str) -> None:
    name, _ = data
    message = rest.error("POST", f"/collections/{name}/points/scroll", 400, json={"order_by": key})
    assert key in message
    message = rest.error("POST", f"/collections/{name}/points/scroll", 400, json={"order_by": {"key": key, "direction": "desc"}})
    assert key in message


def test_order_by_index_removed_is_400(rest: RestClient, collection_name: str) -> None:
    rest.ok("PUT", f"/collections/{collection_name}", json={"vectors": {"size": 2, "distance": "Dot"}})
    rest.ok("PUT", f"/collections/{collection_name}/index", params=WAIT, json={"field_name": "x", "field_schema": "float"})
    rest.ok("PUT", f"/collections/{collection_name}/points", params=WAIT, json={"points": [{"id": 1, "vector": [1, 0], "payload": {"x": 1.5}}]})
    assert [r["order_value"] for r in scroll(rest, collection_name, order_by="x")["points"]] == [1.5]
    rest.ok("DELETE", f"/collections/{collection_name}/index/x", params=WAIT)
    rest.error("POST", f"/collections/{collection_name}/points/scroll", 400, json={"order_by": "x"})


def test_offset_with_order_by_is_400(rest: RestClient, data: Any) -> None:
    """Qdrant: "Cannot use an `offset` when using `order_by`" (start_from + has_id is the way)."""
    name, points = data
    message = rest.error("POST", f"/collections/{name}/points/scroll", 400, json={"order_by": "rank", "offset": points[0]["id"]})
    assert "offset" in message


@pytest.mark.parametrize("order_by", [
    {"key": "rank", "direction": "up"},
    {"direction": "asc"},
    {"key": "rank", "start_from": "yesterday"},
    {"key": "rank", "start_from": [1]},
    17,
])
def test_malformed_order_by_is_400(rest: RestClient, data: Any, order_by: Any) -> None:
    name, _ = data
    rest.error("POST", f"/collections/{name}/points/scroll", 400, json={"order_by": order_by})
