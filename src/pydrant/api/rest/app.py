"""The ASGI application: the route table, which handlers may run on the event loop, and wiring."""

from __future__ import annotations

import msgspec
from starlette.types import ASGIApp

from pydrant.api.rest import routes_collections as col, routes_points as pts, routes_query as qry, routes_service as svc
from pydrant.api.access import ApiKeys
from pydrant.api.rest import routes_snapshots as snap
from pydrant.api.rest.asgi import JSON, TEXT, Api, Endpoint, Handler, Mode, RestApp, Static
from pydrant.api.rest.router import Router
from pydrant.service.toc import TableOfContents

C = "/collections/{collection_name}"
ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/cluster", svc.cluster),
    ("POST", "/cluster/recover", svc.standalone_only),
    ("DELETE", "/cluster/peer/{peer_id}", svc.standalone_only),
    ("GET", "/telemetry", svc.telemetry),
    ("GET", "/metrics", svc.metrics),
    ("GET", "/collections", col.list_collections),
    ("GET", "/aliases", col.list_aliases),
    ("POST", "/collections/aliases", col.update_aliases),
    ("GET", C, col.collection_info),
    ("PUT", C, col.create_collection),
    ("PATCH", C, col.update_collection),
    ("DELETE", C, col.delete_collection),
    ("GET", C + "/exists", col.collection_exists),
    ("GET", C + "/aliases", col.collection_aliases),
    ("GET", C + "/cluster", col.collection_cluster_info),
    ("GET", C + "/optimizations", col.optimizations),
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
    # Legacy search endpoints: not in the 1.19 contract, still served by Qdrant.
    ("POST", C + "/points/search", qry.search),
    ("POST", C + "/points/search/batch", qry.search_batch),
    ("POST", C + "/points/search/groups", qry.search_groups),
    ("POST", C + "/points/recommend", qry.recommend),
    ("POST", C + "/points/recommend/batch", qry.recommend_batch),
    ("POST", C + "/points/recommend/groups", qry.recommend_groups),
    ("POST", C + "/points/discover", qry.discover),
    ("POST", C + "/points/discover/batch", qry.discover_batch),
    ("GET", C + "/snapshots", snap.list_snapshots),
    ("POST", C + "/snapshots", snap.create_snapshot),
    ("POST", C + "/snapshots/upload", snap.recover_from_upload),
    ("PUT", C + "/snapshots/recover", snap.recover_from_location),
    ("GET", C + "/snapshots/{snapshot_name}", snap.get_snapshot),
    ("DELETE", C + "/snapshots/{snapshot_name}", snap.delete_snapshot),
    ("GET", C + "/shards/{shard_id}/snapshot", snap.stream_shard_snapshot),
    ("GET", C + "/shards/{shard_id}/snapshots", snap.list_snapshots),
    ("POST", C + "/shards/{shard_id}/snapshots", snap.create_snapshot),
    ("POST", C + "/shards/{shard_id}/snapshots/upload", snap.recover_from_upload),
    ("PUT", C + "/shards/{shard_id}/snapshots/recover", snap.recover_from_location),
    ("GET", C + "/shards/{shard_id}/snapshots/{snapshot_name}", snap.get_snapshot),
    ("DELETE", C + "/shards/{shard_id}/snapshots/{snapshot_name}", snap.delete_snapshot),
    ("GET", "/snapshots", snap.list_full_snapshots),
    ("POST", "/snapshots", snap.create_full_snapshot),
    ("GET", "/snapshots/{snapshot_name}", snap.get_full_snapshot),
    ("DELETE", "/snapshots/{snapshot_name}", snap.delete_full_snapshot),
]

# A snapshot upload is not bound by the JSON body limit (`service.max_request_size_mb`); it is
# held in memory while parsed, so it has a bound of its own.
SNAPSHOT_UPLOAD_MAX_BYTES = 4 * 2**30
MAX_BODY: dict[Handler, int] = {snap.recover_from_upload: SNAPSHOT_UPLOAD_MAX_BYTES}

# Short reads: always on the event loop (asgi.Mode.INLINE), a threadpool hop costs more than
# they do. They do no I/O, but can wait for locks: the collection read lock (see below) and the
# table of contents' lock, which a collection create or delete holds across its fsyncs.
INLINE_READS: set[Handler] = {
    svc.cluster,
    svc.unsupported,
    svc.standalone_only,
    col.list_collections,
    col.collection_exists,
    col.collection_info,
    col.list_aliases,
    col.collection_aliases,
    col.collection_cluster_info,
    col.optimizations,
    svc.telemetry,
    pts.retrieve_points,
    pts.get_point,
    pts.count_points,
}

