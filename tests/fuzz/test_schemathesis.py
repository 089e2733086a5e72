"""Contract fuzzing: schemathesis drives every implemented operation and checks each answer."""

from __future__ import annotations

import os
import urllib.parse
from typing import Any, Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from fuzz_support import (
    DENSE_DIM,
    FUZZ_COLLECTION,
    INDEXED_FIELD,
    SEED_IDS,
    SPARSE_NAME,
    UUID_ID,
    collection_config,
    create_fuzz_collection,
    reseed_points,
)
from helpers.contract import CONTRACT_PATH, validate_response
from helpers.server import ServerProcess
from pydrant.api.rest.app import ROUTES

# Per-request client timeout: a hang is a failure, not a stuck CI job.
REQUEST_TIMEOUT_S = 10.0
# Bounded so the whole module runs in ~2-3 minutes on 2 cores; FUZZ_MAX_EXAMPLES raises it locally.
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "20"))
FUZZ_SEED = int(os.environ.get("FUZZ_SEED", "20240601"))
SCRATCH_COLLECTION = "fuzz_scratch"

IMPLEMENTED = {(method.upper(), path) for method, path, _ in ROUTES}
READ_ONLY_POSTS = {
    "/collections/{collection_name}/points",
    "/collections/{collection_name}/points/scroll",
    "/collections/{collection_name}/points/count",
    "/collections/{collection_name}/facet",
    "/collections/{collection_name}/points/query",
    "/collections/{collection_name}/points/query/batch",
    "/collections/{collection_name}/points/query/groups",
    "/collections/{collection_name}/points/search/matrix/pairs",
    "/collections/{collection_name}/points/search/matrix/offsets",
}

CONFIG = schemathesis.Config.from_dict({
    "seed": FUZZ_SEED,
    "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "mode": "all"},
    "request-timeout": REQUEST_TIMEOUT_S,
    # `@schema.given` cannot be combined with schema examples; coverage cases are unbounded in number.
    "phases": {"examples": {"enabled": False}, "coverage": {"enabled": False}},
})


def _implemented(ctx: Any) -> bool:
    return (ctx.operation.method.upper(), ctx.operation.path) in IMPLEMENTED


schema = schemathesis.openapi.from_path(CONTRACT_PATH, config=CONFIG).include(_implemented)


# ---- valid bodies aimed at the seeded collection, so generation also reaches deep code paths ----
def _dense(seed: int) -> list[float]:
    return [0.1 * (seed + k) for k in range(DENSE_DIM)]


SPARSE_QUERY = {"indices": [1, 8], "values": [0.5, 1.5]}
CITY_FILTER = {"must": [{"key": INDEXED_FIELD, "match": {"any": ["Berlin", "Tokyo"]}}],
               "must_not": [{"key": "count", "range": {"gte": 15}}]}
NEW_POINT = {"id": 1000, "vector": {"": _dense(3), SPARSE_NAME: {"indices": [2, 5], "values": [0.1, 0.9]}},
             "payload": {INDEXED_FIELD: "Paris", "count": 99, "nested": {"level": {"x": -1}}}}
