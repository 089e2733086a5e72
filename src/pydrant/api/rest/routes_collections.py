"""Collection endpoints: create, info, list, exists, delete, update, named vectors, aliases, indexes."""

from __future__ import annotations

import secrets
from typing import Any

from pydrant.api.rest.context import RequestContext, update_result
from pydrant.collection import updates
from pydrant.collection.collection import Collection
from pydrant.collection.config import CollectionConfig, decode_model
from pydrant.collection.holder import SegmentHolder
from pydrant.collection.optimization_log import segment_uuid
from pydrant.errors import MalformedJson
from pydrant.models.points import AliasesBody
from pydrant.segment.vectors.sparse import SparseStorage
from pydrant.service.toc import check_collection_name


def create_collection(ctx: RequestContext) -> Any:
    ctx.positive_int("timeout")
    ctx.toc.create_collection(ctx.path["collection_name"], ctx.json_object())
    return True


def delete_collection(ctx: RequestContext) -> Any:
    ctx.positive_int("timeout")
    check_collection_name(ctx.path["collection_name"])
    return ctx.toc.delete_collection(ctx.path["collection_name"])


def list_collections(ctx: RequestContext) -> Any:
    return {"collections": [{"name": name} for name in ctx.toc.list_names()]}


def collection_exists(ctx: RequestContext) -> Any:
    name = ctx.path["collection_name"]
    check_collection_name(name)  # as Qdrant: a name no collection can have is a 422, not `false`
    return {"exists": ctx.toc.exists(name)}


def optimizer_status(collection: Collection) -> Any:
    """Qdrant's OptimizersStatus: `ok`, or the error that turned the collection red."""
    return "ok" if collection.failure is None else {"error": collection.failure}


def collection_info(ctx: RequestContext) -> Any:
    collection = ctx.collection()
    with collection.reading():
        segments = collection.holder.segments
        points = sum(s.live_count for s in segments)
        indexed = sum(s.indexed_vectors_count() for s in segments)
        schema = {}
        for key, field_schema in collection.applier.payload_schema.items():
            indexes = [s.indexes[key] for s in segments if key in s.indexes]
            info: dict[str, Any] = {"points": sum(i.points_count() for i in indexes)}
            if indexes:
                info["data_type"] = indexes[0].data_type
                if indexes[0].params is not None:
                    info["params"] = indexes[0].params
            else:
                info.update(_schema_summary(field_schema))
            schema[key] = info
        return {
            "status": collection.status(),
            "optimizer_status": optimizer_status(collection),
            "indexed_vectors_count": indexed,
            "points_count": points,
            "segments_count": max(1, len(segments)),
            "config": collection.config.report(),
            "payload_schema": schema,
            "update_queue": {"length": collection.queued_updates()},
        }


# This single-node server's peer, as collection cluster info names it (Qdrant's peer ids are
# random 64-bit numbers too; without a cluster nothing else refers to it).
PEER_ID = secrets.randbits(63)


def collection_cluster_info(ctx: RequestContext) -> Any:
    """One local shard holding every point, nothing remote, nothing moving: pydrant runs as
    one node, as Qdrant does with distributed mode disabled."""
    collection = ctx.collection()
    with collection.reading():
        points = collection.holder.live_count()
    return {
        "peer_id": PEER_ID,
        "shard_count": 1,
        "local_shards": [{"shard_id": 0, "points_count": points, "state": "Active"}],
        "remote_shards": [],
        "shard_transfers": [],
    }


OPTIMIZATION_DETAILS = ("queued", "completed", "idle_segments")
DEFAULT_COMPLETED_LIMIT = 16


def optimizations(ctx: RequestContext) -> Any:
    """The running optimization and a summary of the queue; with `?with=queued,completed,
    idle_segments`, the queue, the most recent `completed_limit` finished ones and the segments
    that need nothing."""
    collection = ctx.collection()
    details = [item.strip() for item in ctx.query.get("with", "").split(",") if item.strip()]
    for item in details:
        if item not in OPTIMIZATION_DETAILS:
            raise MalformedJson(f"with: unknown value `{item}`, expected {', '.join(OPTIMIZATION_DETAILS)}", where="query parameters")
    raw_limit = ctx.query.get("completed_limit")
    if raw_limit is not None and not raw_limit.isdigit():
        raise MalformedJson(f"completed_limit: expected a non-negative integer, got `{raw_limit}`", where="query parameters")
    completed_limit = DEFAULT_COMPLETED_LIMIT if raw_limit is None else int(raw_limit)
    optimizer = collection.optimizer
    with collection.reading():
        running, completed = optimizer.log.snapshot()
        queue = optimizer.queued()
        queued_ids = {s.segment_id for _, segments in queue for s in segments}
        not_idle = queued_ids | (running.source_ids if running is not None else set())
        idle = [s for s in collection.holder.segments if s.segment_id not in not_idle]
        out: dict[str, Any] = {
            "summary": {
                "queued_optimizations": len(queue),
                "queued_segments": len(queued_ids),
                "queued_points": sum(s.live_count for _, segments in queue for s in segments),
                "idle_segments": len(idle),
            },
            "running": [running.report()] if running is not None else [],
        }
        if "queued" in details:
            out["queued"] = [{"optimizer": kind, "segments": [_segment_info(s) for s in segments]} for kind, segments in queue]
        if "idle_segments" in details:
            out["idle_segments"] = [_segment_info(s) for s in idle]
    if "completed" in details:
        out["completed"] = [optimization.report() for optimization in completed[:completed_limit]]
    return out