# Reads that can be long (vector search, scroll, facet, matrix): on the event loop while the
# server serves a single connection, saving the threadpool hop; in the threadpool when requests
# overlap or alternate between clients, so concurrent clients use every core (numpy and faiss
# release the GIL). See RestApp._alone. They take the collection read lock, which waits while
# the update worker applies a batch or the optimizer swaps segments; the RW lock has no
# non-blocking attempt, so a read on the loop can hold it for that long (as INLINE_READS can).
ADAPTIVE_READS: set[Handler] = {
    pts.scroll_points,
    pts.facet,
    qry.query_points,
    qry.query_batch,
    qry.query_groups,
    qry.matrix_pairs,
    qry.matrix_offsets,
    qry.search,
    qry.search_batch,
    qry.search_groups,
    qry.recommend,
    qry.recommend_batch,
    qry.recommend_groups,
    qry.discover,
    qry.discover_batch,
}

# What the read-only API key may call besides GET routes: the reads sent as POST.
READ_HANDLERS: set[Handler] = (INLINE_READS | ADAPTIVE_READS) - {svc.standalone_only, svc.unsupported}

HEALTH_PATHS = ("/healthz", "/livez", "/readyz")

# Handlers whose answer is text (Prometheus exposition), not Qdrant's JSON envelope.
TEXT_HANDLERS: dict[Handler, bytes] = {svc.metrics: b"text/plain; version=0.0.4"}

UNSUPPORTED_PATHS: list[tuple[str, str]] = [
    # Endpoints of the contract that pydrant does not implement: they answer a clear 400.
    ("GET", "/issues"),
    ("DELETE", "/issues"),
    ("GET", "/quotas"),
    ("PUT", "/quotas"),
    ("GET", "/cluster/telemetry"),
    ("POST", C + "/cluster"),
    ("GET", C + "/shards"),
    ("PUT", C + "/shards"),
    ("POST", C + "/shards/delete"),
]


# Point writes: on the event loop while the server serves a single connection, like the reads
# above. A lone client's write then runs start to end on one thread (the WAL fsync, and with
# wait=true the apply, see Collection.write_chain) instead of hopping loop -> threadpool -> loop;
# nobody else is waiting for the loop meanwhile. With several clients they go to the
# threadpool, where concurrent writers share fsyncs (group commit). Collection and index
# changes stay in the threadpool: they can take seconds.
ADAPTIVE_WRITES: set[Handler] = {
    pts.upsert_points,
    pts.delete_points,
    pts.update_vectors,
    pts.delete_vectors,
    pts.set_payload,
    pts.overwrite_payload,
    pts.delete_payload,
    pts.clear_payload,
    pts.batch_update,
}


def mode_of(handler: Handler) -> Mode:
    if handler in INLINE_READS:
        return Mode.INLINE
    return Mode.ADAPTIVE if handler in ADAPTIVE_READS or handler in ADAPTIVE_WRITES else Mode.THREAD


def build_router() -> Router[Endpoint]:
    """Routes in Starlette's order (API, unsupported, health, root); GET routes answer HEAD too."""
    router: Router[Endpoint] = Router()

    def add(method: str, path: str, endpoint: Endpoint) -> None:
        router.add(method, path, endpoint)
        if method == "GET":
            router.add("HEAD", path, endpoint)

    def label(method: str, path: str) -> str:
        return f"{method} {path.replace('{collection_name}', '{name}')}"  # Qdrant's route names

    for method, path, handler in ROUTES:
        add(method, path, Api(handler, mode_of(handler), TEXT_HANDLERS.get(handler, JSON), label(method, path),
                              MAX_BODY.get(handler), writes=method != "GET" and handler not in READ_HANDLERS))
    for method, path in UNSUPPORTED_PATHS:
        add(method, path, Api(svc.unsupported, mode_of(svc.unsupported), label=label(method, path)))
    for path in HEALTH_PATHS:
        add("GET", path, Static(TEXT, svc.health_text(path).encode()))
    # Qdrant answers GET / without the envelope and without an api-key.
    add("GET", "/", Static(JSON, msgspec.json.encode(svc.root())))
    return router


def build_app(toc: TableOfContents, max_body_bytes: int, keys: ApiKeys, enable_cors: bool = True) -> ASGIApp:
    return RestApp(toc, build_router(), max_body_bytes, keys, cors=enable_cors)
