"""The raw ASGI request cycle: route, api-key, body limit, inline or threadpool run, envelope.

Per request: one route lookup, one header scan, the body as received (no copy when it comes in
one message), one msgspec encode, two ASGI messages with two headers. Starlette's Request,
routing and Response cost more than a small search (docs/benchmarks.md, "REST layer overhead");
its URL and RedirectResponse remain on rare paths only (404/405 messages, trailing-slash
redirects), where they keep the previous answers exactly.
"""

from __future__ import annotations

import asyncio
import enum
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Union

from starlette.datastructures import URL
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import RedirectResponse
from starlette.types import Receive, Scope, Send

from pydrant.api.access import ApiKeys
from pydrant.api.rest import envelope
from pydrant.api.rest.context import RequestContext
from pydrant.api.rest.router import Router, segments_of
from pydrant.errors import MalformedJson, NotFound, PayloadTooLarge, PydrantError, RateLimited
from pydrant.service.toc import TableOfContents

Handler = Callable[[RequestContext], Any]

JSON = b"application/json"
TEXT = b"text/plain; charset=utf-8"
# As Starlette's (anyio's) default: writes waiting for fsyncs or `wait=true` must not starve reads.
THREADS = 40

class Mode(enum.Enum):
    INLINE = "inline"  # always on the event loop: shorter than a threadpool hop
    ADAPTIVE = "adaptive"  # on the loop while the server serves only this connection (RestApp._alone)
    THREAD = "thread"  # always in the threadpool: writes wait for fsyncs and the update worker


@dataclass(frozen=True, slots=True)
class Api:
    """An API endpoint: api-key, body limit, handler, Qdrant's envelope (for JSON; a text
    endpoint's handler returns its body as a string, errors stay enveloped JSON)."""

    handler: Handler
    mode: Mode
    content_type: bytes = JSON
    label: str = ""  # Qdrant's name of the endpoint in telemetry: `PUT /collections/{name}/points`
    max_body: int | None = None  # a body limit of its own (snapshot uploads); None: the server's
    writes: bool = True  # refused to the read-only API key


class Accepted:
    """A handler's answer when it started the work in the background (`wait=false`): Qdrant's
    202 with status `accepted` and no result."""


@dataclass(frozen=True, slots=True)
class FileDownload:
    """A handler's answer that is a file's bytes (snapshot downloads), streamed in chunks."""

    path: Path
    content_type: bytes = b"application/octet-stream"
    remove_after_open: tuple[Path, ...] = ()  # made for this download only (a streamed shard snapshot)


DOWNLOAD_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class Static:
    """A fixed answer without api-key or envelope (GET /, health probes)."""

    content_type: bytes
    body: bytes


Endpoint = Union[Api, Static]


VARY_ORIGIN = (b"vary", b"Origin")


async def answer(send: Send, status: int, body: bytes, content_type: bytes = JSON, vary: bool = False,
                 retry_after: int | None = None) -> None:
    # a fresh list per answer: CORSMiddleware appends its headers to it
    headers = [(b"content-length", b"%d" % len(body)), (b"content-type", content_type)]
    if vary:
        headers.append(VARY_ORIGIN)
    if retry_after is not None:
        headers.append((b"retry-after", b"%d" % retry_after))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def has_origin(scope: Scope) -> bool:
    for name, _ in scope["headers"]:
        if name == b"origin":
            return True
    return False


