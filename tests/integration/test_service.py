"""Service endpoints (/, health probes, /cluster), the version handshake, and the harness itself."""

from __future__ import annotations

import importlib.metadata
import time
from typing import Any

import pytest
from qdrant_client.common.version_check import is_compatible

from helpers.contract import ContractViolation, find_operation, validate_response
from helpers.rest import RestClient
from helpers.server import ServerProcess


def test_root_reports_title_and_version(rest: RestClient) -> None:
    info = rest.get("/").json()
    assert info["title"] == "qdrant - vector search engine"
    assert info["version"] == "1.19.0"


def test_qdrant_client_accepts_the_reported_version(rest: RestClient) -> None:
    # qdrant-client warns unless major versions match and minors differ by at most one.
    server_version = rest.get("/").json()["version"]
    assert is_compatible(importlib.metadata.version("qdrant-client"), server_version)


@pytest.mark.parametrize("path", ["/healthz", "/livez", "/readyz"])
def test_health_probes_answer_200_text(rest: RestClient, path: str) -> None:
    resp = rest.get(path)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    assert resp.text.strip() != ""


def test_cluster_is_disabled(rest: RestClient) -> None:
    assert rest.ok("GET", "/cluster") == {"status": "disabled"}


def test_telemetry_metrics_and_collection_cluster_info_count_what_is_stored(rest: RestClient, collection_name: str) -> None:
    rest.ok("PUT", f"/collections/{collection_name}", json={"vectors": {"a": {"size": 2, "distance": "Dot"}, "b": {"size": 2, "distance": "Dot"}}})
    rest.ok("PUT", f"/collections/{collection_name}/points", params={"wait": "true"}, json={"points": [
        {"id": 1, "vector": {"a": [1, 0], "b": [0, 1]}}, {"id": 2, "vector": {"a": [1, 0]}}, {"id": 3, "vector": {}}]})
    collections = len(rest.ok("GET", "/collections")["collections"])

    telemetry = rest.ok("GET", "/telemetry")
    assert telemetry["collections"] == {"number_of_collections": collections}
    assert telemetry["app"]["name"] == "pydrant" and telemetry["id"] == rest.ok("GET", "/telemetry")["id"]

    def metrics() -> dict[str, str]:
        resp = rest.get("/metrics")
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
        return dict(line.rsplit(" ", 1) for line in resp.text.splitlines() if line and not line.startswith("#"))

    samples = metrics()
    assert samples["collections_total"] == str(collections) and samples["cluster_enabled"] == "0"
    assert samples['app_info{name="qdrant",version="1.19.0",commit="pydrant-0.1.0"}'] == "1"  # Qdrant's name, as GET /
    assert samples[f'collection_points{{collection="{collection_name}"}}'] == "3"
    rest.ok("POST", f"/collections/{collection_name}/points/vectors/delete", params={"wait": "true"}, json={"points": [1], "vector": ["b"]})
    assert int(metrics()["collections_vector_total"]) == int(samples["collections_vector_total"]) - 1

    info = rest.ok("GET", f"/collections/{collection_name}/cluster")
    assert info["shard_count"] == 1 and info["remote_shards"] == [] and info["shard_transfers"] == []
    assert info["local_shards"] == [{"shard_id": 0, "points_count": 3, "state": "Active"}]
    assert "doesn't exist" in rest.error("GET", "/collections/no_such_collection/cluster", 404)


def test_telemetry_counts_answers_per_endpoint_and_status(rest: RestClient, server: ServerProcess, collection_name: str) -> None:
    """REST answers under Qdrant's route names by HTTP status; gRPC ones by RPC and status code."""
    upserts = "PUT /collections/{name}/points"

    def rest_answers() -> dict[str, Any]:
        return rest.ok("GET", "/telemetry")["requests"]["rest"]["responses"]  # type: ignore[no-any-return]

    before = rest_answers().get(upserts, {}).get("200", {}).get("count", 0)
    rest.ok("PUT", f"/collections/{collection_name}", json={"vectors": {"size": 2, "distance": "Dot"}})
    for i in range(3):
        rest.ok("PUT", f"/collections/{collection_name}/points", params={"wait": "true"}, json={"points": [{"id": i, "vector": [1, 0]}]})
    rest.error("PUT", f"/collections/{collection_name}/points", 400, json={"points": [{"id": 9, "vector": [1]}]})
    answers = rest_answers()[upserts]
    assert answers["200"]["count"] == before + 3 and answers["400"]["count"] >= 1
    ok = answers["200"]
    assert 0 < ok["min_duration_micros"] <= ok["avg_duration_micros"] <= ok["max_duration_micros"]
    assert ok["total_duration_micros"] >= ok["max_duration_micros"] - 1
    assert ok["last_responded"].endswith("Z") and ok["last_responded"][:4] == time.strftime("%Y", time.gmtime())
    telemetry = rest.ok("GET", "/telemetry", params={"details_level": 0})
    assert set(telemetry) == {"id", "app", "collections", "cluster", "requests"} and telemetry["cluster"] == {"enabled": False}
    from qdrant_client import QdrantClient

    from helpers.server import HOST

    grpc_client = QdrantClient(host=HOST, port=server.port, grpc_port=server.grpc_port, prefer_grpc=True, check_compatibility=False)
    try:
        assert grpc_client.count(collection_name).count == 3
    finally:
        grpc_client.close()
    grpc_answers = rest.ok("GET", "/telemetry")["requests"]["grpc"]["responses"]
    assert grpc_answers["/qdrant.Points/Count"]["0"]["count"] >= 1, grpc_answers


def test_unknown_route_is_404(rest: RestClient) -> None:
    resp = rest._http.get("/collections/x/no-such-endpoint")  # not in the contract, so raw
    assert resp.status_code == 404


