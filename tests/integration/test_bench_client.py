"""The benchmark's libcurl client (bench/http_client.py) against the real server: every method in
any order over one connection, bodies and statuses as sent and answered."""

from __future__ import annotations

import sys
from pathlib import Path

import msgspec

from helpers.server import ServerProcess

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, for `bench`

from bench.http_client import CurlConnection  # noqa: E402


def test_methods_bodies_and_statuses_over_one_connection(server: ServerProcess, collection_name: str) -> None:
    conn = CurlConnection(server.url)
    enc, dec = msgspec.json.encode, msgspec.json.decode
    path = f"/collections/{collection_name}"
    try:
        status, body = conn.request("PUT", path, enc({"vectors": {"size": 2, "distance": "Dot"}}))
        assert status == 200 and dec(body)["result"] is True
        points = {"points": [{"id": 1, "vector": [1.0, 0.0]}, {"id": 2, "vector": [0.0, 1.0]}]}
        status, _ = conn.request("PUT", f"{path}/points?wait=true", enc(points))
        assert status == 200
        status, body = conn.request("GET", path)  # a GET after a PUT with a body
        assert status == 200 and dec(body)["result"]["points_count"] == 2
        status, body = conn.request("POST", f"{path}/points/query", enc({"query": [0.2, 1.0], "limit": 1}))
        assert status == 200 and [p["id"] for p in dec(body)["result"]["points"]] == [2]
        status, body = conn.request("POST", f"{path}/points/query", b'{"query": "nope"}')
        assert status in (400, 422) and "error" in dec(body)["status"]
        status, body = conn.request("GET", f"{path}/points/2")  # the same path kept, the method changed
        assert status == 200 and dec(body)["result"]["id"] == 2
        status, body = conn.request("DELETE", path)
        assert status == 200 and dec(body)["result"] is True
        status, _ = conn.request("GET", path)
        assert status == 404
    finally:
        conn.close()