QUERY_BODIES: list[dict[str, Any]] = [
    {"query": _dense(1), "limit": 3, "with_payload": True, "with_vector": True},
    {"query": SPARSE_QUERY, "using": SPARSE_NAME, "limit": 5, "filter": CITY_FILTER},
    {"prefetch": [{"query": _dense(2), "limit": 10}, {"query": SPARSE_QUERY, "using": SPARSE_NAME, "limit": 10}],
     "query": {"fusion": "rrf"}, "limit": 4},
    {"query": {"recommend": {"positive": [1, UUID_ID], "negative": [2]}}, "limit": 3},
    {"query": {"nearest": 5}, "filter": {"should": [{"key": "nested.level.x", "range": {"lt": 4}}]}},
    {"query": {"discover": {"target": 3, "context": [{"positive": 4, "negative": 5}]}}, "limit": 2},
    {"query": {"order_by": {"key": INDEXED_FIELD}}, "limit": 3},
    {"query": _dense(4), "score_threshold": 0.5, "offset": 2, "limit": 2, "params": {"exact": True}},
]
VALID_BODIES: dict[tuple[str, str], list[Any]] = {
    ("PUT", "/collections/{collection_name}"): [collection_config()],
    ("PATCH", "/collections/{collection_name}"): [{"optimizers_config": {"indexing_threshold": 20000}},
                                                  {"params": {"on_disk_payload": False}}],
    ("PUT", "/collections/{collection_name}/index"): [{"field_name": "count", "field_schema": "integer"},
                                                      {"field_name": "price", "field_schema": "float"}],
    ("PUT", "/collections/{collection_name}/vectors/{vector_name}"): [{"size": 2, "distance": "Dot"}],
    ("POST", "/collections/aliases"): [
        {"actions": [{"create_alias": {"collection_name": FUZZ_COLLECTION, "alias_name": "fuzz_alias"}}]},
        {"actions": [{"delete_alias": {"alias_name": "fuzz_alias"}}]},
    ],
    ("PUT", "/collections/{collection_name}/points"): [
        {"points": [NEW_POINT]},
        {"batch": {"ids": [1001, 1002], "vectors": {"": [_dense(5), _dense(6)]}, "payloads": [{"a": 1}, None]}},
    ],
    ("POST", "/collections/{collection_name}/points"): [
        {"ids": [1, UUID_ID, 999999], "with_payload": ["city", "nested"], "with_vector": [SPARSE_NAME]},
    ],
    ("POST", "/collections/{collection_name}/points/delete"): [
        {"points": [1000, 1001]}, {"filter": {"must": [{"key": INDEXED_FIELD, "match": {"value": "Nowhere"}}]}},
    ],
    ("PUT", "/collections/{collection_name}/points/vectors"): [
        {"points": [{"id": 1, "vector": {"": _dense(7)}}, {"id": UUID_ID, "vector": {SPARSE_NAME: SPARSE_QUERY}}]},
    ],
    ("POST", "/collections/{collection_name}/points/vectors/delete"): [{"points": [2], "vector": [SPARSE_NAME]}],
    ("POST", "/collections/{collection_name}/points/payload"): [
        {"payload": {"k": [1, 2]}, "points": [1, 2]}, {"payload": {"x": 5}, "filter": CITY_FILTER, "key": "nested.level"},
    ],
    ("PUT", "/collections/{collection_name}/points/payload"): [{"payload": {"only": True}, "points": [3]}],
    ("POST", "/collections/{collection_name}/points/payload/delete"): [{"keys": ["tags", "nested.flag"], "points": [4]}],
    ("POST", "/collections/{collection_name}/points/payload/clear"): [{"points": [5]}, {"filter": CITY_FILTER}],
    ("POST", "/collections/{collection_name}/points/scroll"): [
        {"limit": 5, "filter": CITY_FILTER, "with_payload": True},
        {"limit": 3, "order_by": {"key": INDEXED_FIELD, "direction": "desc"}},
        {"offset": UUID_ID, "limit": 2, "with_vector": True},
    ],
    ("POST", "/collections/{collection_name}/points/count"): [{"filter": CITY_FILTER, "exact": True}, {}],
    ("POST", "/collections/{collection_name}/points/batch"): [
        {"operations": [{"upsert": {"points": [NEW_POINT]}}, {"set_payload": {"payload": {"z": 1}, "points": [1000]}},
                        {"delete": {"points": [1000]}}]},
    ],
    ("POST", "/collections/{collection_name}/facet"): [{"key": INDEXED_FIELD, "limit": 3, "exact": True},
                                                       {"key": INDEXED_FIELD, "filter": CITY_FILTER}],
    ("POST", "/collections/{collection_name}/points/query"): QUERY_BODIES,
    ("POST", "/collections/{collection_name}/points/query/batch"): [{"searches": QUERY_BODIES[:4]}],
    ("POST", "/collections/{collection_name}/points/query/groups"): [
        {"query": _dense(2), "group_by": INDEXED_FIELD, "limit": 2, "group_size": 3},
    ],
    ("POST", "/collections/{collection_name}/points/search/matrix/pairs"): [{"sample": 10, "limit": 2}],
    ("POST", "/collections/{collection_name}/points/search/matrix/offsets"): [{"sample": 8, "limit": 3,
                                                                               "filter": CITY_FILTER}],
}
SEED_POINT_IDS = [str(pid) for pid in SEED_IDS]


# ---- fixtures ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def admin(fuzz_server: ServerProcess) -> Iterator[httpx.Client]:
    """An unvalidated client for setup and repair between cases."""
    with httpx.Client(base_url=fuzz_server.url, timeout=60.0) as http:
        yield http