class RestApp:
    def __init__(self, toc: TableOfContents, router: Router[Endpoint], max_body_bytes: int, keys: ApiKeys,
                 cors: bool = False) -> None:
        self.toc = toc
        # CORS (any origin, as Qdrant's default): Starlette's middleware answers preflights and
        # adds its headers to requests from browsers, which send an Origin header. The others
        # skip it: its per-request header parsing and send wrapper cost about as much as the
        # rest of this class, and all it adds to them is `Vary: Origin`, which answer() adds.
        self._cors: CORSMiddleware | None = None
        if cors:
            self._cors = CORSMiddleware(self._from_browser, allow_origins=["*"], allow_methods=["*"], allow_headers=["*"])
        self.router = router
        self.max_body_bytes = max_body_bytes
        self.keys = keys
        self._pool = ThreadPoolExecutor(THREADS, thread_name_prefix="pydrant-rest")
        self._in_flight = 0  # HTTP requests between arrival and end, this one included
        self._last_client: Any = None  # the connection (peer address) of the last request started

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            if self._cors is None:
                await self._serve(scope, receive, send, False)
            elif has_origin(scope):
                await self._cors(scope, receive, send)
            else:
                await self._serve(scope, receive, send, True)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        else:  # websocket: no such routes; closing before accept makes uvicorn answer 403
            await send({"type": "websocket.close", "code": 1000, "reason": ""})

    async def _from_browser(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A request with an Origin header, inside the CORS middleware (which adds Vary)."""
        await self._serve(scope, receive, send, False)

    async def _serve(self, scope: Scope, receive: Receive, send: Send, vary: bool) -> None:
        client = scope.get("client")
        same_connection = client is not None and client == self._last_client
        self._last_client = client
        self._in_flight += 1
        try:
            await self._http(scope, receive, send, same_connection, vary)
        finally:
            self._in_flight -= 1

    def _alone(self, same_connection: bool) -> bool:
        """Whether an adaptive read may run on the loop: no other request is in flight, and the
        request before this one came from the same connection.

        The second condition sees overlap that the counter cannot: while a read runs on the
        loop, requests from other clients wait unparsed in their sockets, and each would start
        after it ended with the counter at zero. Two busy clients would then take turns on the
        loop, one core between them. A single client (one keep-alive connection) always runs
        inline; a request following another client's goes to the threadpool."""
        return same_connection and self._in_flight == 1

    async def _http(self, scope: Scope, receive: Receive, send: Send, same_connection: bool, vary: bool) -> None:
        started = time.perf_counter()
        method: str = scope["method"]
        segments = segments_of(scope["path"])
        found = None if segments is None else self.router.match(method, segments)
        if found is None:
            await self._no_route(scope, receive, send, segments, started, vary)
            return
        endpoint, params = found
        if isinstance(endpoint, Static):
            await answer(send, 200, endpoint.body, endpoint.content_type, vary)
            return
        content_type = JSON
        retry_after = None
        try:
            key = authorization = declared = None
            request_type = b""
            for name, value in scope["headers"]:
                if name == b"content-length":
                    declared = value if declared is None else declared
                elif name == b"api-key":
                    key = value if key is None else key
                elif name == b"content-type":
                    request_type = value
                elif name == b"authorization":
                    authorization = value
            if self.keys.enabled:
                self.keys.check(key, authorization, endpoint.writes)
            if b"%" in (raw := scope.get("raw_path") or b"") and b"%2f" in raw.lower():
                # A name never contains `/`: an encoded slash must not reach another route.
                status, body = 404, envelope.error(f"Not found: no route for {method} {URL(scope=scope).path}", started)
            else:
                payload = await self._read_body(receive, declared, endpoint.max_body or self.max_body_bytes)
                if payload is None:
                    return  # the client went away: nobody to answer
                ctx = RequestContext(self.toc, params, scope["query_string"], payload, request_type)
                mode = endpoint.mode
                if mode is Mode.INLINE or (mode is Mode.ADAPTIVE and self._alone(same_connection)):
                    result = endpoint.handler(ctx)
                else:
                    result = await asyncio.get_running_loop().run_in_executor(self._pool, endpoint.handler, ctx)
                if isinstance(result, FileDownload):
                    await self._send_file(send, result, vary)
                    self.toc.rest_stats.record(endpoint.label, 200, time.perf_counter() - started)
                    return
                if isinstance(result, Accepted):
                    status, body = 202, envelope.accepted(started)
                elif endpoint.content_type == JSON:
                    status, body = 200, envelope.ok(result, started)
                else:
                    status, body, content_type = 200, result.encode(), endpoint.content_type
        except PydrantError as exc:
            status, body = envelope.from_exception(exc, started)
            if isinstance(exc, RateLimited):
                retry_after = exc.retry_after
        except RecursionError:  # a filter or body nested past what recursive code can walk
            error = MalformedJson("recursion limit exceeded: the request (a filter or a payload) nests too deeply")
            status, body = envelope.from_exception(error, started)
        except OverflowError:  # a JSON integer past float range reached a float conversion
            error = MalformedJson("number out of range: an integer in the request is beyond the range of a 64-bit float")
            status, body = envelope.from_exception(error, started)
        except Exception as exc:  # our bug: logged with traceback, reported as 500
            status, body = envelope.from_exception(exc, started)
        self.toc.rest_stats.record(endpoint.label, status, time.perf_counter() - started)
        await answer(send, status, body, content_type, vary, retry_after)

    @staticmethod
    async def _send_file(send: Send, download: FileDownload, vary: bool) -> None:
        """The file's bytes as they are now, in chunks; it is opened before the answer starts, so
        a file deleted meanwhile is still sent whole (its inode lives while open)."""
        try:
            file = open(download.path, "rb")
        except FileNotFoundError:  # deleted since the handler found it
            raise NotFound(f"Snapshot {download.path.name} not found") from None
        with file:
            for path in download.remove_after_open:
                path.unlink(missing_ok=True)
            size = os.fstat(file.fileno()).st_size
            headers = [(b"content-length", b"%d" % size), (b"content-type", download.content_type),
                       (b"content-disposition", b'attachment; filename="%s"' % download.path.name.encode())]
            if vary:
                headers.append(VARY_ORIGIN)
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            while True:
                chunk = file.read(DOWNLOAD_CHUNK)
                last = len(chunk) < DOWNLOAD_CHUNK
                await send({"type": "http.response.body", "body": chunk, "more_body": not last})
                if last:
                    return

    async def _read_body(self, receive: Receive, declared: bytes | None, limit: int) -> bytes | None:
        """The whole body, refused past the limit by its declared length or as it streams in;
        None when the client disconnects."""
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge(f"JSON payload ({declared.decode()} bytes) is larger than allowed (limit: {limit} bytes).")
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return None
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"JSON payload is larger than allowed (limit: {limit} bytes).")
            if not message.get("more_body", False):
                if not chunks:
                    return chunk  # the usual case: the whole body in one message, no copy
                chunks.append(chunk)
                return b"".join(chunks)
            chunks.append(chunk)

    async def _no_route(self, scope: Scope, receive: Receive, send: Send, segments: list[str] | None, started: float,
                        vary: bool) -> None:
        """405 when another method has this path, Starlette's trailing-slash redirect, else 404."""
        method, path = scope["method"], scope["path"]
        if segments is not None and self.router.allows_path(segments):
            await answer(send, 405, envelope.error(f"Method {method} is not allowed for {URL(scope=scope).path}", started), JSON, vary)
            return
        if path != "/" and path.endswith("/"):
            stripped = segments_of(path.rstrip("/"))
            if stripped is not None and self.router.allows_path(stripped):
                target = URL(scope={**scope, "path": path.rstrip("/")})
                await RedirectResponse(url=str(target), headers={"vary": "Origin"} if vary else None)(scope, receive, send)
                return
        await answer(send, 404, envelope.error(f"Not found: no route for {method} {URL(scope=scope).path}", started), JSON, vary)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                try:
                    # Uvicorn re-raises SIGTERM/SIGINT after its shutdown, so the flush must happen here.
                    await asyncio.get_running_loop().run_in_executor(self._pool, self.toc.close)
                except BaseException as exc:
                    await send({"type": "lifespan.shutdown.failed", "message": repr(exc)})
                    raise
                self._pool.shutdown(wait=False)
                await send({"type": "lifespan.shutdown.complete"})
                return
