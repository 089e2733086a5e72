"""`service.read_only_api_key`, as Qdrant's: the key reads (over REST, qdrant-client and gRPC)
and every write with it is a 403 / PERMISSION_DENIED that changes nothing; the read-write key
does both; `Authorization: Bearer <key>` works as the `api-key` header does."""

from __future__ import annotations

from typing import Any, Callable, Iterator

import grpc
import httpx
import pytest
from helpers.server import ServerProcess
from qdrant_client import QdrantClient, models

RW, RO = "rw-secret", "ro-secret"
FORBIDDEN = "Forbidden: Write access denied: the read-only API key allows reads only"


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    base = tmp_path_factory.mktemp("read-only-key")
    proc = ServerProcess(base / "storage", base / "server.log",
                         env={"PYDRANT__SERVICE__API_KEY": RW, "PYDRANT__SERVICE__READ_ONLY_API_KEY": RO})
    proc.start()
    with httpx.Client(base_url=proc.url, headers={"api-key": RW}, timeout=30) as admin:
        assert admin.put("/collections/c", json={"vectors": {"size": 2, "distance": "Dot"}}).status_code == 200
        assert admin.put("/collections/c/points", params={"wait": "true"},
                         json={"points": [{"id": 1, "vector": [1.0, 2.0], "payload": {"a": 1}}]}).status_code == 200
    yield proc
    assert proc.stop() == 0


def _http(proc: ServerProcess, headers: dict[str, str]) -> httpx.Client:
    return httpx.Client(base_url=proc.url, headers=headers, timeout=30)


READS: list[tuple[str, str, Any]] = [
    ("GET", "/collections", None),
    ("GET", "/collections/c", None),
    ("GET", "/collections/c/exists", None),
    ("GET", "/collections/c/points/1", None),
    ("POST", "/collections/c/points", {"ids": [1]}),
    ("POST", "/collections/c/points/scroll", {}),
    ("POST", "/collections/c/points/count", {}),
    ("POST", "/collections/c/points/query", {"query": [1.0, 0.0]}),
    ("POST", "/collections/c/points/query/batch", {"searches": [{"query": [1.0, 0.0]}]}),
    ("POST", "/collections/c/points/search", {"vector": [1.0, 0.0], "limit": 1}),
    ("POST", "/collections/c/points/search/matrix/pairs", {}),
    ("GET", "/collections/c/snapshots", None),
    ("GET", "/telemetry", None),
    ("GET", "/metrics", None),
]
WRITES: list[tuple[str, str, Any]] = [
    ("PUT", "/collections/d", {"vectors": {"size": 2, "distance": "Dot"}}),
    ("DELETE", "/collections/c", None),
    ("PATCH", "/collections/c", {"optimizers_config": {"indexing_threshold": 100}}),
    ("PUT", "/collections/c/points?wait=true", {"points": [{"id": 2, "vector": [1.0, 1.0]}]}),
    ("POST", "/collections/c/points/delete?wait=true", {"points": [1]}),
    ("POST", "/collections/c/points/payload?wait=true", {"payload": {"b": 2}, "points": [1]}),
    ("POST", "/collections/c/points/batch?wait=true", {"operations": [{"delete": {"points": [1]}}]}),
    ("PUT", "/collections/c/index?wait=true", {"field_name": "a", "field_schema": "integer"}),
    ("POST", "/collections/c/snapshots", None),
    ("POST", "/collections/aliases", {"actions": [{"create_alias": {"collection_name": "c", "alias_name": "x"}}]}),
]


@pytest.mark.parametrize("method, path, body", READS)
def test_the_read_only_key_reads(keyed: ServerProcess, method: str, path: str, body: Any) -> None:
    for headers in ({"api-key": RO}, {"Authorization": f"Bearer {RO}"}):
        with _http(keyed, headers) as http:
            answer = http.request(method, path, json=body)
            assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("method, path, body", WRITES)
def test_the_read_only_key_cannot_write(keyed: ServerProcess, method: str, path: str, body: Any) -> None:
    with _http(keyed, {"api-key": RO}) as http:
        answer = http.request(method, path, json=body)
        assert answer.status_code == 403
        assert answer.json()["status"]["error"] == FORBIDDEN
    with _http(keyed, {"api-key": RW}) as admin:  # nothing changed
        assert [c["name"] for c in admin.get("/collections").json()["result"]["collections"]] == ["c"]
        points = admin.post("/collections/c/points/scroll", json={"with_payload": True}).json()["result"]["points"]
        assert points == [{"id": 1, "payload": {"a": 1}}]
        assert admin.get("/collections/c").json()["result"]["payload_schema"] == {}
        assert admin.get("/aliases").json()["result"]["aliases"] == []


@pytest.mark.filterwarnings("ignore:Api key is used with an insecure connection")
def test_qdrant_client_with_each_key(keyed: ServerProcess) -> None:
    ro = QdrantClient(url=keyed.url, api_key=RO, prefer_grpc=False, check_compatibility=False, https=False)
    rw = QdrantClient(url=keyed.url, api_key=RW, prefer_grpc=False, check_compatibility=False, https=False)
    try:
        assert [p.id for p in ro.query_points("c", query=[1.0, 0.0]).points] == [1]
        with pytest.raises(Exception, match="403"):
            ro.upsert("c", [models.PointStruct(id=3, vector=[1.0, 1.0])])
        assert rw.count("c").count == 1
    finally:
        ro.close()
        rw.close()


@pytest.mark.filterwarnings("ignore:Api key is used with an insecure connection")
def test_grpc_with_each_key(keyed: ServerProcess) -> None:
    def client(key: str | None) -> QdrantClient:
        return QdrantClient(host="127.0.0.1", port=keyed.port, grpc_port=keyed.grpc_port, prefer_grpc=True,
                            api_key=key, https=False, check_compatibility=False, timeout=30)

    def code(call: Callable[[], Any]) -> grpc.StatusCode:
        with pytest.raises(grpc.RpcError) as caught:
            call()
        return caught.value.code()  # type: ignore[no-any-return]

    ro, rw, none = client(RO), client(RW), client(None)
    try:
        assert [p.id for p in ro.query_points("c", query=[1.0, 0.0]).points] == [1]
        assert ro.collection_exists("c")
        assert code(lambda: ro.upsert("c", [models.PointStruct(id=3, vector=[1.0, 1.0])])) == grpc.StatusCode.PERMISSION_DENIED
        assert code(lambda: ro.delete_collection("c")) == grpc.StatusCode.PERMISSION_DENIED
        assert code(lambda: none.get_collections()) == grpc.StatusCode.UNAUTHENTICATED
        assert rw.count("c").count == 1
    finally:
        for c in (ro, rw, none):
            c.close()
