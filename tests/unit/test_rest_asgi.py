"""The ASGI request cycle in process: where handlers run (event loop or threadpool), the body
limit, the lifespan, the envelope. No server, no sockets: scopes and messages by hand."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

import pytest

from starlette.middleware.cors import CORSMiddleware

from pydrant.api.access import ApiKeys
from pydrant.api.rest.asgi import Api, FileDownload, Mode, RestApp, Static
from pydrant.api.rest.context import RequestContext
from pydrant.api.rest.router import Router
from pydrant.errors import NotFound
from pydrant.service.request_stats import RequestStats


class FakeToc:
    """The table of contents as the ASGI layer uses it: answers are counted, shutdown closes it."""

    def __init__(self) -> None:
        self.closed = 0
        self.rest_stats = RequestStats()

    def close(self) -> None:
        self.closed += 1


def scope(method: str, path: str, client: tuple[str, int] | None = ("127.0.0.1", 5000), query: bytes = b"",
          headers: list[tuple[bytes, bytes]] | None = None) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "raw_path": path.encode(), "query_string": query,
            "headers": headers or [], "client": client, "server": ("127.0.0.1", 6333), "scheme": "http", "root_path": ""}


async def request(app: RestApp, sc: dict[str, Any], chunks: list[bytes] | None = None) -> tuple[int, dict[bytes, bytes], bytes]:
    pending = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)] if chunks else \
        [{"type": "http.request", "body": b"", "more_body": False}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(sc, receive, send)
    start, body = sent
    return start["status"], dict(start["headers"]), body["body"]


class Where:
    """Handlers that record the thread they ran on."""

    def __init__(self) -> None:
        self.threads: list[str] = []
        self.release = threading.Event()
        self.entered = threading.Event()

    def record(self, ctx: RequestContext) -> Any:
        self.threads.append(threading.current_thread().name)
        return {"path": ctx.path, "query": ctx.query, "body": ctx.body.decode()}

    def blocking(self, ctx: RequestContext) -> Any:
        self.entered.set()
        self.release.wait(10)
        return True


def make_app(where: Where, max_body: int = 100, api_key: str | None = None, cors: bool = False) -> tuple[RestApp, FakeToc]:
    router: Router[Any] = Router()
    router.add("POST", "/adaptive/{name}", Api(where.record, Mode.ADAPTIVE))
    router.add("POST", "/inline", Api(where.record, Mode.INLINE))
    router.add("POST", "/thread", Api(where.record, Mode.THREAD))
    router.add("POST", "/block", Api(where.blocking, Mode.THREAD))
    router.add("GET", "/missing", Api(lambda ctx: (_ for _ in ()).throw(NotFound("nothing here")), Mode.INLINE))
    router.add("GET", "/static", Static(b"text/plain", b"fixed"))
    toc = FakeToc()
    return RestApp(toc, router, max_body, ApiKeys(api_key), cors), toc  # type: ignore[arg-type]


LOOP = threading.current_thread().name


def test_single_connection_reads_run_on_the_loop() -> None:
    where = Where()
    app, _ = make_app(where)

    async def main() -> None:
        for _ in range(3):
            status, headers, body = await request(app, scope("POST", "/adaptive/a%20b"))
            assert status == 200
            assert headers == {b"content-length": str(len(body)).encode(), b"content-type": b"application/json"}

    asyncio.run(main())
    # the very first request follows no request of its connection: threadpool; then the loop
    assert where.threads[0] != LOOP and where.threads[1:] == [LOOP, LOOP]


def test_a_request_after_another_connections_goes_to_the_threadpool() -> None:
    where = Where()
    app, _ = make_app(where)

    async def main() -> None:
        for client in [("a", 1), ("a", 1), ("b", 2), ("b", 2), ("a", 1), (None, 0)]:
            await request(app, scope("POST", "/adaptive/x", client=None if client[0] is None else client))

    asyncio.run(main())
    on_loop = [t == LOOP for t in where.threads]
    assert on_loop == [False, True, False, True, False, False]


def test_overlapping_requests_send_adaptive_reads_to_the_threadpool() -> None:
    where = Where()
    app, _ = make_app(where)

    async def main() -> None:
        await request(app, scope("POST", "/adaptive/x"))
        blocked = asyncio.ensure_future(request(app, scope("POST", "/block", client=("other", 9))))
        await asyncio.get_running_loop().run_in_executor(None, where.entered.wait, 10)  # /block is in flight
        await request(app, scope("POST", "/adaptive/x"))  # primes the connection again
        await request(app, scope("POST", "/adaptive/x"))  # same connection, but /block is in flight
        where.release.set()
        assert (await blocked)[0] == 200
        await request(app, scope("POST", "/adaptive/x"))  # alone again: on the loop

    asyncio.run(main())
    assert [t == LOOP for t in where.threads] == [False, False, False, True]


def test_inline_and_thread_modes_ignore_connections() -> None:
    where = Where()
    app, _ = make_app(where)

    async def main() -> None:
        for i in range(3):
            await request(app, scope("POST", "/inline", client=("c", i)))
            await request(app, scope("POST", "/thread"))

    asyncio.run(main())
    assert [t == LOOP for t in where.threads] == [True, False] * 3


def test_context_gets_decoded_params_query_and_joined_body() -> None:
    where = Where()
    app, _ = make_app(where)

    async def main() -> dict[str, Any]:
        sc = scope("POST", "/adaptive/ü x", query=b"a=1&b=&a=%32&c=x+y")
        status, _, body = await request(app, sc, chunks=[b'{"x"', b"", b": 1}"])
        assert status == 200
        return dict(json.loads(body)["result"])

    result = asyncio.run(main())
    assert result == {"path": {"name": "ü x"}, "query": {"a": "2", "b": "", "c": "x y"}, "body": '{"x": 1}'}


@pytest.mark.parametrize("chunks,declared,message", [
    ([b"x" * 101], None, "JSON payload is larger than allowed (limit: 100 bytes)."),
    ([b"x" * 60, b"x" * 41], None, "JSON payload is larger than allowed (limit: 100 bytes)."),
    ([b"x"], b"101", "JSON payload (101 bytes) is larger than allowed (limit: 100 bytes)."),
])
def test_body_limit(chunks: list[bytes], declared: bytes | None, message: str) -> None:
    where = Where()
    app, _ = make_app(where)
    headers = [(b"content-length", declared)] if declared else []
    status, _, body = asyncio.run(request(app, scope("POST", "/thread", headers=headers), chunks))
    assert (status, json.loads(body)["status"]["error"]) == (400, message)
    assert where.threads == []


def test_body_at_the_limit_passes() -> None:
    where = Where()
    app, _ = make_app(where)
    status, _, _ = asyncio.run(request(app, scope("POST", "/thread", headers=[(b"content-length", b"100")]), [b"x" * 50] * 2))
    assert status == 200


def test_client_gone_mid_body_gets_no_answer_and_runs_nothing() -> None:
    where = Where()
    app, _ = make_app(where)
    sent: list[Any] = []
    messages = [{"type": "http.request", "body": b"{", "more_body": True}, {"type": "http.disconnect"}]

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope("POST", "/thread"), receive, send))  # type: ignore[arg-type]
    assert sent == [] and where.threads == []


def test_api_key_and_static_answers() -> None:
    where = Where()
    app, _ = make_app(where, api_key="k")

    async def main() -> None:
        assert (await request(app, scope("POST", "/inline")))[0] == 401
        assert (await request(app, scope("POST", "/inline", headers=[(b"api-key", b"x")])))[0] == 401
        assert (await request(app, scope("POST", "/inline", headers=[(b"api-key", b"k"), (b"api-key", b"x")])))[0] == 200
        assert await request(app, scope("GET", "/static")) == (200, {b"content-length": b"5", b"content-type": b"text/plain"}, b"fixed")

    asyncio.run(main())


def test_errors_use_the_envelope() -> None:
    where = Where()
    app, _ = make_app(where)
    status, _, body = asyncio.run(request(app, scope("GET", "/missing")))
    doc = json.loads(body)
    assert status == 404 and doc["status"] == {"error": "Not found: nothing here"} and isinstance(doc["time"], float)


def test_lifespan_closes_the_toc_on_shutdown() -> None:
    where = Where()
    app, toc = make_app(where)
    inbox = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return inbox.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message["type"])
        assert toc.closed == (1 if message["type"] == "lifespan.shutdown.complete" else 0)

    asyncio.run(app({"type": "lifespan"}, receive, send))  # type: ignore[arg-type]
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"] and toc.closed == 1


ORIGIN = [(b"origin", b"http://app.test")]
PREFLIGHT = [*ORIGIN, (b"access-control-request-method", b"POST"), (b"access-control-request-headers", b"api-key")]


@pytest.mark.parametrize("method, path, headers", [
    ("POST", "/inline", []), ("POST", "/inline", ORIGIN),
    ("GET", "/static", []), ("GET", "/static", ORIGIN),
    ("GET", "/missing", []), ("GET", "/missing", ORIGIN),  # a handler's error
    ("GET", "/inline", []), ("GET", "/inline", ORIGIN),  # 405
    ("GET", "/nowhere", []), ("GET", "/nowhere", ORIGIN),  # 404
    ("POST", "/inline/", []), ("POST", "/inline/", ORIGIN),  # trailing-slash redirect
    ("OPTIONS", "/inline", []), ("OPTIONS", "/inline", PREFLIGHT),
    ("POST", "/inline", [(b"Origin", b"x")]),  # ASGI servers lower-case names; a raw scope may not
])
def test_requests_without_origin_skip_the_cors_middleware_and_answer_alike(
        method: str, path: str, headers: list[tuple[bytes, bytes]]) -> None:
    """The built-in CORS gate answers exactly as Starlette's middleware around the app does:
    the same status, the same headers (one `vary`), the same body."""

    async def messages(app: Any) -> list[dict[str, Any]]:
        inbox = [{"type": "http.request", "body": b"", "more_body": False}]
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return inbox.pop(0) if inbox else {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app(scope(method, path, headers=headers), receive, send)
        start, body = sent
        answered = sorted((bytes(k).lower(), bytes(v)) for k, v in start["headers"])
        assert dict(answered).get(b"content-length", b"0") == b"%d" % len(body["body"])
        if body["body"].startswith(b"{"):
            # `time` is the one field that differs, and with it the length
            body["body"] = {**json.loads(body["body"]), "time": 0}
            answered = [(k, b"*" if k == b"content-length" else v) for k, v in answered]
        start["headers"] = answered
        return sent

    gated, _ = make_app(Where(), cors=True)
    plain, _ = make_app(Where())
    wrapped = CORSMiddleware(plain, allow_origins=["*"], allow_methods=["*"], allow_headers=["*"])
    ours, theirs = asyncio.run(messages(gated)), asyncio.run(messages(wrapped))
    assert ours == theirs
    names = [name for name, _ in ours[0]["headers"]]
    assert names.count(b"vary") == 1


def test_a_file_download_streams_the_file_and_a_vanished_file_is_404(tmp_path: Path) -> None:
    """A snapshot deleted between the handler finding it and the answer starting is a 404
    envelope, not a 500; an existing one streams in chunks with its length."""
    present = tmp_path / "a.snapshot"
    present.write_bytes(b"x" * 3000)
    router: Router[Any] = Router()
    router.add("GET", "/file/{name}", Api(lambda ctx: FileDownload(tmp_path / ctx.path["name"]), Mode.INLINE, writes=False))
    toc = FakeToc()
    app = RestApp(toc, router, 100, ApiKeys(None), False)  # type: ignore[arg-type]

    async def main() -> None:
        status, headers, body = await request(app, scope("GET", "/file/a.snapshot"))
        assert status == 200 and body == b"x" * 3000
        assert headers[b"content-length"] == b"3000" and headers[b"content-type"] == b"application/octet-stream"
        status, _, body = await request(app, scope("GET", "/file/gone.snapshot"))
        assert status == 404 and json.loads(body)["status"]["error"] == "Not found: Snapshot gone.snapshot not found"

    asyncio.run(main())
