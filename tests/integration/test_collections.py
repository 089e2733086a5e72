"""Collections over REST and qdrant-client: create (every vector kind), info, list, exists, update, delete."""

from __future__ import annotations

from typing import Any

import pytest
from qdrant_client import models

from helpers.rest import RestClient

DISTANCES = ["Cosine", "Euclid", "Dot", "Manhattan"]


def create(rest: RestClient, name: str, body: dict[str, Any]) -> None:
    assert rest.ok("PUT", f"/collections/{name}", json=body) is True


def info(rest: RestClient, name: str) -> dict[str, Any]:
    return rest.ok("GET", f"/collections/{name}")  # type: ignore[no-any-return]


def assert_subset(expected: dict[str, Any], actual: dict[str, Any], where: str = "") -> None:
    """Every key given at creation is reported back with the same value (defaults may be added)."""
    for key, value in expected.items():
        assert key in actual, f"{where}{key} missing from {actual}"
        if isinstance(value, dict):
            assert isinstance(actual[key], dict), f"{where}{key}: {actual[key]!r}"
            assert_subset(value, actual[key], f"{where}{key}.")
        else:
            assert actual[key] == value, f"{where}{key}: expected {value!r}, got {actual[key]!r}"


@pytest.mark.parametrize("distance", DISTANCES)
def test_create_single_unnamed_vector_each_distance(rest: RestClient, collection_name: str, distance: str) -> None:
    create(rest, collection_name, {"vectors": {"size": 4, "distance": distance}})
    got = info(rest, collection_name)
    assert got["status"] == "green"
    assert got["optimizer_status"] == "ok"
    assert got["points_count"] == 0
    assert got["indexed_vectors_count"] == 0
    assert got["segments_count"] >= 1
    assert got["payload_schema"] == {}
    assert_subset({"size": 4, "distance": distance}, got["config"]["params"]["vectors"])


def test_create_named_vectors_map(rest: RestClient, collection_name: str) -> None:
    vectors = {
        "image": {"size": 4, "distance": "Dot"},
        "text": {"size": 8, "distance": "Cosine", "on_disk": True},
    }
    create(rest, collection_name, {"vectors": vectors})
    reported = info(rest, collection_name)["config"]["params"]["vectors"]
    assert set(reported) == {"image", "text"}
    assert_subset(vectors, reported)


def test_create_sparse_vectors(rest: RestClient, collection_name: str) -> None:
    create(rest, collection_name, {
        "vectors": {},
        "sparse_vectors": {"text": {}, "idf": {"modifier": "idf"}},
    })
    params = info(rest, collection_name)["config"]["params"]
    assert set(params["sparse_vectors"]) == {"text", "idf"}
    assert params["sparse_vectors"]["idf"]["modifier"] == "idf"
    assert params.get("vectors", {}) == {}


def test_create_multivector_max_sim(rest: RestClient, collection_name: str) -> None:
    vectors = {"colbert": {"size": 3, "distance": "Cosine", "multivector_config": {"comparator": "max_sim"}}}
    create(rest, collection_name, {"vectors": vectors})
    assert_subset(vectors, info(rest, collection_name)["config"]["params"]["vectors"])


@pytest.mark.parametrize("datatype", ["float32", "float16", "uint8"])
def test_create_with_datatype(rest: RestClient, collection_name: str, datatype: str) -> None:
    create(rest, collection_name, {"vectors": {"size": 4, "distance": "Dot", "datatype": datatype}})
    assert info(rest, collection_name)["config"]["params"]["vectors"]["datatype"] == datatype


def test_configs_are_reported_back_as_given(rest: RestClient, collection_name: str) -> None:
    hnsw = {"m": 32, "ef_construct": 123, "full_scan_threshold": 5000, "on_disk": False}
    optimizers = {"deleted_threshold": 0.3, "vacuum_min_vector_number": 500,
                  "default_segment_number": 1, "indexing_threshold": 12000, "flush_interval_sec": 7}
    wal = {"wal_capacity_mb": 64, "wal_segments_ahead": 2}
    quant = {"scalar": {"type": "int8", "quantile": 0.99, "always_ram": True}}
    create(rest, collection_name, {
        "vectors": {"size": 4, "distance": "Cosine", "on_disk": True},
        "hnsw_config": hnsw, "optimizers_config": optimizers, "wal_config": wal,
        "quantization_config": quant, "on_disk_payload": True,
    })
    config = info(rest, collection_name)["config"]
    assert_subset(hnsw, config["hnsw_config"])
    assert_subset(optimizers, config["optimizer_config"])
    assert_subset(wal, config["wal_config"])
    assert_subset(quant, config["quantization_config"])
    assert config["params"]["vectors"]["on_disk"] is True
    assert config["params"]["on_disk_payload"] is True


