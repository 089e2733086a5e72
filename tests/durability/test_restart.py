"""Restarts keep collections, points, named/sparse/multi vectors, payload indexes and aliases."""

from __future__ import annotations

import json
import random
from typing import Any, Callable

import pytest

from durability_support import exact_count, retrieve_all, scroll_ids, try_keyword_index
from helpers.rest import RestClient
from helpers.server import ServerProcess
from helpers.vectors import assert_vec_equal

# A flush interval longer than any test: what survives a clean stop was flushed by the
# shutdown itself, and what survives kill -9 came from the WAL.
NO_FLUSH = {"PYDRANT__STORAGE__FLUSH_INTERVAL_SEC": "3600"}
# More points than one small growth step of any in-memory structure.
POINTS = 60

MIXED_CONFIG: dict[str, Any] = {
    "vectors": {
        "image": {"size": 4, "distance": "Dot"},
        "text": {"size": 6, "distance": "Euclid"},
        "colbert": {"size": 3, "distance": "Dot", "multivector_config": {"comparator": "max_sim"}},
    },
    "sparse_vectors": {"words": {}, "bm25": {"modifier": "idf"}},
}


def _mixed_point(point_id: int, rng: random.Random) -> dict[str, Any]:
    def dense(n: int) -> list[float]:
        return [float(rng.randint(-8, 8)) / 4 for _ in range(n)]

    vector: dict[str, Any] = {"image": dense(4), "text": dense(6)}
    if point_id % 3:  # some points without the optional vectors
        vector["colbert"] = [dense(3) for _ in range(rng.randint(1, 3))]
        indices = sorted(rng.sample(range(1000), rng.randint(1, 5)))
        vector["words"] = {"indices": indices, "values": [float(rng.randint(1, 9)) / 8 for _ in indices]}
        vector["bm25"] = {"indices": indices[:2], "values": [1.0] * len(indices[:2])}
    payload = {"n": point_id, "group": f"g{point_id % 4}", "nested": {"list": [point_id, "x"], "flag": point_id % 2 == 0}}
    return {"id": point_id, "vector": vector, "payload": payload}


def _assert_sparse_equal(actual: Any, expected: dict[str, Any]) -> None:
    assert isinstance(actual, dict), f"sparse vector missing or malformed: {actual!r}"
    pairs = sorted(zip(actual["indices"], actual["values"]))
    assert [i for i, _ in pairs] == expected["indices"]
    assert_vec_equal([v for _, v in pairs], expected["values"])


def _assert_mixed_points(rest: RestClient, name: str, expected: dict[int, dict[str, Any]]) -> None:
    found = retrieve_all(rest, name, list(expected))
    assert set(found) == set(expected), f"missing {sorted(set(expected) - set(found))}"
    for point_id, point in expected.items():
        record = found[point_id]
        assert record["payload"] == point["payload"], f"point {point_id}"
        vectors = record["vector"]
        assert set(vectors) == set(point["vector"]), f"point {point_id}: vector names {sorted(vectors)}"
        for vname, value in point["vector"].items():
            if vname in ("words", "bm25"):
                _assert_sparse_equal(vectors[vname], value)
            elif vname == "colbert":
                assert len(vectors[vname]) == len(value)
                for got_row, want_row in zip(vectors[vname], value):
                    assert_vec_equal(got_row, want_row)
            else:
                assert_vec_equal(vectors[vname], value)
    assert exact_count(rest, name) == len(expected)
    assert sorted(scroll_ids(rest, name)) == sorted(expected)


def _info(rest: RestClient, name: str) -> dict[str, Any]:
    return rest.ok("GET", f"/collections/{name}")  # type: ignore[no-any-return]


def test_clean_restart_keeps_named_sparse_and_multi_vectors(server_factory: Callable[..., ServerProcess]) -> None:
    server = server_factory(env=NO_FLUSH)
    rest = RestClient(server.url)
    rest.ok("PUT", "/collections/mixed", json=MIXED_CONFIG)
    rng = random.Random(11)
    expected = {i: _mixed_point(i, rng) for i in range(1, POINTS + 1)}
    points = list(expected.values())
    rest.ok("PUT", "/collections/mixed/points", params={"wait": "true"}, json={"points": points[:40]})
    # The last writes are only acknowledged when SIGTERM arrives: shutdown must apply and flush them.
    for start in range(40, POINTS, 5):
        result = rest.ok("PUT", "/collections/mixed/points", params={"wait": "false"}, json={"points": points[start:start + 5]})
        assert result["status"] in ("acknowledged", "completed")
    config_before = _info(rest, "mixed")["config"]
    rest.close()

    assert server.stop() == 0
    server.start()
    rest = RestClient(server.url)
    assert _info(rest, "mixed")["config"] == config_before
    _assert_mixed_points(rest, "mixed", expected)
    rest.close()


