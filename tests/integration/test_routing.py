"""The REST dispatcher over raw HTTP: 404/405 envelopes, percent-decoding, the `%2F` guard,
api-key, body limits, CORS, HEAD/OPTIONS, trailing slashes, and reads that overlap."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from typing import Any, Callable, Iterator

import pytest

from helpers.server import HOST, ServerProcess

KEY = "sekret-key"
LIMIT_MB = 0.01  # 10485 bytes
LIMIT = int(LIMIT_MB * 1024 * 1024)


class Answer:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body)

    def error(self) -> str:
        doc = self.json()
        assert set(doc) == {"status", "time"} and isinstance(doc["time"], float), doc
        return str(doc["status"]["error"])


def call(server: ServerProcess, method: str, path: str, body: bytes | None = None,
         headers: dict[str, str] | None = None, chunked: bool = False) -> Answer:
    """One request on its own connection; `path` is sent exactly as given (no re-encoding)."""
    assert server.port is not None
    conn = http.client.HTTPConnection(HOST, server.port, timeout=30)
    try:
        if chunked:
            assert body is not None
            pieces = [body[i:i + 1000] for i in range(0, len(body), 1000)]
            conn.request(method, path, body=iter(pieces), headers={**(headers or {}), "Transfer-Encoding": "chunked"},
                         encode_chunked=True)
        else:
            conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        return Answer(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
    finally:
        conn.close()


def raw_exchange(server: ServerProcess, data: bytes) -> bytes:
    """Send raw bytes, read until the server closes the connection."""
    assert server.port is not None
    with socket.create_connection((HOST, server.port), timeout=30) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.fixture
def coll(server: ServerProcess, collection_name: str) -> Iterator[str]:
    created = call(server, "PUT", f"/collections/{collection_name}", json.dumps({"vectors": {"size": 4, "distance": "Dot"}}).encode())
    assert created.status == 200, created.body
    points = {"points": [{"id": i, "vector": [1.0, float(i), 0.0, 0.0], "payload": {"n": i}} for i in range(1, 6)]}
    assert call(server, "PUT", f"/collections/{collection_name}/points?wait=true", json.dumps(points).encode()).status == 200
    yield collection_name
    call(server, "DELETE", f"/collections/{collection_name}")


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server with an api-key, a 10 KB body limit and CORS off."""
    base = tmp_path_factory.mktemp("routing-keyed")
    proc = ServerProcess(base / "storage", base / "server.log", env={
        "PYDRANT__SERVICE__API_KEY": KEY, "PYDRANT__SERVICE__MAX_REQUEST_SIZE_MB": str(LIMIT_MB),
        "PYDRANT__SERVICE__ENABLE_CORS": "false"})
    proc.start()
    yield proc
    assert proc.stop() == 0


# ---------------------------------------------------------------- 404 / 405


@pytest.mark.parametrize("method,path", [("GET", "/nope"), ("POST", "/collections/c/nope/x/y"), ("GET", "/x/y/z"),
                                         ("GET", "//collections"), ("GET", "/COLLECTIONS"), ("DELETE", "/nope")])
def test_unknown_path_is_404_envelope(server: ServerProcess, method: str, path: str) -> None:
    answer = call(server, method, path)
    assert answer.status == 404
    assert answer.headers["content-type"] == "application/json"
    assert answer.error() == f"Not found: no route for {method} {path}"


@pytest.mark.parametrize("method,path", [("POST", "/collections"), ("DELETE", "/collections"), ("PUT", "/healthz"),
                                         ("POST", "/"), ("GET", "/collections/c/index/f"), ("POST", "/telemetry"),
                                         ("PATCH", "/collections/c/points")])
def test_wrong_method_is_405_envelope(server: ServerProcess, method: str, path: str) -> None:
    answer = call(server, method, path)
    assert answer.status == 405
    assert answer.headers["content-type"] == "application/json"
    assert answer.error() == f"Method {method} is not allowed for {path}"