def test_list_and_exists(rest: RestClient, collection_name: str) -> None:
    assert rest.ok("GET", f"/collections/{collection_name}/exists") == {"exists": False}
    names = {c["name"] for c in rest.ok("GET", "/collections")["collections"]}
    assert collection_name not in names
    create(rest, collection_name, {"vectors": {"size": 2, "distance": "Dot"}})
    assert rest.ok("GET", f"/collections/{collection_name}/exists") == {"exists": True}
    names = {c["name"] for c in rest.ok("GET", "/collections")["collections"]}
    assert collection_name in names


@pytest.mark.parametrize("name", ["\t", "name\twith\ttabs", "line\nbreak", "del\x7f"])
def test_names_with_control_characters_are_refused(rest: RestClient, name: str) -> None:
    from urllib.parse import quote

    path = f"/collections/{quote(name)}"
    assert "control characters" in rest.error("GET", f"{path}/exists", 422)
    assert "control characters" in rest.error("PUT", path, 422, json={"vectors": {"size": 2, "distance": "Dot"}})
    assert name not in {c["name"] for c in rest.ok("GET", "/collections")["collections"]}


def test_null_settings_keep_their_defaults(rest: RestClient, collection_name: str) -> None:
    """A null in a config diff leaves the setting as it was (its default at creation), as in
    Qdrant; a null WAL capacity was a 500 that left an unopenable collection behind."""
    create(rest, collection_name, {
        "vectors": {"size": 4, "distance": "Dot", "on_disk": None, "hnsw_config": {"m": None}},
        "wal_config": {"wal_capacity_mb": None}, "hnsw_config": {"m": None, "ef_construct": 50},
        "optimizers_config": {"indexing_threshold": None}})
    config = info(rest, collection_name)["config"]
    assert config["wal_config"]["wal_capacity_mb"] == 32
    assert config["hnsw_config"]["m"] == 16 and config["hnsw_config"]["ef_construct"] == 50
    assert config["optimizer_config"]["indexing_threshold"] is not None
    assert config["params"]["vectors"] == {"size": 4, "distance": "Dot", "hnsw_config": {}}
    rest.ok("PATCH", f"/collections/{collection_name}", json={
        "hnsw_config": {"m": None, "ef_construct": 64}, "optimizers_config": {"indexing_threshold": None},
        "vectors": {"": {"quantization_config": {"scalar": {"type": "int8"}}}}})
    config = info(rest, collection_name)["config"]
    assert config["hnsw_config"]["m"] == 16 and config["hnsw_config"]["ef_construct"] == 64
    assert config["params"]["vectors"]["quantization_config"] == {"scalar": {"type": "int8"}}
    rest.ok("PATCH", f"/collections/{collection_name}", json={"vectors": {"": {"quantization_config": "Disabled"}}})
    assert "quantization_config" not in info(rest, collection_name)["config"]["params"]["vectors"]
    rest.ok("PUT", f"/collections/{collection_name}/points", params={"wait": "true"},
            json={"points": [{"id": i, "vector": [1.0, 0.0, 0.0, float(i)]} for i in range(3)]})


def test_dimension_limit(rest: RestClient, collection_name: str) -> None:
    message = rest.error("PUT", f"/collections/{collection_name}", 422, json={"vectors": {"size": 65537, "distance": "Dot"}})
    assert message == "Validation error in JSON body: [vectors.size: value 65537 invalid, must be from 1 to 65536]"
    message = rest.error("PUT", f"/collections/{collection_name}", 422, json={"vectors": {"v": {"size": 70000, "distance": "Dot"}}})
    assert "vectors.v.size: value 70000 invalid, must be from 1 to 65536" in message
    create(rest, collection_name, {"vectors": {"size": 65536, "distance": "Dot"}})