def test_restart_after_restart_with_changes_in_between(server_factory: Callable[..., ServerProcess]) -> None:
    server = server_factory(env=NO_FLUSH)
    rest = RestClient(server.url)
    rest.ok("PUT", "/collections/again", json={"vectors": {"size": 3, "distance": "Euclid"}})
    expected: dict[int, dict[str, Any]] = {}

    def upsert(ids: range) -> None:
        points = [{"id": i, "vector": [float(i), 1.0, -float(i)], "payload": {"n": i}} for i in ids]
        rest.ok("PUT", "/collections/again/points", params={"wait": "true"}, json={"points": points})
        expected.update({p["id"]: p for p in points})

    def check(where: str) -> None:
        found = retrieve_all(rest, "again", list(range(0, 400)))
        assert set(found) == set(expected), (
            f"{where}: missing {sorted(set(expected) - set(found))[:20]}, extra {sorted(set(found) - set(expected))[:20]}"
        )
        for point_id, point in expected.items():
            assert found[point_id]["payload"] == point["payload"], f"{where}: payload of {point_id}"
            assert_vec_equal(found[point_id]["vector"], point["vector"])
        assert exact_count(rest, "again") == len(expected), where
        assert sorted(scroll_ids(rest, "again")) == sorted(expected), where

    upsert(range(0, 100))
    for cycle in range(2):
        rest.close()
        assert server.stop() == 0
        server.start()
        rest = RestClient(server.url)
        check(f"after clean restart {cycle}")
        # Change flushed state: delete, overwrite, set payload, add new points.
        doomed = list(range(cycle * 10, cycle * 10 + 5))
        rest.ok("POST", "/collections/again/points/delete", params={"wait": "true"}, json={"points": doomed})
        for point_id in doomed:
            del expected[point_id]
        upsert(range(100 + cycle * 50, 150 + cycle * 50))
        changed = [i for i in list(expected)[:7]]
        rest.ok("POST", "/collections/again/points/payload", params={"wait": "true"},
                json={"payload": {"cycle": cycle}, "points": changed})
        for point_id in changed:
            expected[point_id] = {**expected[point_id], "payload": {**expected[point_id]["payload"], "cycle": cycle}}
        check(f"before restart {cycle + 1}")
    # And a restart with nothing new since the last one.
    rest.close()
    assert server.stop() == 0
    server.start()
    assert server.stop() == 0
    server.start()
    rest = RestClient(server.url)
    check("after two restarts without writes")
    rest.close()


def test_payload_index_survives_restart(server_factory: Callable[..., ServerProcess]) -> None:
    server = server_factory(env=NO_FLUSH)
    rest = RestClient(server.url)
    rest.ok("PUT", "/collections/indexed", json={"vectors": {"size": 2, "distance": "Dot"}})
    points = [{"id": i, "vector": [1.0, float(i)], "payload": {"color": ["red", "green", "blue"][i % 3], "n": i}} for i in range(POINTS)]
    rest.ok("PUT", "/collections/indexed/points", params={"wait": "true"}, json={"points": points})
    problem = try_keyword_index(rest, "indexed", "color")
    assert problem is None, problem
    red = {"must": [{"key": "color", "match": {"value": "red"}}]}
    schema_before = _info(rest, "indexed")["payload_schema"]
    assert "color" in schema_before
    assert exact_count(rest, "indexed", red) == POINTS // 3
    rest.close()

    for hard in (False, True):  # clean stop (index in the manifest) and kill -9 (after a flush)
        server.restart(hard=hard)
        rest = RestClient(server.url)
        assert _info(rest, "indexed")["payload_schema"] == schema_before, f"hard={hard}"
        assert exact_count(rest, "indexed", red) == POINTS // 3, f"hard={hard}"
        rest.close()


def test_payload_index_created_after_last_flush_survives_kill9(server_factory: Callable[..., ServerProcess]) -> None:
    server = server_factory(env=NO_FLUSH)
    rest = RestClient(server.url)
    rest.ok("PUT", "/collections/walindex", json={"vectors": {"size": 2, "distance": "Dot"}})
    points = [{"id": i, "vector": [1.0, float(i)], "payload": {"color": ["red", "green"][i % 2]}} for i in range(POINTS)]
    rest.ok("PUT", "/collections/walindex/points", params={"wait": "true"}, json={"points": points})
    problem = try_keyword_index(rest, "walindex", "color")
    assert problem is None, problem
    schema_before = _info(rest, "walindex")["payload_schema"]
    rest.close()
    server.restart(hard=True)  # the index exists only as a WAL record
    rest = RestClient(server.url)
    assert _info(rest, "walindex")["payload_schema"] == schema_before
    assert exact_count(rest, "walindex", {"must": [{"key": "color", "match": {"value": "green"}}]}) == POINTS // 2
    rest.close()


