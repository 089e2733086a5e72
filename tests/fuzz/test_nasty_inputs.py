"""Hand-written hostile requests: each gets a clean 4xx naming the problem (or a documented success),
never a 5xx, and a rejected request changes nothing."""

from __future__ import annotations

import http.client
import json
import uuid
from typing import Any, Iterator

import httpx
import pytest

from fuzz_support import DENSE_DIM, SEED_IDS, SPARSE_NAME, create_fuzz_collection
from helpers.contract import validate_response
from helpers.rest import RestClient
from helpers.server import ServerProcess

MB = 1024 * 1024


# ---- fixtures and helpers ----------------------------------------------------------------------
class Api:
    """Calls that never raise on 5xx themselves: a 5xx fails with the server's traceback attached."""

    def __init__(self, server: ServerProcess, rest: RestClient, collection: str) -> None:
        self.server = server
        self.rest = rest
        self.c = f"/collections/{collection}"
        self.name = collection

    def call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        resp = self.rest.request(method, path, allow_5xx=True, **kw)
        assert resp.status_code < 500, (
            f"{method} {path} -> {resp.status_code}: {resp.text[:500]}\n{self.server.log_tail(6000)}"
        )
        return resp

    def raw(self, method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, str, str]:
        """Send the path byte for byte (httpx would normalise '..'); returns status, content type, text."""
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers={"content-type": "application/json", **(headers or {})})
            resp = conn.getresponse()
            text = resp.read().decode("utf-8", "replace")
            status, ctype = resp.status, resp.getheader("content-type", "")
        finally:
            conn.close()
        assert status < 500, f"{method} {path} -> {status}: {text[:500]}\n{self.server.log_tail(6000)}"
        validate_response(method, path, status, ctype, text)
        return status, ctype, text

    def error(self, resp: httpx.Response, *words: str, statuses: tuple[int, ...] = (400, 422)) -> str:
        """Require one of `statuses` and an error message mentioning every word (case-insensitive)."""
        assert resp.status_code in statuses, f"expected {statuses}, got {resp.status_code}: {resp.text[:500]}"
        message = str(resp.json()["status"]["error"])
        for word in words:
            assert word.lower() in message.lower(), f"error message does not name {word!r}: {message}"
        return message

    def snapshot(self) -> list[dict[str, Any]]:
        """Every point with payload and vectors, in id order: equal snapshots mean nothing changed."""
        resp = self.call("POST", f"{self.c}/points/scroll",
                         json={"limit": 100000, "with_payload": True, "with_vector": True})
        assert resp.status_code == 200, resp.text[:500]
        return resp.json()["result"]["points"]  # type: ignore[no-any-return]

    def upsert(self, points: Any, *, params: dict[str, str] | None = None) -> httpx.Response:
        return self.call("PUT", f"{self.c}/points", params=params or {"wait": "true"}, json={"points": points})

    def upsert_raw(self, text: str | bytes, **kw: Any) -> httpx.Response:
        return self.call("PUT", f"{self.c}/points", params={"wait": "true"}, content=text, **kw)

    def get_point(self, pid: Any) -> dict[str, Any]:
        resp = self.call("GET", f"{self.c}/points/{pid}")
        assert resp.status_code == 200, resp.text[:500]
        return resp.json()["result"]  # type: ignore[no-any-return]


@pytest.fixture
def api(fuzz_server: ServerProcess, fuzz_rest: RestClient) -> Iterator[Api]:
    """A freshly seeded collection per test; afterwards the server must still be up and ready."""
    name = f"nasty_{uuid.uuid4().hex[:10]}"
    with httpx.Client(base_url=fuzz_server.url, timeout=60.0) as http_:
        create_fuzz_collection(http_, name)
    yield Api(fuzz_server, fuzz_rest, name)
    assert fuzz_server.is_running(), f"server died\n{fuzz_server.log_tail()}"
    assert httpx.get(f"{fuzz_server.url}/readyz", timeout=10).status_code == 200
    fuzz_rest.delete(f"/collections/{name}")


def point(pid: Any, vector: Any = None, payload: Any = None) -> dict[str, Any]:
    return {"id": pid, "vector": vector if vector is not None else [0.5] * DENSE_DIM, "payload": payload or {}}


# ---- non-finite and overflowing numbers ----------------------------------------------------------
@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "nan", "inf"])
def test_non_finite_literals_are_malformed_json(api: Api, literal: str) -> None:
    before = api.snapshot()
    api.error(api.upsert_raw('{"points":[{"id":1,"vector":[%s,1,2,3]}]}' % literal), "json")
    api.error(api.call("POST", f"{api.c}/points/query", content='{"query":[%s,1,2,3]}' % literal), "json")
    assert api.snapshot() == before