def test_empty_name_inside_a_path_is_a_422(server: ServerProcess) -> None:
    """As Qdrant: `//` names an empty collection, which no collection can have."""
    for method, path in (("GET", "/collections//exists"), ("GET", "/collections//points/1"), ("POST", "/collections//points/scroll")):
        answer = call(server, method, path)
        assert answer.status == 422, (method, path)
        assert answer.error().startswith("Validation error in path parameters: [collection_name: "), (method, path)
    long_name = "x" * 256
    assert call(server, "GET", f"/collections/{long_name}/points/1").status == 422
    assert call(server, "DELETE", f"/collections/{long_name}").status == 422
    assert call(server, "GET", "/collections/no_such_collection/points/1").status == 404


def test_trailing_slash_redirects_as_before(server: ServerProcess) -> None:
    answer = call(server, "GET", "/collections/?x=1")
    assert answer.status == 307
    assert answer.headers["location"] == f"{server.url}/collections?x=1"
    assert call(server, "GET", "/nope/").status == 404


# ---------------------------------------------------------------- percent-decoding


@pytest.mark.parametrize("name", ["a b", "ü-ñ", "with:colon", "semi;colon", "per%cent", "q?mark", "hash#tag"])
def test_percent_encoded_names(server: ServerProcess, name: str) -> None:
    encoded = "".join(c if c.isascii() and c.isalnum() else "".join(f"%{b:02X}" for b in c.encode()) for c in name)
    created = call(server, "PUT", f"/collections/{encoded}", b'{"vectors": {"size": 2, "distance": "Dot"}}')
    try:
        assert created.status == 200, created.body
        assert call(server, "GET", f"/collections/{encoded}/exists").json()["result"] == {"exists": True}
        listed = call(server, "GET", "/collections").json()["result"]["collections"]
        assert {"name": name} in listed
        assert call(server, "PUT", f"/collections/{encoded}/points?wait=true",
                    b'{"points": [{"id": 3, "vector": [1, 2]}]}').status == 200
        assert call(server, "GET", f"/collections/{encoded}/points/%33").json()["result"]["id"] == 3
    finally:
        assert call(server, "DELETE", f"/collections/{encoded}").status == 200
    missing = call(server, "GET", f"/collections/{encoded}")
    assert missing.status == 404
    assert missing.error() == f"Not found: Collection `{name}` doesn't exist!"


@pytest.mark.parametrize("encoded_slash", ["%2F", "%2f"])
def test_encoded_slash_never_reaches_another_route(server: ServerProcess, coll: str, encoded_slash: str) -> None:
    # decoded, `coll/exists` would be the exists route of `coll`: it must not be
    answer = call(server, "GET", f"/collections/{coll}{encoded_slash}exists")
    assert answer.status == 404
    assert answer.error() == f"Not found: no route for GET /collections/{coll}/exists"
    deleted = call(server, "DELETE", f"/collections/{coll}{encoded_slash}x")
    assert deleted.status == 404
    assert call(server, "GET", f"/collections/{coll}/exists").json()["result"] == {"exists": True}


# ---------------------------------------------------------------- query parameters


def test_query_parameters_last_value_wins_and_blank_is_kept(server: ServerProcess, coll: str) -> None:
    body = b'{"points": [{"id": 9, "vector": [1, 2, 3, 4]}]}'
    done = call(server, "PUT", f"/collections/{coll}/points?wait=false&wait=%74rue", body)
    assert done.json()["result"]["status"] == "completed"
    blank = call(server, "PUT", f"/collections/{coll}/points?wait=", body)
    assert blank.status == 400
    assert blank.error() == "Format error in query parameters: wait: expected `true` or `false`, got ``"


# ---------------------------------------------------------------- static answers, HEAD, OPTIONS


def test_root_and_health_are_unwrapped(server: ServerProcess) -> None:
    root = call(server, "GET", "/")
    assert root.headers["content-type"] == "application/json"
    assert root.json()["title"] == "qdrant - vector search engine"
    # Qdrant's texts: liveness says healthz for both of its paths.
    for probe, text in (("healthz", b"healthz check passed"), ("livez", b"healthz check passed"),
                        ("readyz", b"all shards are ready")):
        health = call(server, "GET", f"/{probe}")
        assert (health.status, health.body) == (200, text)
        assert health.headers["content-type"] == "text/plain; charset=utf-8"


@pytest.mark.parametrize("path", ["/", "/healthz", "/collections", "/cluster"])
def test_head_answers_like_get_without_body(server: ServerProcess, path: str) -> None:
    get = call(server, "GET", path)
    head = call(server, "HEAD", path)
    assert head.status == get.status == 200
    assert head.body == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    assert int(head.headers["content-length"]) > 0