def _restore(http: httpx.Client) -> None:
    """Undo what a mutating case may have done to `fuzz`: recreate if its config drifted, else reseed."""
    resp = http.get(f"/collections/{FUZZ_COLLECTION}")
    if resp.status_code == 200:
        params = resp.json()["result"]["config"]["params"]
        schema_ok = resp.json()["result"].get("payload_schema", {}).get(INDEXED_FIELD, {}).get("data_type") == "keyword"
        if params.get("vectors") == collection_config()["vectors"] and SPARSE_NAME in (params.get("sparse_vectors") or {}) and schema_ok:
            reseed_points(http)
            return
    create_fuzz_collection(http)


def _aim_at_fuzz(case: Any, data: st.DataObject) -> bool:
    """Part of the time point path parameters (and maybe the body) at the seeded collection."""
    if "collection_name" not in (case.path_parameters or {}) or not data.draw(st.booleans(), label="aim"):
        return False
    key = (case.method.upper(), case.path)
    creates_or_drops = case.path == "/collections/{collection_name}" and case.method.upper() in ("PUT", "DELETE")
    case.path_parameters["collection_name"] = SCRATCH_COLLECTION if creates_or_drops else FUZZ_COLLECTION
    if "id" in case.path_parameters:
        case.path_parameters["id"] = data.draw(st.sampled_from(SEED_POINT_IDS), label="id")
    if "vector_name" in case.path_parameters:
        case.path_parameters["vector_name"] = data.draw(st.sampled_from([SPARSE_NAME, "extra"]), label="vector")
    if "field_name" in case.path_parameters:
        case.path_parameters["field_name"] = data.draw(st.sampled_from([INDEXED_FIELD, "count"]), label="field")
    bodies = VALID_BODIES.get(key)
    if bodies and data.draw(st.booleans(), label="valid body"):
        case.body = data.draw(st.sampled_from(bodies), label="body")
    return not creates_or_drops


def _keep_snapshot_downloads_offline(case: Any) -> None:
    """A recover location on a random host would make the server try to reach it; tests run
    offline, so such a host becomes a closed loopback port (refused at once, a 400)."""
    body = case.body if case.path.endswith("/snapshots/recover") else None
    if isinstance(body, dict) and isinstance(body.get("location"), str):
        try:
            parsed = urllib.parse.urlsplit(body["location"])
        except ValueError:
            return  # not a URL: the server refuses it without going anywhere
        if parsed.scheme.lower() in ("http", "https") and parsed.netloc:
            body["location"] = urllib.parse.urlunsplit(parsed._replace(netloc="127.0.0.1:9"))


def _content_type(response: schemathesis.Response) -> str:
    values = response.headers.get("content-type") or [""]
    return str(values[0])


# ---- the fuzz test -----------------------------------------------------------------------------
@schema.parametrize()
@schema.given(data=st.data())
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_contract_fuzz(case: Any, data: st.DataObject, fuzz_server: ServerProcess, admin: httpx.Client) -> None:
    aimed = _aim_at_fuzz(case, data)
    _keep_snapshot_downloads_offline(case)
    response = case.call(base_url=fuzz_server.url, timeout=REQUEST_TIMEOUT_S)
    try:
        case.validate_response(response, checks=[not_a_server_error, status_code_conformance,
                                                  content_type_conformance, response_schema_conformance])
        # The project's stricter validator: envelope fields, error shape, documented statuses.
        validate_response(case.method, response.request.path_url, response.status_code,
                          _content_type(response), response.text)
    finally:
        mutating = case.method.upper() != "GET" and not (case.method.upper() == "POST" and case.path in READ_ONLY_POSTS)
        if aimed and mutating:
            _restore(admin)


def test_server_alive_after_fuzz(fuzz_server: ServerProcess, admin: httpx.Client) -> None:
    """Runs after the fuzz cases in this module: the server survived and still serves the seed data."""
    assert fuzz_server.is_running(), fuzz_server.log_tail()
    assert admin.get("/readyz").status_code == 200
    _restore(admin)
    resp = admin.post(f"/collections/{FUZZ_COLLECTION}/points/count", json={"exact": True})
    assert resp.status_code == 200 and resp.json()["result"]["count"] >= len(SEED_IDS), resp.text
