"""Shared by the fuzz tests: the seeded `fuzz` collection (config, points) and a private server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from helpers.server import ServerProcess

FUZZ_COLLECTION = "fuzz"
DENSE_DIM = 4
SPARSE_NAME = "text"
INDEXED_FIELD = "city"
UUID_ID = "5c56c793-69f3-4fbf-87e6-c4bf54c28c26"
SEED_IDS: list[Any] = [*range(1, 21), UUID_ID]
CITIES = ["Berlin", "London", "Moscow", "Tokyo"]


def collection_config() -> dict[str, Any]:
    return {
        "vectors": {"size": DENSE_DIM, "distance": "Cosine"},
        "sparse_vectors": {SPARSE_NAME: {}},
    }


def seed_points() -> list[dict[str, Any]]:
    """Deterministic points: unnamed 4-dim dense vector, a sparse vector, a small payload."""
    points = []
    for i, pid in enumerate(SEED_IDS):
        points.append({
            "id": pid,
            "vector": {
                "": [float(i % 5) + 0.5, float(i % 3) - 1.0, 0.25 * i, 1.0],
                SPARSE_NAME: {"indices": [i % 7, 7 + i % 5], "values": [1.0 + i, 0.5]},
            },
            "payload": {
                INDEXED_FIELD: CITIES[i % len(CITIES)],
                "count": i,
                "price": 1.5 * i,
                "tags": ["a", "b"] if i % 2 else ["c"],
                "nested": {"flag": bool(i % 2), "level": {"x": i}},
            },
        })
    return points


def create_fuzz_collection(http: httpx.Client, name: str = FUZZ_COLLECTION) -> None:
    """(Re)create `name` with seed points and a keyword index on `city`."""
    http.delete(f"/collections/{name}")
    _expect_ok(http.put(f"/collections/{name}", json=collection_config()))
    _expect_ok(http.put(f"/collections/{name}/index", params={"wait": "true"},
                        json={"field_name": INDEXED_FIELD, "field_schema": "keyword"}))
    reseed_points(http, name)


def reseed_points(http: httpx.Client, name: str = FUZZ_COLLECTION) -> None:
    _expect_ok(http.put(f"/collections/{name}/points", params={"wait": "true"}, json={"points": seed_points()}))


def _expect_ok(resp: httpx.Response) -> None:
    if resp.status_code != 200:
        raise AssertionError(f"fuzz setup: {resp.request.method} {resp.request.url} -> {resp.status_code}: {resp.text[:500]}")


def start_private_server(base: Path) -> ServerProcess:
    return ServerProcess(base / "storage", base / "server.log").start()