def test_memory_placement_is_kept_and_reported(rest: RestClient, collection_name: str) -> None:
    """pydrant holds everything in RAM, but keeps and reports each component's `memory` as
    given; `pinned` is refused for dense vectors and payloads, which Qdrant cannot pin."""
    path = f"/collections/{collection_name}"
    create(rest, collection_name, {"vectors": {"size": 4, "distance": "Dot"}})
    assert "payload" not in info(rest, collection_name)["config"]["params"]  # never set: not reported
    rest.ok("DELETE", path)
    create(rest, collection_name, {
        "vectors": {"size": 4, "distance": "Dot", "memory": "cached", "hnsw_config": {"memory": "cold"},
                    "quantization_config": {"scalar": {"type": "int8", "memory": "pinned"}}},
        "sparse_vectors": {"sparse": {"index": {"memory": "cold"}}},
        "payload": {"memory": "cached"},
    })
    params = info(rest, collection_name)["config"]["params"]
    assert params["vectors"]["memory"] == "cached" and params["vectors"]["hnsw_config"]["memory"] == "cold"
    assert params["vectors"]["quantization_config"]["scalar"]["memory"] == "pinned"
    assert params["sparse_vectors"]["sparse"]["index"]["memory"] == "cold"
    assert params["payload"] == {"memory": "cached"}
    rest.ok("PATCH", path, json={"vectors": {"": {"memory": "cold"}}, "params": {"payload": {"memory": "cold"}}})
    params = info(rest, collection_name)["config"]["params"]
    assert params["vectors"]["memory"] == "cold" and params["payload"] == {"memory": "cold"}
    for body in ({"vectors": {"": {"memory": "pinned"}}}, {"params": {"payload": {"memory": "pinned"}}}):
        assert "pinned" in rest.error("PATCH", path, 422, json=body)
    params = info(rest, collection_name)["config"]["params"]
    assert params["vectors"]["memory"] == "cold" and params["payload"] == {"memory": "cold"}  # unchanged
    other = collection_name + "_b"
    for body in ({"vectors": {"size": 4, "distance": "Dot", "memory": "pinned"}},
                 {"vectors": {"size": 4, "distance": "Dot"}, "payload": {"memory": "pinned"}}):
        assert "pinned" in rest.error("PUT", f"/collections/{other}", 422, json=body)
    assert rest.ok("GET", f"/collections/{other}/exists") == {"exists": False}


def test_quantization_is_an_alias_of_quantization_config(rest: RestClient, collection_name: str) -> None:
    create(rest, collection_name, {"vectors": {"size": 4, "distance": "Dot"},
                                   "quantization": {"scalar": {"type": "int8", "quantile": 0.5}}})
    assert info(rest, collection_name)["config"]["quantization_config"] == {"scalar": {"type": "int8", "quantile": 0.5}}


def test_delete_collection(rest: RestClient, collection_name: str) -> None:
    create(rest, collection_name, {"vectors": {"size": 2, "distance": "Dot"}})
    assert rest.ok("DELETE", f"/collections/{collection_name}") is True
    assert rest.ok("GET", f"/collections/{collection_name}/exists") == {"exists": False}
    msg = rest.error("GET", f"/collections/{collection_name}", 404)
    assert msg == f"Not found: Collection `{collection_name}` doesn't exist!"


def test_delete_missing_collection_answers_false(rest: RestClient, collection_name: str) -> None:
    # Qdrant's table of contents answers Ok(false) when nothing was removed.
    assert rest.ok("DELETE", f"/collections/{collection_name}") is False


def test_create_existing_collection_is_409(rest: RestClient, collection_name: str) -> None:
    create(rest, collection_name, {"vectors": {"size": 2, "distance": "Dot"}})
    msg = rest.error("PUT", f"/collections/{collection_name}", 409,
                     json={"vectors": {"size": 3, "distance": "Cosine"}})
    assert msg == f"Wrong input: Collection `{collection_name}` already exists!"
    # The original collection is untouched.
    assert info(rest, collection_name)["config"]["params"]["vectors"]["size"] == 2


def test_recreate_after_delete_starts_empty(rest: RestClient, collection_name: str) -> None:
    create(rest, collection_name, {"vectors": {"size": 2, "distance": "Dot"}})
    rest.ok("PUT", f"/collections/{collection_name}/points", params={"wait": "true"},
            json={"points": [{"id": 1, "vector": [1.0, 0.0]}]})
    rest.ok("DELETE", f"/collections/{collection_name}")
    create(rest, collection_name, {"vectors": {"size": 3, "distance": "Dot"}})
    assert info(rest, collection_name)["points_count"] == 0
    rest.error("GET", f"/collections/{collection_name}/points/1", 404)


