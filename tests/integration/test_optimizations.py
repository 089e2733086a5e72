"""GET /collections/{name}/optimizations: what the optimizer runs, has queued and has done,
on a real server indexing, then vacuuming, a collection."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from helpers.rest import RestClient

WAIT = {"wait": "true"}
DIM = 8
STAGES = ["clustering", "copying", "building indexes", "writing", "swapping"]


def wait_green(rest: RestClient, name: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while rest.ok("GET", f"/collections/{name}")["status"] != "green":
        assert time.monotonic() < deadline, "the collection never became green"
        time.sleep(0.05)  # polling the server's status under a deadline


def optimizations(rest: RestClient, name: str, query: str = "") -> Any:
    return rest.ok("GET", f"/collections/{name}/optimizations{query}")


def test_indexing_then_vacuum_are_reported(rest: RestClient, collection_name: str) -> None:
    name = collection_name
    # 10 KB of 8-dim vectors: a segment is sealed past 320 points and indexed once writes pause.
    rest.ok("PUT", f"/collections/{name}", json={"vectors": {"size": DIM, "distance": "Cosine"}, "optimizers_config": {
        "indexing_threshold": 10, "vacuum_min_vector_number": 100, "deleted_threshold": 0.2}})
    vectors = np.random.default_rng(1).normal(size=(2000, DIM)).astype(np.float32)
    for start in range(0, 2000, 500):
        rest.ok("PUT", f"/collections/{name}/points", params=WAIT, json={"batch": {
            "ids": list(range(start, start + 500)), "vectors": vectors[start:start + 500].tolist()}})
    before = optimizations(rest, name, "?with=queued,idle_segments")
    summary = before["summary"]
    # Whatever the optimizer has reached, the 2000 points are running, queued or idle.
    in_flight = sum(s["points_count"] for o in before["running"] for s in o["segments"])
    idle = sum(s["points_count"] for s in before["idle_segments"])
    assert summary["queued_points"] + in_flight + idle == 2000
    assert summary["queued_optimizations"] == len(before["queued"]) and summary["idle_segments"] == len(before["idle_segments"])
    wait_green(rest, name)

    after = optimizations(rest, name, "?with=queued,completed,idle_segments")
    assert after["running"] == [] and after["queued"] == [] and after["summary"]["queued_optimizations"] == 0
    indexing = [o for o in after["completed"] if o["optimizer"] == "indexing"]
    assert indexing and all(o["status"] == "done" for o in indexing)
    assert sum(s["points_count"] for o in indexing for s in o["segments"]) >= 2000
    newest = after["completed"][0]
    assert [stage["name"] for stage in newest["progress"]["children"]] == STAGES
    copying = newest["progress"]["children"][1]
    assert copying["done"] == copying["total"] == sum(s["points_count"] for s in newest["segments"])
    assert newest["uuid"] in {s["uuid"] for s in after["idle_segments"]}  # the segment it made
    assert sum(s["points_count"] for s in after["idle_segments"]) == 2000

    # Deleting a quarter of the points calls for a vacuum of the segment holding them: queued
    # at once, run once writes pause (the collection stays green meanwhile).
    target = newest["uuid"]
    rest.ok("POST", f"/collections/{name}/points/delete", params=WAIT, json={"points": list(range(0, 2000, 4))})
    deadline = time.monotonic() + 60
    while True:
        report = optimizations(rest, name, "?with=queued,completed&completed_limit=1")
        if report["completed"][0]["optimizer"] == "vacuum":
            break
        queued_or_running = report["queued"] + report["running"]
        assert [o["optimizer"] for o in queued_or_running] == ["vacuum"], report
        assert time.monotonic() < deadline, "the vacuum never ran"
        time.sleep(0.05)  # polling the server under a deadline
    last = report["completed"][0]
    assert last["optimizer"] == "vacuum" and last["status"] == "done" and last["segments"][0]["uuid"] == target
    assert last["segments"][0]["points_count"] == 1500


def test_details_are_opt_in_and_parameters_are_checked(rest: RestClient, collection_name: str) -> None:
    rest.ok("PUT", f"/collections/{collection_name}", json={"vectors": {"size": DIM, "distance": "Dot"}})
    plain = optimizations(rest, collection_name)
    assert set(plain) == {"summary", "running"}
    assert optimizations(rest, collection_name, "?with=completed&completed_limit=0")["completed"] == []
    assert "with" in rest.error("GET", f"/collections/{collection_name}/optimizations?with=everything", 400)
    assert "completed_limit" in rest.error("GET", f"/collections/{collection_name}/optimizations?completed_limit=-1", 400)
    assert "doesn't exist" in rest.error("GET", "/collections/no_such_collection/optimizations", 404)


def test_indexing_threshold_is_honoured_and_zero_turns_indexing_off(rest: RestClient, collection_name: str) -> None:
    """As Qdrant: a segment past indexing_threshold (KB of vectors) is indexed, however small
    the threshold; `0` turns vector indexing off until a threshold is set again."""
    on, off = collection_name, collection_name + "_off"
    vectors = np.random.default_rng(2).normal(size=(100, 256)).round(4).tolist()  # 1 KB each, 100 KB in all
    for name, threshold in ((on, 10), (off, 0)):
        rest.ok("PUT", f"/collections/{name}", json={"vectors": {"size": 256, "distance": "Dot"},
                                                      "optimizers_config": {"indexing_threshold": threshold}})
        rest.ok("PUT", f"/collections/{name}/points", params=WAIT, json={"batch": {"ids": list(range(100)), "vectors": vectors}})
    deadline = time.monotonic() + 60
    while rest.ok("GET", f"/collections/{on}")["indexed_vectors_count"] == 0:
        assert time.monotonic() < deadline, "a collection 10x past its indexing threshold was never indexed"
        time.sleep(0.05)  # polling the server's status under a deadline
    wait_green(rest, on)
    wait_green(rest, off)
    info = rest.ok("GET", f"/collections/{off}")
    assert info["points_count"] == 100 and info["indexed_vectors_count"] == 0
    found = rest.ok("POST", f"/collections/{off}/points/query", json={"query": vectors[7], "limit": 1})["points"]
    assert found[0]["id"] == 7  # searched exactly
    # Turning indexing back on indexes what was left without a graph.
    rest.ok("PATCH", f"/collections/{off}", json={"optimizers_config": {"indexing_threshold": 10}})
    deadline = time.monotonic() + 60
    while rest.ok("GET", f"/collections/{off}")["indexed_vectors_count"] == 0:
        assert time.monotonic() < deadline, "indexing turned back on never indexed the collection"
        time.sleep(0.05)  # polling the server's status under a deadline
    assert rest.ok("GET", f"/collections/{off}")["indexed_vectors_count"] == 100
