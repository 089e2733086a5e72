"""The ASGI application: the route table and the one wrapper every handler goes through."""

from __future__ import annotations

import contextlib
import time
from typing import Any, AsyncIterator, Callable

import msgspec
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from pydrant.api.rest import envelope, routes_collections as col, routes_points as pts, routes_query as qry, routes_service as svc
from pydrant.api.rest.context import RequestContext
from pydrant.errors import MalformedJson, PayloadTooLarge, PydrantError
from pydrant.service.toc import TableOfContents

Handler = Callable[[RequestContext], Any]

C = "/collections/{collection_name}"
ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/cluster", svc.cluster),
    ("GET", "/collections", col.list_collections),
    ("GET", "/aliases", col.list_aliases),
    ("POST", "/collections/aliases", col.update_aliases),
    ("GET", C, col.collection_info),
    ("PUT", C, col.create_collection),
    ("PATCH", C, col.update_collection),
    ("DELETE", C, col.delete_collection),
    ("GET", C + "/exists", col.collection_exists),
    ("GET", C + "/aliases", col.collection_aliases),
    ("PUT", C + "/vectors/{vector_name}", col.create_vector_name),
    ("DELETE", C + "/vectors/{vector_name}", col.delete_vector_name),
    ("PUT", C + "/index", col.create_index),
    ("DELETE", C + "/index/{field_name}", col.delete_index),
    ("PUT", C + "/points", pts.upsert_points),
    ("POST", C + "/points", pts.retrieve_points),
    ("GET", C + "/points/{id}", pts.get_point),
    ("POST", C + "/points/delete", pts.delete_points),
    ("PUT", C + "/points/vectors", pts.update_vectors),
    ("POST", C + "/points/vectors/delete", pts.delete_vectors),
    ("POST", C + "/points/payload", pts.set_payload),
    ("PUT", C + "/points/payload", pts.overwrite_payload),
    ("POST", C + "/points/payload/delete", pts.delete_payload),
    ("POST", C + "/points/payload/clear", pts.clear_payload),
    ("POST", C + "/points/scroll", pts.scroll_points),
    ("POST", C + "/points/count", pts.count_points),
    ("POST", C + "/points/batch", pts.batch_update),
    ("POST", C + "/facet", pts.facet),
    ("POST", C + "/points/query", qry.query_points),
    ("POST", C + "/points/query/batch", qry.query_batch),
    ("POST", C + "/points/query/groups", qry.query_groups),
    ("POST", C + "/points/search/matrix/pairs", qry.matrix_pairs),
    ("POST", C + "/points/search/matrix/offsets", qry.matrix_offsets),
]

# Reads that are short and never block on I/O: run on the event loop (see RestApp.endpoint).
INLINE_READS: set[Handler] = {
    col.list_collections,
    col.collection_exists,
    col.collection_info,
    col.list_aliases,
    col.collection_aliases,
    pts.retrieve_points,
    pts.get_point,
    pts.count_points,
}

UNSUPPORTED_PATHS: list[tuple[str, str]] = [
    # Endpoints of the contract that pydrant does not implement: they answer a clear 400.
    ("GET", "/telemetry"),
    ("GET", "/metrics"),
    ("GET", "/issues"),
    ("DELETE", "/issues"),
    ("GET", "/quotas"),
    ("PUT", "/quotas"),
    ("GET", "/cluster/telemetry"),
    ("POST", "/cluster/recover"),
    ("DELETE", "/cluster/peer/{peer_id}"),
    ("GET", "/snapshots"),
    ("POST", "/snapshots"),
    ("GET", "/snapshots/{snapshot_name}"),
    ("DELETE", "/snapshots/{snapshot_name}"),
    ("GET", C + "/optimizations"),
    ("GET", C + "/snapshots"),
    ("POST", C + "/snapshots"),
    ("POST", C + "/snapshots/upload"),
    ("PUT", C + "/snapshots/recover"),
    ("GET", C + "/snapshots/{snapshot_name}"),
    ("DELETE", C + "/snapshots/{snapshot_name}"),
    ("GET", C + "/cluster"),
    ("POST", C + "/cluster"),
    ("GET", C + "/shards"),
    ("PUT", C + "/shards"),
    ("POST", C + "/shards/delete"),
    ("GET", C + "/shards/{shard_id}/snapshot"),
    ("GET", C + "/shards/{shard_id}/snapshots"),
    ("POST", C + "/shards/{shard_id}/snapshots"),
    ("POST", C + "/shards/{shard_id}/snapshots/upload"),
    ("PUT", C + "/shards/{shard_id}/snapshots/recover"),
    ("GET", C + "/shards/{shard_id}/snapshots/{snapshot_name}"),
    ("DELETE", C + "/shards/{shard_id}/snapshots/{snapshot_name}"),
]