def test_patch_optimizers_and_params(rest: RestClient, collection_name: str) -> None:
    create(rest, collection_name, {"vectors": {"size": 2, "distance": "Dot"}, "on_disk_payload": False})
    assert rest.ok("PATCH", f"/collections/{collection_name}", json={
        "optimizers_config": {"indexing_threshold": 5000, "deleted_threshold": 0.5},
        "params": {"on_disk_payload": True},
        "hnsw_config": {"m": 8},
    }) is True
    config = info(rest, collection_name)["config"]
    assert config["optimizer_config"]["indexing_threshold"] == 5000
    assert config["optimizer_config"]["deleted_threshold"] == 0.5
    assert config["params"]["on_disk_payload"] is True
    assert config["hnsw_config"]["m"] == 8
    # Fields not mentioned keep their values.
    assert config["hnsw_config"]["ef_construct"] == 100


def test_patch_missing_collection_is_404(rest: RestClient, collection_name: str) -> None:
    msg = rest.error("PATCH", f"/collections/{collection_name}", 404,
                     json={"optimizers_config": {"indexing_threshold": 1}})
    assert msg == f"Not found: Collection `{collection_name}` doesn't exist!"


def test_points_count_follows_writes(rest: RestClient, collection_name: str) -> None:
    create(rest, collection_name, {"vectors": {"size": 2, "distance": "Dot"}})
    rest.ok("PUT", f"/collections/{collection_name}/points", params={"wait": "true"},
            json={"points": [{"id": i, "vector": [float(i), 1.0]} for i in range(5)]})
    assert info(rest, collection_name)["points_count"] == 5
    rest.ok("POST", f"/collections/{collection_name}/points/delete", params={"wait": "true"},
            json={"points": [0, 1]})
    assert info(rest, collection_name)["points_count"] == 3


def test_create_and_delete_named_vector(rest: RestClient, collection_name: str) -> None:
    create(rest, collection_name, {"vectors": {"image": {"size": 2, "distance": "Dot"}}})
    rest.ok("PUT", f"/collections/{collection_name}/points", params={"wait": "true"},
            json={"points": [{"id": 1, "vector": {"image": [1.0, 2.0]}}]})
    res = rest.ok("PUT", f"/collections/{collection_name}/vectors/text", params={"wait": "true"},
                  json={"dense": {"size": 3, "distance": "Cosine"}})
    assert res["status"] == "completed"
    vectors = info(rest, collection_name)["config"]["params"]["vectors"]
    assert set(vectors) == {"image", "text"}
    assert_subset({"size": 3, "distance": "Cosine"}, vectors["text"])
    # The new vector is usable at once; existing points simply lack it.
    rest.ok("PUT", f"/collections/{collection_name}/points/vectors", params={"wait": "true"},
            json={"points": [{"id": 1, "vector": {"text": [0.0, 3.0, 4.0]}}]})
    point = rest.ok("GET", f"/collections/{collection_name}/points/1")
    assert point["vector"] == {"image": [1.0, 2.0], "text": [0.0, 0.6, 0.8]}

    res = rest.ok("DELETE", f"/collections/{collection_name}/vectors/text", params={"wait": "true"})
    assert res["status"] == "completed"
    assert set(info(rest, collection_name)["config"]["params"]["vectors"]) == {"image"}
    assert rest.ok("GET", f"/collections/{collection_name}/points/1")["vector"] == {"image": [1.0, 2.0]}


def test_changing_the_sparse_modifier_changes_the_scores(rest: RestClient, collection_name: str) -> None:
    create(rest, collection_name, {"sparse_vectors": {"text": {"modifier": "idf"}}})
    rest.ok("PUT", f"/collections/{collection_name}/points", params={"wait": "true"}, json={"points": [
        {"id": i, "vector": {"text": {"indices": [1, 5 + i], "values": [1.0, 2.0]}}} for i in range(4)]})
    query = {"query": {"indices": [1, 5], "values": [1.0, 1.0]}, "using": "text", "limit": 4}

    def scores() -> dict[int, float]:
        points = rest.ok("POST", f"/collections/{collection_name}/points/query", json=query)["points"]
        return {p["id"]: p["score"] for p in points}

    with_idf = scores()
    rest.ok("PATCH", f"/collections/{collection_name}", json={"sparse_vectors": {"text": {"modifier": "none"}}})
    assert scores() == {0: 3.0, 1: 1.0, 2: 1.0, 3: 1.0}  # the plain dot products
    rest.ok("PATCH", f"/collections/{collection_name}", json={"sparse_vectors": {"text": {"modifier": "idf"}}})
    assert scores() == with_idf != {0: 3.0, 1: 1.0, 2: 1.0, 3: 1.0}