def test_head_of_post_route_is_405(server: ServerProcess, coll: str) -> None:
    assert call(server, "HEAD", f"/collections/{coll}/facet").status == 405


def test_options_without_preflight_is_405(server: ServerProcess) -> None:
    answer = call(server, "OPTIONS", "/collections")
    assert answer.status == 405
    assert answer.error() == "Method OPTIONS is not allowed for /collections"


def test_answer_headers_are_minimal(server: ServerProcess) -> None:
    answer = call(server, "GET", "/collections")
    assert answer.headers["content-length"] == str(len(answer.body))
    assert set(answer.headers) <= {"content-length", "content-type", "vary", "date", "server"}


# ---------------------------------------------------------------- CORS


def test_cors_preflight_and_simple_request(server: ServerProcess) -> None:
    preflight = call(server, "OPTIONS", "/collections/x/points/query", headers={
        "Origin": "http://app.test", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "api-key"})
    assert preflight.status == 200
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert preflight.headers["access-control-allow-headers"] == "api-key"
    simple = call(server, "GET", "/nope", headers={"Origin": "http://app.test"})
    assert simple.status == 404
    assert simple.headers["access-control-allow-origin"] == "*"
    assert simple.headers["vary"] == "Origin"


def test_cors_off_means_no_preflight(keyed: ServerProcess) -> None:
    preflight = call(keyed, "OPTIONS", "/collections", headers={
        "Origin": "http://app.test", "Access-Control-Request-Method": "GET"})
    assert preflight.status == 405
    assert "access-control-allow-origin" not in call(keyed, "GET", "/", headers={"Origin": "http://app.test"}).headers


# ---------------------------------------------------------------- api-key


def test_api_key_guards_api_routes_only(keyed: ServerProcess) -> None:
    for headers, message in (({}, "Unauthorized: Must provide an API key or an Authorization bearer token"),
                             ({"api-key": "wrong"}, "Unauthorized: Invalid API key or JWT"),
                             ({"api-key": KEY + " "}, "Unauthorized: Invalid API key or JWT"),
                             ({"Authorization": f"Basic {KEY}"}, "Unauthorized: Must provide an API key or an Authorization bearer token"),
                             ({"Authorization": "Bearer wrong"}, "Unauthorized: Invalid API key or JWT")):
        refused = call(keyed, "GET", "/collections", headers=headers)
        assert refused.status == 401
        assert refused.error() == message  # Qdrant's words
        assert call(keyed, "GET", "/telemetry", headers=headers).status == 401
        assert call(keyed, "GET", "/metrics", headers=headers).status == 401
    assert call(keyed, "GET", "/collections", headers={"Api-Key": KEY}).status == 200
    assert call(keyed, "GET", "/collections", headers={"Authorization": f"Bearer {KEY}"}).status == 200
    assert call(keyed, "GET", "/metrics", headers={"api-key": KEY}).status == 200
    # no key needed: root, health probes; unknown paths and wrong methods answer 404 / 405
    for path in ("/", "/healthz", "/livez", "/readyz"):
        assert call(keyed, "GET", path).status == 200
    assert call(keyed, "GET", "/nope").status == 404
    assert call(keyed, "POST", "/collections").status == 405


def test_api_key_is_checked_before_the_encoded_slash_guard(keyed: ServerProcess) -> None:
    assert call(keyed, "GET", "/collections/a%2Fexists").status == 401
    assert call(keyed, "GET", "/collections/a%2Fexists", headers={"api-key": KEY}).status == 404


# ---------------------------------------------------------------- body size