@pytest.mark.parametrize("hard", [False, True], ids=["sigterm", "kill9"])
def test_deleted_collection_stays_deleted_and_aliases_survive(server_factory: Callable[..., ServerProcess], hard: bool) -> None:
    server = server_factory(env=NO_FLUSH)
    rest = RestClient(server.url)
    for name in ("keep", "drop", "other"):
        rest.ok("PUT", f"/collections/{name}", json={"vectors": {"size": 2, "distance": "Dot"}})
        rest.ok("PUT", f"/collections/{name}/points", params={"wait": "true"},
                json={"points": [{"id": i, "vector": [1.0, float(i)], "payload": {"owner": name}} for i in range(20)]})
    rest.ok("POST", "/collections/aliases", json={"actions": [
        {"create_alias": {"collection_name": "keep", "alias_name": "k1"}},
        {"create_alias": {"collection_name": "keep", "alias_name": "k_old"}},
        {"create_alias": {"collection_name": "drop", "alias_name": "d1"}},
        {"create_alias": {"collection_name": "other", "alias_name": "o1"}},
    ]})
    rest.ok("POST", "/collections/aliases", json={"actions": [
        {"rename_alias": {"old_alias_name": "k_old", "new_alias_name": "k2"}},
        {"delete_alias": {"alias_name": "o1"}},
    ]})
    assert rest.ok("DELETE", "/collections/drop") is True
    aliases_before = rest.ok("GET", "/aliases")["aliases"]
    assert sorted(a["alias_name"] for a in aliases_before) == ["k1", "k2"]
    rest.close()

    server.restart(hard=hard)
    rest = RestClient(server.url)
    names = sorted(c["name"] for c in rest.ok("GET", "/collections")["collections"])
    assert names == ["keep", "other"]
    assert rest.ok("GET", "/collections/drop/exists")["exists"] is False
    rest.error("GET", "/collections/d1", 404)
    assert sorted(rest.ok("GET", "/aliases")["aliases"], key=lambda a: a["alias_name"]) == sorted(
        aliases_before, key=lambda a: a["alias_name"])
    for alias in ("k1", "k2"):  # aliases still route to their collection
        assert exact_count(rest, alias) == 20
        record = rest.ok("GET", f"/collections/{alias}/points/3")
        assert record["payload"] == {"owner": "keep"}
    # Re-creating the deleted name starts empty: nothing of the old collection comes back.
    rest.ok("PUT", "/collections/drop", json={"vectors": {"size": 2, "distance": "Dot"}})
    assert exact_count(rest, "drop") == 0
    rest.close()
    server.restart(hard=hard)
    rest = RestClient(server.url)
    assert exact_count(rest, "drop") == 0
    assert sorted(c["name"] for c in rest.ok("GET", "/collections")["collections"]) == ["drop", "keep", "other"]
    rest.close()


@pytest.mark.parametrize("hard", [False, True])
def test_built_index_survives_restart(server_factory: Callable[..., ServerProcess], hard: bool) -> None:
    """The optimizer's swap lands after a periodic flush has written every point: nothing is
    left dirty, and the flush after the swap must still record the new segment set. A restart
    then comes back green with the built graph, instead of optimizing everything again."""
    from helpers.server import wait_until

    server = server_factory(env={"PYDRANT__STORAGE__FLUSH_INTERVAL_SEC": "0.2"})
    rest = RestClient(server.url)
    rest.ok("PUT", "/collections/built", json={"vectors": {"size": 8, "distance": "Cosine"},
                                              "optimizers_config": {"indexing_threshold": 1}})
    rng = random.Random(5)
    for start in range(0, 3000, 1000):
        ids = list(range(start, start + 1000))
        rest.ok("PUT", "/collections/built/points", params={"wait": "true"}, json={"batch": {
            "ids": ids, "vectors": [[rng.uniform(-1, 1) for _ in range(8)] for _ in ids]}})
    wait_until(lambda: _info(rest, "built")["status"] == "green", 120, 0.05, "the built index")
    built = _info(rest, "built")
    assert built["indexed_vectors_count"] == 3000
    if hard:
        # kill -9 only once the flush queued by the swap has run: the manifest then names the
        # optimizer's segment, the last id it reserved.
        def manifest_names_the_built_segment() -> bool:
            doc = json.loads(next((server.storage_dir / "collections").glob("*/manifest.json")).read_text())
            return max(e["id"] for e in doc["segments"]) == doc["next_segment_id"] - 1

        wait_until(manifest_names_the_built_segment, 30, 0.05, "the manifest naming the built segment")
    rest.close()
    server.restart(hard=hard)
    rest = RestClient(server.url)
    again = _info(rest, "built")
    assert again["status"] == "green"
    assert (again["indexed_vectors_count"], again["segments_count"]) == (3000, built["segments_count"])
    assert exact_count(rest, "built") == 3000
    rest.close()