@pytest.mark.parametrize("number", ["1e39", "-1e39", "3.5e38", "1e308", "1e400", "9" * 400])
def test_float32_overflow_in_dense_vector_is_rejected(api: Api, number: str) -> None:
    before = api.snapshot()
    api.error(api.upsert_raw('{"points":[{"id":1,"vector":[%s,1,2,3]}]}' % number), "vector")
    api.error(api.call("PUT", f"{api.c}/points/vectors", params={"wait": "true"},
                       content='{"points":[{"id":2,"vector":[1,%s,2,3]}]}' % number), "vector")
    assert api.snapshot() == before


@pytest.mark.parametrize("number", ["1e39", "-1e39", "9" * 400, "-" + "9" * 400])
def test_float32_overflow_in_query_vector_is_rejected(api: Api, number: str) -> None:
    # An infinite query component makes every score NaN: answering 200 with no points hides the error.
    api.error(api.call("POST", f"{api.c}/points/query", content='{"query":[%s,1,2,3]}' % number), "query")


def test_float32_overflow_in_sparse_values_is_rejected(api: Api) -> None:
    before = api.snapshot()
    api.error(api.upsert_raw('{"points":[{"id":1,"vector":{"%s":{"indices":[1],"values":[1e39]}}}]}' % SPARSE_NAME),
              "values")
    assert api.snapshot() == before


# ---- batches -----------------------------------------------------------------------------------
def test_wrong_length_vector_inside_big_batch_rejects_whole_batch(api: Api) -> None:
    before = api.snapshot()
    points = [point(10_000 + i, [float(i)] * DENSE_DIM) for i in range(2000)]
    points[1777]["vector"] = [1.0] * (DENSE_DIM - 1)
    api.error(api.upsert(points), "dim")
    points[1777]["vector"] = [1.0] * (DENSE_DIM + 5)
    api.error(api.upsert(points), "dim")
    columns = {"ids": [p["id"] for p in points], "vectors": [p["vector"] for p in points]}
    api.error(api.call("PUT", f"{api.c}/points", params={"wait": "true"}, json={"batch": columns}), "dim")
    assert api.snapshot() == before


@pytest.mark.parametrize("batch, word", [
    ({"ids": [1, 2], "vectors": [[1.0] * DENSE_DIM]}, "ids"),
    ({"ids": [1], "vectors": [[1.0] * DENSE_DIM, [2.0] * DENSE_DIM]}, "ids"),
    ({"ids": [1, 2], "vectors": [[1.0] * DENSE_DIM] * 2, "payloads": [{}]}, "payloads"),
    ({"ids": [1, 2], "vectors": [[1.0] * DENSE_DIM] * 2, "payloads": [{}, {}, {}]}, "payloads"),
    ({"ids": [1, 2], "vectors": {"": [[1.0] * DENSE_DIM] * 2, SPARSE_NAME: [{"indices": [1], "values": [1.0]}]}},
     SPARSE_NAME),
    ({"ids": [], "vectors": [[1.0] * DENSE_DIM]}, "ids"),
], ids=["ids>vectors", "vectors>ids", "payloads<ids", "payloads>ids", "named-column", "no-ids"])
def test_mismatched_batch_columns_rejected(api: Api, batch: dict[str, Any], word: str) -> None:
    before = api.snapshot()
    api.error(api.call("PUT", f"{api.c}/points", params={"wait": "true"}, json={"batch": batch}), word)
    assert api.snapshot() == before


def test_duplicate_ids_in_one_batch_last_one_wins(api: Api) -> None:
    first, last = [1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]
    resp = api.upsert([point(777, first, {"v": 1}), point(5, [0.0, 0.0, 1.0, 0.0]), point(777, last, {"v": 2})])
    assert resp.status_code == 200, resp.text
    got = api.get_point(777)
    assert got["payload"] == {"v": 2} and got["vector"] == last  # bare: the point holds only the unnamed vector
    resp = api.call("PUT", f"{api.c}/points", params={"wait": "true"},
                    json={"batch": {"ids": [778, 778], "vectors": [first, last], "payloads": [{"v": 1}, {"v": 2}]}})
    assert resp.status_code == 200, resp.text
    got = api.get_point(778)
    assert got["payload"] == {"v": 2} and got["vector"] == last
    count = api.call("POST", f"{api.c}/points/count", json={"exact": True}).json()["result"]["count"]
    assert count == len(SEED_IDS) + 2