def _segment_info(segment: Any) -> dict[str, Any]:
    return {"uuid": segment_uuid(segment.segment_id), "points_count": segment.live_count}


def _schema_summary(field_schema: Any) -> dict[str, Any]:
    from pydrant.segment.payload_index import make_field_index

    index = make_field_index("_", field_schema)
    out: dict[str, Any] = {"data_type": index.data_type}
    if index.params is not None:
        out["params"] = index.params
    return out


def update_collection(ctx: RequestContext) -> Any:
    ctx.positive_int("timeout")
    collection = ctx.collection()
    body = ctx.json_object()
    collection.config.updated(body)  # validate before touching anything
    collection.reconfigure(lambda config: config.updated(body), _apply_sparse_modifiers)
    return True


def _apply_sparse_modifiers(holder: SegmentHolder, config: CollectionConfig) -> None:
    """A sparse vector's `modifier` (idf or none) changes how its queries are weighted: the
    existing segments' storages take the new one (new segments are built with it)."""
    for name, spec in config.sparse.items():
        for segment in holder.segments:
            storage = segment.vectors.get(name)
            if isinstance(storage, SparseStorage):
                storage.set_modifier(spec.params.get("modifier"))


def create_vector_name(ctx: RequestContext) -> Any:
    wait, _timeout = ctx.write_params()
    collection = ctx.collection()
    name = ctx.path["vector_name"]
    body = ctx.json_object()
    collection.config.with_vector(name, body)  # validate first

    def add(holder: SegmentHolder, config: CollectionConfig) -> None:
        spec = config.all_vectors()[name]
        for segment in holder.segments:
            segment.add_vector_name(name, spec.kind, spec.params)

    collection.reconfigure(lambda config: config.with_vector(name, body), add)
    return {"operation_id": None, "status": "completed" if wait else "acknowledged"}


def delete_vector_name(ctx: RequestContext) -> Any:
    wait, _timeout = ctx.write_params()
    collection = ctx.collection()
    name = ctx.path["vector_name"]
    collection.config.without_vector(name)

    def drop(holder: SegmentHolder, config: CollectionConfig) -> None:
        for segment in holder.segments:
            segment.drop_vector_name(name)

    collection.reconfigure(lambda config: config.without_vector(name), drop)
    return {"operation_id": None, "status": "completed" if wait else "acknowledged"}


def _write(ctx: RequestContext, collection: Collection, prepared: updates.PreparedWrite) -> Any:
    wait, timeout = ctx.write_params()
    result = collection.write(prepared.build, wait, timeout, prepared.needs_current_state)
    return update_result(result)


def create_index(ctx: RequestContext) -> Any:
    collection = ctx.collection()
    ctx.write_params()
    return _write(ctx, collection, updates.prepare_create_index(collection, ctx.json_object()))


def delete_index(ctx: RequestContext) -> Any:
    collection = ctx.collection()
    ctx.write_params()
    return _write(ctx, collection, updates.prepare_delete_index(collection, ctx.path["field_name"]))


# ---- aliases ------------------------------------------------------------------------------------


def update_aliases(ctx: RequestContext) -> Any:
    ctx.positive_int("timeout")
    request: AliasesBody = decode_model(ctx.json_object(), AliasesBody)
    actions: list[dict[str, Any]] = []
    for i, action in enumerate(request.actions):
        given = [k for k in ("create_alias", "delete_alias", "rename_alias") if getattr(action, k) is not None]
        if len(given) != 1:
            raise MalformedJson(f"actions[{i}]: expected exactly one of create_alias, delete_alias, rename_alias")
        kind = given[0]
        spec = getattr(action, kind)
        if kind == "create_alias":
            check_collection_name(spec.alias_name, f"actions[{i}].create_alias.alias_name")
        if kind == "rename_alias":
            check_collection_name(spec.new_alias_name, f"actions[{i}].rename_alias.new_alias_name")
        actions.append({kind: {f: getattr(spec, f) for f in spec.__struct_fields__}})
    ctx.toc.update_aliases(actions)
    return True


def list_aliases(ctx: RequestContext) -> Any:
    return {"aliases": ctx.toc.list_aliases()}


def collection_aliases(ctx: RequestContext) -> Any:
    name = ctx.toc.resolve_name(ctx.path["collection_name"])
    return {"aliases": ctx.toc.list_aliases(name)}