def test_qdrant_client_sees_the_server(client) -> None:  # type: ignore[no-untyped-def]
    assert client.info().version == "1.19.0"


def test_sigterm_stops_cleanly_and_storage_survives(server_factory) -> None:  # type: ignore[no-untyped-def]
    srv: ServerProcess = server_factory()
    rest = RestClient(srv.url)
    try:
        assert rest.ok("PUT", "/collections/kept", json={"vectors": {"size": 2, "distance": "Dot"}}) is True
        rest.ok("PUT", "/collections/kept/points", params={"wait": "true"},
                json={"points": [{"id": 7, "vector": [1.0, 2.0], "payload": {"k": "v"}}]})
        rest.ok("POST", "/collections/aliases",
                json={"actions": [{"create_alias": {"collection_name": "kept", "alias_name": "kept_alias"}}]})
        rest.ok("PATCH", "/collections/kept", json={"optimizers_config": {"indexing_threshold": 4321}})
    finally:
        rest.close()
    assert srv.stop() == 0
    srv.start()
    rest = RestClient(srv.url)
    try:
        assert rest.ok("GET", "/collections/kept/points/7")["payload"] == {"k": "v"}
        assert rest.ok("GET", "/collections/kept_alias/points/7")["id"] == 7
        config = rest.ok("GET", "/collections/kept")["config"]
        assert config["params"]["vectors"] == {"size": 2, "distance": "Dot"}
        assert config["optimizer_config"]["indexing_threshold"] == 4321
    finally:
        rest.close()


def test_kill_9_then_restart_keeps_acknowledged_writes(server_factory) -> None:  # type: ignore[no-untyped-def]
    srv: ServerProcess = server_factory()
    rest = RestClient(srv.url)
    try:
        rest.ok("PUT", "/collections/crash", json={"vectors": {"size": 2, "distance": "Euclid"}})
        for i in range(20):
            res = rest.ok("PUT", "/collections/crash/points", params={"wait": "false"},
                          json={"points": [{"id": i, "vector": [float(i), 1.0]}]})
            assert res["status"] == "acknowledged"
    finally:
        rest.close()
    srv.restart(hard=True)
    rest = RestClient(srv.url)
    try:
        got = rest.ok("POST", "/collections/crash/points", json={"ids": list(range(20)), "with_vector": True})
        assert sorted(p["id"] for p in got) == list(range(20))
        assert {p["id"]: p["vector"] for p in got} == {i: [float(i), 1.0] for i in range(20)}
    finally:
        rest.close()


# --- the harness must reject what the contract rejects (else every other test is toothless) ---

def test_contract_resolves_literal_paths_before_templates() -> None:
    assert find_operation("POST", "/collections/aliases").template == "/collections/aliases"
    assert find_operation("POST", "/collections/c/points/delete").template == "/collections/{collection_name}/points/delete"
    assert find_operation("GET", "/collections/c/points/9").template == "/collections/{collection_name}/points/{id}"


@pytest.mark.parametrize(
    "method,path,status,ctype,body",
    [
        ("GET", "/", 200, "application/json", '{"title": "x"}'),
        ("PUT", "/collections/c", 200, "application/json", '{"result": 1, "status": "ok", "time": 0.1}'),
        ("PUT", "/collections/c", 200, "application/json", '{"result": true, "time": 0.1}'),
        ("GET", "/collections/c/points/1", 200, "application/json",
         '{"result": {"id": -1}, "status": "ok", "time": 0.1}'),
        ("GET", "/collections/c", 404, "application/json", '{"status": "error", "time": 0.1}'),
        ("GET", "/collections/c", 404, "text/plain", "Not found"),
        ("GET", "/nowhere", 200, "application/json", "{}"),
    ],
)
def test_contract_rejects_bad_responses(method: str, path: str, status: int, ctype: str, body: str) -> None:
    with pytest.raises(ContractViolation):
        validate_response(method, path, status, ctype, body)


def test_telemetry_details_levels_report_collections(rest: RestClient, collection_name: str) -> None:
    """Level 1 summarises each collection, level 2 reports it in full, as Qdrant's levels do
    (every answer is checked against the contract's schema by the client)."""
    rest.ok("PUT", f"/collections/{collection_name}", json={"vectors": {"a": {"size": 2, "distance": "Dot"}, "b": {"size": 3, "distance": "Cosine"}}})
    rest.ok("PUT", f"/collections/{collection_name}/points", params={"wait": "true"},
            json={"points": [{"id": 1, "vector": {"a": [1.0, 2.0], "b": [1.0, 0.0, 0.0]}}, {"id": 2, "vector": {"a": [0.5, 0.5]}}]})
    info = rest.ok("GET", f"/collections/{collection_name}")
    level0 = rest.ok("GET", "/telemetry", params={"details_level": 0})["collections"]
    assert set(level0) == {"number_of_collections"}
    level1 = rest.ok("GET", "/telemetry", params={"details_level": 1})["collections"]
    assert level1["number_of_collections"] == len(level1["collections"]) and level1["snapshots"] == []
    mine = [c for c in level1["collections"] if c["params"] == info["config"]["params"]]
    assert mine and mine[0]["vectors"] == 3 and mine[0]["optimizers_status"] == "ok"
    level2 = rest.ok("GET", "/telemetry", params={"details_level": 2})["collections"]
    full = {c["id"]: c for c in level2["collections"]}
    assert full[collection_name]["config"] == info["config"]
    assert full[collection_name]["shards"][0]["id"] == 0
    assert rest.error("GET", "/telemetry", 400, params={"details_level": "high"}).startswith("Format error in query parameters")