# ---- ids ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("pid", [2**64, -1, 1.5, "not-a-uuid", True, None, "", [1], {"a": 1},
                                 "5c56c793-69f3-4fbf-87e6-c4bf54c28c26-00"],
                         ids=repr)
def test_hostile_point_ids_rejected(api: Api, pid: Any) -> None:
    before = api.snapshot()
    # Each message names the field holding the bad id: points[0].id, ids[0], points[0] (a selector).
    api.error(api.upsert([point(pid)]), "points", "id")
    api.error(api.call("POST", f"{api.c}/points", json={"ids": [pid]}), "ids")
    api.error(api.call("POST", f"{api.c}/points/delete", params={"wait": "true"}, json={"points": [pid]}), "points")
    assert api.snapshot() == before


@pytest.mark.parametrize("raw_id", ["18446744073709551616", "-1", "1.5", "not-a-uuid", "true", "%00"])
def test_hostile_point_id_in_path_rejected(api: Api, raw_id: str) -> None:
    status, _, text = api.raw("GET", f"{api.c}/points/{raw_id}")
    assert status in (400, 404, 422), text


def test_largest_u64_id_round_trips(api: Api) -> None:
    assert api.upsert([point(2**64 - 1, payload={"max": True})]).status_code == 200
    assert api.get_point(2**64 - 1)["payload"] == {"max": True}


# ---- malformed bodies --------------------------------------------------------------------------
BAD_BODIES = {
    "empty": b"",
    "array": b"[]",
    "string": b'"points"',
    "number": b"42",
    "null": b"null",
    "truncated": b'{"points": [{"id": 1, "vector": [1, 2,',
    "trailing-garbage": b'{"points": []} xyz',
    "invalid-utf8-in-string": b'{"points":[{"id":1,"vector":[1,2,3,4],"payload":{"a":"\xff\xfe"}}]}',
    "invalid-utf8-key": b'{"points":[{"id":1,"vector":[1,2,3,4],"payload":{"\xc3\x28":1}}]}',
    "lone-surrogate-escape": b'{"points":[{"id":1,"vector":[1,2,3,4],"payload":{"a":"\\ud800"}}]}',
    "utf16-bom": '{"points": []}'.encode("utf-16"),
}


@pytest.mark.parametrize("name", list(BAD_BODIES))
def test_malformed_upsert_body_rejected(api: Api, name: str) -> None:
    before = api.snapshot()
    resp = api.upsert_raw(BAD_BODIES[name])
    if name == "lone-surrogate-escape" and resp.status_code == 200:
        # A valid JSON escape; storing it is a documented success as long as it reads back.
        assert api.get_point(1)["payload"] == {"a": "\ud800"}
        return
    api.error(resp)
    assert api.snapshot() == before


@pytest.mark.parametrize("name", [n for n in BAD_BODIES if n not in ("empty", "lone-surrogate-escape")])
def test_malformed_bodies_rejected_on_other_operations(api: Api, name: str) -> None:
    before = api.snapshot()
    body = BAD_BODIES[name]
    for method, path in [("POST", f"{api.c}/points/query"), ("POST", f"{api.c}/points/scroll"),
                         ("POST", f"{api.c}/points/payload"), ("PUT", "/collections/nasty_never_created"),
                         ("POST", "/collections/aliases")]:
        resp = api.call(method, path, content=body)
        api.error(resp)
    assert api.call("GET", "/collections/nasty_never_created").status_code == 404
    assert api.snapshot() == before


def test_wrong_content_type(api: Api) -> None:
    body = json.dumps({"points": [point(900)]})
    resp = api.upsert_raw(body, headers={"content-type": "text/plain"})
    if resp.status_code == 200:  # Qdrant's JSON extractor is lenient too: then the write must be real
        assert api.get_point(900)["id"] == 900
    else:
        api.error(resp)
        assert api.call("GET", f"{api.c}/points/900").status_code == 404
    before = api.snapshot()
    api.error(api.upsert_raw(b"points=1&id=2", headers={"content-type": "application/x-www-form-urlencoded"}))
    api.error(api.upsert_raw(b"\x00\x01\x02binary", headers={"content-type": "application/octet-stream"}))
    assert api.snapshot() == before