class RestApp:
    def __init__(self, toc: TableOfContents, max_body_bytes: int, api_key: str | None) -> None:
        self.toc = toc
        self.max_body_bytes = max_body_bytes
        self.api_key = api_key

    async def _read_body(self, request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            raise PayloadTooLarge(f"JSON payload ({declared} bytes) is larger than allowed (limit: {self.max_body_bytes} bytes).")
        chunks = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_body_bytes:
                raise PayloadTooLarge(f"JSON payload is larger than allowed (limit: {self.max_body_bytes} bytes).")
            chunks.append(chunk)
        return b"".join(chunks)

    def endpoint(self, handler: Handler, inline: bool = False) -> Callable[[Request], Any]:
        """`inline` handlers (short reads) run on the event loop: a threadpool hop costs more
        than they do, and they never wait for I/O. Writes always go to the threadpool (they
        wait for fsyncs and the update worker)."""
        async def run(request: Request) -> Response:
            started = time.perf_counter()
            try:
                if self.api_key is not None and request.headers.get("api-key") != self.api_key and request.url.path not in ("/healthz", "/livez", "/readyz"):
                    return envelope.error("Unauthorized: invalid or missing api-key", 401, started)
                if b"%2f" in request.scope.get("raw_path", b"").lower():
                    # A name never contains `/`: an encoded slash must not reach another route.
                    return envelope.error(f"Not found: no route for {request.method} {request.url.path}", 404, started)
                body = await self._read_body(request)
                ctx = RequestContext(self.toc, dict(request.path_params), dict(request.query_params), body)
                result = handler(ctx) if inline else await run_in_threadpool(handler, ctx)
                return envelope.ok(result, started)
            except PydrantError as exc:
                return envelope.from_exception(exc, started)
            except RecursionError:  # a filter or body nested past what recursive code can walk
                return envelope.from_exception(MalformedJson("recursion limit exceeded: the request (a filter or a payload) nests too deeply"), started)
            except Exception as exc:  # our bug: logged with traceback, reported as 500
                return envelope.from_exception(exc, started)

        return run


def _health(request: Request) -> Response:
    return PlainTextResponse(f"{request.url.path.strip('/')} check passed")


def build_app(toc: TableOfContents, max_body_bytes: int, api_key: str | None = None, enable_cors: bool = True) -> Starlette:
    rest = RestApp(toc, max_body_bytes, api_key)
    routes = [
        Route(path, rest.endpoint(handler, inline=handler in INLINE_READS), methods=[method]) for method, path, handler in ROUTES
    ]
    routes += [Route(path, rest.endpoint(svc.unsupported), methods=[method]) for method, path in UNSUPPORTED_PATHS]
    routes += [Route(p, _health, methods=["GET"]) for p in ("/healthz", "/livez", "/readyz")]
    routes.append(Route("/", lambda request: envelope.JsonBytes(msgspec.json.encode(svc.root(None))), methods=["GET"]))  # type: ignore[arg-type]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        # Uvicorn re-raises SIGTERM/SIGINT after its shutdown, so the flush must happen here.
        await run_in_threadpool(toc.close)

    middleware = [Middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["*"], allow_headers=["*"])] if enable_cors else []
    app = Starlette(routes=routes, lifespan=lifespan, middleware=middleware)

    async def not_found(request: Request, exc: Exception) -> Response:
        return envelope.error(f"Not found: no route for {request.method} {request.url.path}", 404, time.perf_counter())

    async def method_not_allowed(request: Request, exc: Exception) -> Response:
        return envelope.error(f"Method {request.method} is not allowed for {request.url.path}", 405, time.perf_counter())

    app.add_exception_handler(404, not_found)
    app.add_exception_handler(405, method_not_allowed)
    return app
