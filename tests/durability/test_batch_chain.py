"""A batch update's operations are logged together; after a failing one the rest are skipped,
and a replay after kill -9 reaches exactly the state the live server had."""

from __future__ import annotations

from typing import Any, Callable

from helpers.rest import RestClient
from helpers.server import ServerProcess

NO_FLUSH = {"PYDRANT__STORAGE__FLUSH_INTERVAL_SEC": "3600"}  # everything below lives in the WAL


def _state(rest: RestClient, name: str) -> dict[Any, Any]:
    points = rest.ok("POST", f"/collections/{name}/points/scroll", json={"limit": 100, "with_payload": True})["points"]
    return {p["id"]: p["payload"] for p in points}


def test_failed_operation_stops_the_batch_live_and_after_replay(server_factory: Callable[..., ServerProcess]) -> None:
    server = server_factory(env=NO_FLUSH)
    rest = RestClient(server.url)
    name = "chain"
    rest.ok("PUT", f"/collections/{name}", json={"vectors": {"size": 2, "distance": "Dot"}})
    operations = [
        {"upsert": {"points": [{"id": 1, "vector": [1.0, 0.0], "payload": {"a": 1}}]}},
        {"set_payload": {"payload": {"b": 2}, "points": [1, 404]}},  # writes point 1, then fails on 404
        {"upsert": {"points": [{"id": 2, "vector": [0.0, 1.0], "payload": {"c": 3}}]}},  # skipped
    ]
    # wait=false: every operation is acknowledged (logged), the failure happens at apply time.
    results = rest.ok("POST", f"/collections/{name}/points/batch", params={"wait": "false"}, json={"operations": operations})
    assert [r["status"] for r in results] == ["acknowledged"] * 3
    ids = [r["operation_id"] for r in results]
    assert ids == sorted(ids) and len(set(ids)) == 3
    # A later waited write is applied after the batch, so the batch is settled when it returns.
    rest.ok("PUT", f"/collections/{name}/points", params={"wait": "true"},
            json={"points": [{"id": 3, "vector": [1.0, 1.0], "payload": {"d": 4}}]})
    live = _state(rest, name)
    assert live == {1: {"a": 1, "b": 2}, 3: {"d": 4}}

    # With wait=true the caller gets the first failure, and the same skipping applies.
    message = rest.error("POST", f"/collections/{name}/points/batch", 404, params={"wait": "true"}, json={"operations": [
        {"delete": {"points": [3]}},
        {"update_vectors": {"points": [{"id": 405, "vector": [1.0, 1.0]}]}},
        {"upsert": {"points": [{"id": 4, "vector": [0.0, 1.0]}]}},
    ]})
    assert "405" in message
    live = _state(rest, name)
    assert live == {1: {"a": 1, "b": 2}}
    rest.close()

    server.kill()
    server.start()
    rest = RestClient(server.url)
    try:
        assert _state(rest, name) == live
    finally:
        rest.close()