# ---- payload size and depth --------------------------------------------------------------------
def test_ten_megabyte_string_payload_round_trips(api: Api) -> None:
    big = "x" * (10 * MB - 7) + "\u00e9nd"
    assert api.upsert([point(950, payload={"big": big, "n": 1})]).status_code == 200
    got = api.get_point(950)
    assert got["payload"]["big"] == big and got["payload"]["n"] == 1


@pytest.mark.parametrize("kind", ["arrays", "objects", "mixed"])
def test_deeply_nested_payload_is_handled_consistently(api: Api, kind: str) -> None:
    depth = 10_000
    if kind == "arrays":
        value = "[" * depth + "1" + "]" * depth
    elif kind == "objects":
        value = '{"a":' * depth + "1" + "}" * depth
    else:
        value = '{"a":[' * (depth // 2) + "1" + "]}" * (depth // 2)
    body = '{"points":[{"id":960,"vector":[1,2,3,4],"payload":{"deep":%s}}]}' % value
    before = api.snapshot()
    first = api.upsert_raw(body)
    second = api.upsert_raw(body)
    assert first.status_code == second.status_code, (first.text[:300], second.text[:300])
    if first.status_code == 200:
        assert api.call("GET", f"{api.c}/points/960").status_code == 200
    else:
        api.error(first)
        assert api.snapshot() == before


def test_filter_nested_a_thousand_levels(api: Api) -> None:
    leaf = '{"key":"count","range":{"gte":0}}'
    nested = leaf
    for _ in range(1000):
        nested = '{"must":[%s]}' % nested
    body = '{"filter":%s,"exact":true}' % nested
    before = api.snapshot()
    for method, path in [("POST", f"{api.c}/points/count"), ("POST", f"{api.c}/points/scroll"),
                         ("POST", f"{api.c}/points/delete")]:
        resp = api.call(method, path, content=body, params={"wait": "true"} if "delete" in path else None)
        if resp.status_code != 200:
            api.error(resp, "filter")
    if api.call("POST", f"{api.c}/points/count", content=body).status_code == 200:
        return  # evaluated: the delete removed every point the filter matched, which is all of them
    assert api.snapshot() == before


def test_filter_nested_a_hundred_levels_evaluates(api: Api) -> None:
    nested = '{"key":"count","range":{"gte":0}}'
    for _ in range(100):
        nested = '{"must":[%s]}' % nested
    resp = api.call("POST", f"{api.c}/points/count", content='{"filter":%s,"exact":true}' % nested)
    assert resp.status_code == 200 and resp.json()["result"]["count"] == len(SEED_IDS), resp.text[:300]


# ---- collection names --------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["a" * 256, "a" * 5000, "..", ".", "%2E%2E", "x%00y", "%00", "a%5Cb"],
                         ids=["256", "5000", "dotdot", "dot", "encoded-dotdot", "nul", "only-nul", "backslash"])
def test_invalid_collection_names_rejected(api: Api, name: str) -> None:
    before = api.call("GET", "/collections").json()["result"]
    body = json.dumps({"vectors": {"size": 2, "distance": "Dot"}}).encode()
    status, _, text = api.raw("PUT", f"/collections/{name}", body)
    assert status in (400, 404, 405, 422), text
    assert api.call("GET", "/collections").json()["result"] == before


@pytest.mark.parametrize("name", ["..%2F..", "a%2F..%2F..", "x%2Fy"])
def test_encoded_slash_in_collection_name_creates_nothing(api: Api, name: str) -> None:
    before = api.call("GET", "/collections").json()["result"]
    body = json.dumps({"vectors": {"size": 2, "distance": "Dot"}}).encode()
    status, _, text = api.raw("PUT", f"/collections/{name}", body)
    assert status in (400, 404, 405, 422), text
    assert api.call("GET", "/collections").json()["result"] == before


def test_encoded_slash_does_not_reach_another_operation(api: Api) -> None:
    # Qdrant (actix) does not decode %2F before routing: `fuzz%2Fexists` is one (invalid) collection name.
    # api.raw validates the answer as GET /collections/{collection_name}, so {"exists": true} fails.
    status, _, text = api.raw("GET", f"{api.c}%2Fexists")
    assert status in (400, 404, 422), text


@pytest.mark.parametrize("name", ["a" * 255, "%C3%A9" * 127, "%F0%9F%98%80" * 63, "...", "a..b"],
                         ids=["255-ascii", "254-bytes-2byte", "252-bytes-emoji", "three-dots", "inner-dots"])
