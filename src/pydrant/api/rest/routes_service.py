"""Service endpoints: root, health probes, cluster status, telemetry and metrics."""

from __future__ import annotations

import time
import uuid
from typing import Any

import numpy as np

from pydrant import __version__
from pydrant.api.rest.context import RequestContext
from pydrant.api.rest.routes_collections import PEER_ID, optimizer_status
from pydrant.collection.collection import Collection
from pydrant.errors import MalformedJson, NotAllowed, NotFound, Unsupported

# The Qdrant API version pydrant implements; clients check compatibility against it.
QDRANT_API_VERSION = "1.19.0"


def root() -> Any:
    """Qdrant answers GET / without the usual envelope; the title is Qdrant's so that tools which
    check it accept pydrant, and `commit` names pydrant and its version."""
    return {"title": "qdrant - vector search engine", "version": QDRANT_API_VERSION, "commit": f"pydrant-{__version__}"}


def health_text(path: str) -> str:
    """The plain-text answer of a health probe, Qdrant's words: liveness "healthz check passed"
    (for /livez too), readiness "all shards are ready" (this node's one shard per collection
    is ready once the server answers)."""
    return "all shards are ready" if path == "/readyz" else "healthz check passed"


def cluster(ctx: RequestContext) -> Any:
    return {"status": "disabled"}


# This process: telemetry's `id` (as Qdrant's, new at every start) and its start time.
_INSTANCE_ID = str(uuid.uuid4())
_STARTED_AT = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())


def telemetry(ctx: RequestContext) -> Any:
    """The process, the collections, the (disabled) cluster, and the answers of each REST and
    gRPC endpoint by status. With `details_level` 1 each collection is summarised (vectors,
    optimizer status, params) and from level 2 reported in full (config, its one shard), as
    Qdrant's levels do; memory and hardware details are not reported at any level."""
    level = _details_level(ctx)
    names = ctx.toc.list_names()
    collections: dict[str, Any] = {"number_of_collections": len(names)}
    if level >= 1:
        entries, snapshots = [], []
        for name in names:
            try:
                collection = ctx.toc.get(name)
            except NotFound:  # dropped meanwhile
                continue
            if level >= 2:
                entries.append(_collection_telemetry(name, collection))
                snapshots.append({"id": name})
            else:
                entries.append({"vectors": _counts(collection)[1], "optimizers_status": optimizer_status(collection),
                                "params": collection.config.report()["params"]})
        collections["collections"] = entries
        collections["snapshots"] = snapshots
    return {
        "id": _INSTANCE_ID,
        "app": {"name": "pydrant", "version": __version__, "startup": _STARTED_AT},
        "collections": collections,
        "cluster": {"enabled": False},
        "requests": {"rest": {"responses": ctx.toc.rest_stats.report()}, "grpc": {"responses": ctx.toc.grpc_stats.report()}},
    }


def _details_level(ctx: RequestContext) -> int:
    raw = ctx.query.get("details_level")
    if raw is None:
        return 0
    if not raw.isdigit():
        raise MalformedJson(f"details_level: expected an unsigned integer, got `{raw}`", where="query parameters")
    return int(raw)


def _collection_telemetry(name: str, collection: Collection) -> dict[str, Any]:
    """Qdrant's full collection telemetry: id, config and its one local shard (replica state
    of this peer: Active)."""
    return {
        "id": name,
        "config": collection.config.report(),
        "shards": [{"id": 0, "remote": [], "replicate_states": {str(PEER_ID): "Active"}}],
        "transfers": [],
        "resharding": [],
    }


def metrics(ctx: RequestContext) -> str:
    """Prometheus text exposition of the gauges Qdrant's /metrics also has, measured here."""
    collections = []
    for name in ctx.toc.list_names():
        try:
            collections.append((name, *_counts(ctx.toc.get(name))))
        except NotFound:  # dropped between the listing and the read: not counted
            continue
    lines = [
        # Qdrant's name and API version, as GET / answers, for dashboards that select on them.
        "# HELP app_info information about qdrant server", "# TYPE app_info gauge",
        f'app_info{{name="qdrant",version="{QDRANT_API_VERSION}",commit="pydrant-{__version__}"}} 1',
        "# HELP app_status_recovery_mode whether the server runs in recovery mode", "# TYPE app_status_recovery_mode gauge",
        "app_status_recovery_mode 0",
        "# HELP cluster_enabled whether distributed mode is enabled", "# TYPE cluster_enabled gauge",
        "cluster_enabled 0",
        "# HELP collections_total number of collections", "# TYPE collections_total gauge",
        f"collections_total {len(collections)}",
        "# HELP collections_vector_total total number of vectors in all collections", "# TYPE collections_vector_total gauge",
        f"collections_vector_total {sum(vectors for _, _, vectors in collections)}",
        "# HELP collection_points number of points per collection", "# TYPE collection_points gauge",
        *(f'collection_points{{collection="{_label(name)}"}} {points}' for name, points, _ in collections),
    ]
    return "\n".join(lines) + "\n"


def _counts(collection: Collection) -> tuple[int, int]:
    """(live points, stored vectors over every vector name) of a collection."""
    with collection.reading():
        points = vectors = 0
        for segment in collection.holder.segments:
            live = segment.tracker.live
            points += segment.live_count
            for storage in segment.vectors.values():
                vectors += int(np.count_nonzero(storage.has_mask(live.shape[0]) & live))
        return points, vectors


def _label(value: str) -> str:
    """A Prometheus label value: backslash, quote and newline escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def standalone_only(ctx: RequestContext) -> Any:
    """Recovering the cluster or removing a peer: a single node has neither (Qdrant's 405)."""
    raise NotAllowed("this node runs in standalone mode: there is no cluster to recover and no peer to remove")


def unsupported(ctx: RequestContext) -> Any:
    raise Unsupported("this endpoint (sharding, cluster management, issues, quotas) is not implemented")