def _points_body(size: int) -> bytes:
    """A valid upsert body of exactly `size` bytes (padded with trailing whitespace)."""
    body = json.dumps({"points": [{"id": i, "vector": [0.5, 0.25]} for i in range(size // 40)]}).encode()
    assert len(body) <= size
    return body + b" " * (size - len(body))


@pytest.fixture(scope="module")
def keyed_coll(keyed: ServerProcess) -> str:
    created = call(keyed, "PUT", "/collections/small", b'{"vectors": {"size": 2, "distance": "Dot"}}', headers={"api-key": KEY})
    assert created.status == 200, created.body
    return "small"


def test_declared_oversize_body_is_refused(keyed: ServerProcess, keyed_coll: str) -> None:
    body = _points_body(LIMIT + 1)
    assert len(body) == LIMIT + 1
    refused = call(keyed, "PUT", f"/collections/{keyed_coll}/points?wait=true", body, headers={"api-key": KEY})
    assert refused.status == 400
    assert refused.error() == f"JSON payload ({LIMIT + 1} bytes) is larger than allowed (limit: {LIMIT} bytes)."


def test_streamed_oversize_body_is_refused(keyed: ServerProcess, keyed_coll: str) -> None:
    refused = call(keyed, "PUT", f"/collections/{keyed_coll}/points?wait=true", _points_body(LIMIT + 1),
                   headers={"api-key": KEY}, chunked=True)
    assert refused.status == 400
    assert refused.error() == f"JSON payload is larger than allowed (limit: {LIMIT} bytes)."


@pytest.mark.parametrize("chunked", [False, True])
def test_body_at_the_limit_is_accepted(keyed: ServerProcess, keyed_coll: str, chunked: bool) -> None:
    body = _points_body(LIMIT)
    accepted = call(keyed, "PUT", f"/collections/{keyed_coll}/points?wait=true", body, headers={"api-key": KEY}, chunked=chunked)
    assert accepted.status == 200, accepted.body
    assert accepted.json()["result"]["status"] == "completed"


def test_client_leaving_mid_body_is_not_a_server_error(keyed: ServerProcess, keyed_coll: str) -> None:
    head = (f"PUT /collections/{keyed_coll}/points?wait=true HTTP/1.1\r\nHost: x\r\napi-key: {KEY}\r\n"
            "Content-Length: 5000\r\n\r\n").encode()
    assert keyed.port is not None
    with socket.create_connection((HOST, keyed.port), timeout=30) as sock:
        sock.sendall(head + b'{"points": [')
    # the server answers the next request normally and logged no internal error
    assert call(keyed, "GET", "/collections", headers={"api-key": KEY}).status == 200
    assert "internal error" not in keyed.log_path.read_text(errors="replace")


# ---------------------------------------------------------------- other scopes


def test_websocket_upgrade_is_refused(server: ServerProcess) -> None:
    answer = raw_exchange(server, b"GET /collections HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                  b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 403")


# ---------------------------------------------------------------- reads that overlap


def _in_threads(count: int, work: Callable[[int], None]) -> None:
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            work(i)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors[0]


def test_overlapping_reads_and_writes_answer_correctly(server: ServerProcess, coll: str) -> None:
    """Reads run on the event loop when alone and in the threadpool when requests overlap: both
    give the same answers, while writes keep landing."""
    expected = call(server, "POST", f"/collections/{coll}/points/query", b'{"query": [0, 1, 0, 0], "limit": 3}').json()["result"]
    assert [p["id"] for p in expected["points"]] == [5, 4, 3]

    def client(i: int) -> None:
        assert server.port is not None
        conn = http.client.HTTPConnection(HOST, server.port, timeout=30)
        try:
            for j in range(40):
                if i == 0:  # one writer, on points the reads never rank first
                    conn.request("PUT", f"/collections/{coll}/points?wait=true",
                                 json.dumps({"points": [{"id": 100 + j, "vector": [0.0, 0.0, 1.0, 0.0]}]}).encode())
                    resp = conn.getresponse()
                    assert resp.status == 200, resp.read()
                    resp.read()
                    continue
                conn.request("POST", f"/collections/{coll}/points/query", b'{"query": [0, 1, 0, 0], "limit": 3}')
                resp = conn.getresponse()
                assert resp.status == 200
                assert json.loads(resp.read())["result"] == expected
                conn.request("POST", f"/collections/{coll}/points/scroll", b'{"limit": 2}')
                resp = conn.getresponse()
                assert resp.status == 200
                assert [p["id"] for p in json.loads(resp.read())["result"]["points"]] == [1, 2]
        finally:
            conn.close()

    _in_threads(4, client)
    count = call(server, "POST", f"/collections/{coll}/points/count", b'{"exact": true}').json()["result"]
    assert count == {"count": 45}