def test_long_or_odd_valid_names_work_end_to_end(api: Api, name: str) -> None:
    body = json.dumps({"vectors": {"size": 2, "distance": "Dot"}}).encode()
    status, _, text = api.raw("PUT", f"/collections/{name}", body)
    if status != 200:
        assert status in (400, 422), text
        return
    try:
        up = json.dumps({"points": [{"id": 1, "vector": [1.0, 2.0], "payload": {"k": "v"}}]}).encode()
        assert api.raw("PUT", f"/collections/{name}/points?wait=true", up)[0] == 200
        status, _, text = api.raw("GET", f"/collections/{name}/points/1")
        assert status == 200 and json.loads(text)["result"]["payload"] == {"k": "v"}
    finally:
        assert api.raw("DELETE", f"/collections/{name}")[0] == 200


# ---- query parameters --------------------------------------------------------------------------
def test_unknown_query_parameters_are_ignored(api: Api) -> None:
    resp = api.call("POST", f"{api.c}/points/count", params={"foo": "bar", "exact": "no"}, json={"exact": True})
    assert resp.status_code == 200 and resp.json()["result"]["count"] == len(SEED_IDS)


@pytest.mark.parametrize("params, word", [
    ({"wait": "maybe"}, "wait"), ({"wait": ""}, "wait"), ({"wait": "1"}, "wait"),
    ({"ordering": "chaotic"}, "ordering"), ({"timeout": "-5"}, "timeout"), ({"timeout": "0"}, "timeout"),
    ({"timeout": "1.5"}, "timeout"), ({"timeout": "abc"}, "timeout"),
])
def test_bad_write_query_parameters_rejected(api: Api, params: dict[str, str], word: str) -> None:
    before = api.snapshot()
    api.error(api.upsert([point(970)], params=params), word)
    assert api.snapshot() == before


@pytest.mark.parametrize("op", ["upsert", "delete_payload", "set_payload"])
def test_huge_timeout_is_not_a_server_error(api: Api, op: str) -> None:
    # Found by the schemathesis run: a timeout beyond time_t overflowed inside Future.result().
    params = {"wait": "true", "timeout": str(2**80)}
    bodies = {"upsert": ("PUT", "/points", {"points": [point(971)]}),
              "delete_payload": ("POST", "/points/payload/delete", {"keys": ["count"], "points": [1]}),
              "set_payload": ("POST", "/points/payload", {"payload": {"t": 1}, "points": [1]})}
    method, suffix, body = bodies[op]
    resp = api.call(method, api.c + suffix, params=params, json=body)
    if resp.status_code != 200:
        before = api.snapshot()
        api.error(resp, "timeout")
        assert api.snapshot() == before


# ---- sparse vectors ----------------------------------------------------------------------------
@pytest.mark.parametrize("sparse, word", [
    ({"indices": [1, 1], "values": [1.0, 2.0]}, "indices"),
    ({"indices": [3, 7, 3], "values": [1.0, 2.0, 3.0]}, "indices"),
    ({"indices": [-1], "values": [1.0]}, "indices"),
    ({"indices": [2**32], "values": [1.0]}, "indices"),
    ({"indices": [1, 2], "values": [1.0]}, "values"),
    ({"indices": [1], "values": [1.0, 2.0]}, "values"),
    ({"indices": [1.5], "values": [1.0]}, "indices"),
    ({"indices": [1], "values": ["x"]}, "values"),
], ids=["dup", "dup-unsorted", "negative", "u32-overflow", "fewer-values", "more-values", "float-index", "str-value"])
def test_bad_sparse_vectors_rejected(api: Api, sparse: dict[str, Any], word: str) -> None:
    before = api.snapshot()
    api.error(api.upsert([{"id": 1, "vector": {SPARSE_NAME: sparse}}]), word)
    api.error(api.call("POST", f"{api.c}/points/query", json={"query": sparse, "using": SPARSE_NAME}), word)
    assert api.snapshot() == before


def test_unsorted_sparse_indices_are_accepted_and_stored_sorted(api: Api) -> None:
    resp = api.upsert([{"id": 980, "vector": {SPARSE_NAME: {"indices": [9, 2, 5], "values": [0.9, 0.2, 0.5]}}}])
    assert resp.status_code == 200, resp.text
    assert api.get_point(980)["vector"][SPARSE_NAME] == {"indices": [2, 5, 9], "values": [0.2, 0.5, 0.9]}