def test_create_sparse_named_vector(rest: RestClient, collection_name: str) -> None:
    create(rest, collection_name, {"vectors": {"image": {"size": 2, "distance": "Dot"}}})
    rest.ok("PUT", f"/collections/{collection_name}/vectors/bm25", params={"wait": "true"},
            json={"sparse": {"modifier": "idf"}})
    params = info(rest, collection_name)["config"]["params"]
    assert params["sparse_vectors"]["bm25"]["modifier"] == "idf"
    # Deleting the last one leaves an empty map (as Qdrant and local mode), not no map.
    rest.ok("DELETE", f"/collections/{collection_name}/vectors/bm25", params={"wait": "true"})
    assert info(rest, collection_name)["config"]["params"]["sparse_vectors"] == {}


def test_sparse_vectors_are_reported_only_once_given(rest: RestClient, collection_name: str) -> None:
    create(rest, collection_name, {"vectors": {"size": 2, "distance": "Dot"}})
    assert "sparse_vectors" not in info(rest, collection_name)["config"]["params"]
    rest.ok("DELETE", f"/collections/{collection_name}")
    create(rest, collection_name, {"vectors": {"size": 2, "distance": "Dot"}, "sparse_vectors": {}})
    assert info(rest, collection_name)["config"]["params"]["sparse_vectors"] == {}


def test_create_existing_named_vector_is_rejected(rest: RestClient, collection_name: str) -> None:
    create(rest, collection_name, {"vectors": {"image": {"size": 2, "distance": "Dot"}}})
    resp = rest.put(f"/collections/{collection_name}/vectors/image", json={"dense": {"size": 2, "distance": "Dot"}})
    assert 400 <= resp.status_code < 500
    assert info(rest, collection_name)["config"]["params"]["vectors"]["image"]["size"] == 2


def test_delete_unknown_named_vector_is_rejected(rest: RestClient, collection_name: str) -> None:
    create(rest, collection_name, {"vectors": {"image": {"size": 2, "distance": "Dot"}}})
    resp = rest.delete(f"/collections/{collection_name}/vectors/nope")
    assert 400 <= resp.status_code < 500
    assert set(info(rest, collection_name)["config"]["params"]["vectors"]) == {"image"}


# --- the same flows through the real qdrant-client ---

def test_client_collection_lifecycle(client, collection_name: str) -> None:  # type: ignore[no-untyped-def]
    assert client.collection_exists(collection_name) is False
    assert client.create_collection(
        collection_name,
        vectors_config={"image": models.VectorParams(size=4, distance=models.Distance.DOT),
                        "text": models.VectorParams(size=2, distance=models.Distance.COSINE)},
        sparse_vectors_config={"bm25": models.SparseVectorParams(modifier=models.Modifier.IDF)},
        hnsw_config=models.HnswConfigDiff(m=20),
    ) is True
    assert client.collection_exists(collection_name) is True
    got = client.get_collection(collection_name)
    assert got.status == models.CollectionStatus.GREEN
    assert got.points_count == 0
    assert got.config.params.vectors["image"].size == 4
    assert got.config.params.vectors["image"].distance == models.Distance.DOT
    assert got.config.params.vectors["text"].distance == models.Distance.COSINE
    assert got.config.params.sparse_vectors["bm25"].modifier == models.Modifier.IDF
    assert got.config.hnsw_config.m == 20
    assert collection_name in {c.name for c in client.get_collections().collections}

    assert client.update_collection(
        collection_name, optimizers_config=models.OptimizersConfigDiff(indexing_threshold=777)
    ) is True
    assert client.get_collection(collection_name).config.optimizer_config.indexing_threshold == 777

    assert client.delete_collection(collection_name) is True
    assert client.collection_exists(collection_name) is False
    assert collection_name not in {c.name for c in client.get_collections().collections}


def test_client_create_existing_raises_409(client, collection_name: str) -> None:  # type: ignore[no-untyped-def]
    from qdrant_client.http.exceptions import UnexpectedResponse

    client.create_collection(collection_name, vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT))
    with pytest.raises(UnexpectedResponse) as err:
        client.create_collection(collection_name, vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT))
    assert err.value.status_code == 409


def test_collection_info_reports_the_update_queue(rest: RestClient, collection_name: str) -> None:
    """Qdrant's `update_queue.length`: operations logged and not applied yet; none once a
    `wait=true` write is answered and nothing else is pending."""
    rest.ok("PUT", f"/collections/{collection_name}", json={"vectors": {"size": 2, "distance": "Dot"}})
    rest.ok("PUT", f"/collections/{collection_name}/points", params={"wait": "true"},
            json={"points": [{"id": 1, "vector": [1.0, 2.0]}]})
    assert rest.ok("GET", f"/collections/{collection_name}")["update_queue"] == {"length": 0}