# ---- body size limit ---------------------------------------------------------------------------
def test_body_over_the_limit_is_refused(api: Api) -> None:
    before = api.snapshot()
    filler = "y" * (33 * MB)
    body = '{"points":[{"id":990,"vector":[1,2,3,4],"payload":{"f":"%s"}}]}' % filler
    api.error(api.upsert_raw(body), statuses=(400, 413))

    def chunks() -> Iterator[bytes]:  # no content-length: the streaming limit must catch it
        yield b'{"points":[{"id":991,"vector":[1,2,3,4],"payload":{"f":"'
        for _ in range(34):
            yield b"z" * MB
        yield b'"}}]}'

    resp = api.call("PUT", f"{api.c}/points", params={"wait": "true"}, content=chunks(),
                    headers={"content-type": "application/json"})
    api.error(resp, statuses=(400, 413))
    assert api.snapshot() == before


# ---- integers past every machine type, on an indexed segment -------------------------------------
HUGE_INTS = [2**31, 2**63, 10**20, 10**400]


@pytest.fixture(scope="module")
def indexed(fuzz_server: ServerProcess, fuzz_rest: RestClient) -> Iterator[Api]:
    """1200 points in one HNSW-indexed segment (searched through the graph: full_scan_threshold
    is at its minimum), plus a sparse and a multivector."""
    from helpers.server import wait_until

    name = f"huge_{uuid.uuid4().hex[:10]}"
    fuzz_rest.ok("PUT", f"/collections/{name}", json={
        "vectors": {"d": {"size": 4, "distance": "Cosine"},
                    "m": {"size": 2, "distance": "Dot", "multivector_config": {"comparator": "max_sim"}}},
        "sparse_vectors": {"s": {}}, "hnsw_config": {"full_scan_threshold": 10},
        "optimizers_config": {"indexing_threshold": 1}})
    rows = [[(i * 7 % 13) / 13, (i % 5) / 5, 1.0, (i % 11) / 11] for i in range(1200)]
    fuzz_rest.ok("PUT", f"/collections/{name}/points", params={"wait": "true"}, json={"points": [
        {"id": i, "vector": {"d": rows[i], "m": [rows[i][:2], rows[i][2:]], "s": {"indices": [i % 5], "values": [1.0]}},
         "payload": {"g": i % 3}} for i in range(1200)]})
    wait_until(lambda: fuzz_rest.ok("GET", f"/collections/{name}")["status"] == "green", 60, 0.1, "indexed")
    assert fuzz_rest.ok("GET", f"/collections/{name}")["indexed_vectors_count"] > 0
    yield Api(fuzz_server, fuzz_rest, name)
    fuzz_rest.delete(f"/collections/{name}")


@pytest.mark.parametrize("big", HUGE_INTS)
@pytest.mark.parametrize("path, body", [
    ("query", {"query": [1, 0, 0, 0], "using": "d", "limit": "BIG"}),
    ("query", {"query": [1, 0, 0, 0], "using": "d", "offset": "BIG"}),
    ("query", {"query": [1, 0, 0, 0], "using": "d", "params": {"hnsw_ef": "BIG"}}),
    ("query", {"query": [1, 0, 0, 0], "using": "d", "params": {"hnsw_ef": "BIG"}, "filter": {"must": [{"key": "g", "match": {"value": 1}}]}}),
    ("query", {"query": [1, 0, 0, 0], "using": "d", "score_threshold": "BIG"}),
    ("query", {"query": {"indices": [1], "values": [1.0]}, "using": "s", "limit": "BIG"}),
    ("query", {"query": [[1, 0], [0, 1]], "using": "m", "limit": "BIG"}),
    ("query", {"prefetch": [{"query": [1, 0, 0, 0], "using": "d", "limit": "BIG"}], "query": {"fusion": "rrf"}, "limit": "BIG"}),
    ("query/groups", {"query": [1, 0, 0, 0], "using": "d", "group_by": "g", "limit": "BIG", "group_size": "BIG"}),
    # one huge field at a time: both huge would ask for every pair of 1200 points
    ("search/matrix/pairs", {"sample": "BIG", "limit": 2, "using": "d"}),
    ("search/matrix/pairs", {"sample": 3, "limit": "BIG", "using": "d"}),
])
def test_huge_integers_in_search_bodies_never_crash(indexed: Api, path: str, body: dict[str, Any], big: int) -> None:
    """Answered (a huge limit or beam is bounded by the data) or refused with a 4xx."""
    text = json.dumps(body).replace('"BIG"', str(big))
    status, _, answer = indexed.raw("POST", f"{indexed.c}/points/{path}", text.encode(), {"content-type": "application/json"})
    assert status in (200, 400, 422), (status, answer[:300])
