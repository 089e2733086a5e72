"""Which REST handler answers each gRPC method; a method missing here answers UNIMPLEMENTED."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from qdrant_client import grpc as pb

from pydrant.api.grpc import to_grpc as out
from pydrant.api.grpc import to_rest_collections as col_in
from pydrant.api.grpc import to_rest_reads as reads
from pydrant.api.grpc import to_rest_writes as writes
from pydrant.api.grpc.rest_call import RestCall, Rpc
from pydrant.api.rest import routes_collections as col
from pydrant.api.rest import routes_points as pts
from pydrant.api.rest import routes_query as qry
from pydrant.api.rest import routes_service as svc
from pydrant.api.rest import routes_snapshots as snap
from pydrant.api.rest.context import RequestContext

POINTS: dict[str, Rpc] = {
    "Upsert": Rpc(pts.upsert_points, writes.upsert, out.operation),
    "Delete": Rpc(pts.delete_points, writes.delete, out.operation),
    "UpdateVectors": Rpc(pts.update_vectors, writes.update_vectors, out.operation),
    "DeleteVectors": Rpc(pts.delete_vectors, writes.delete_vectors, out.operation),
    "SetPayload": Rpc(pts.set_payload, writes.set_payload, out.operation),
    "OverwritePayload": Rpc(pts.overwrite_payload, writes.set_payload, out.operation),
    "DeletePayload": Rpc(pts.delete_payload, writes.delete_payload, out.operation),
    "ClearPayload": Rpc(pts.clear_payload, writes.clear_payload, out.operation),
    "UpdateBatch": Rpc(pts.batch_update, writes.update_batch, out.update_batch),
    "CreateFieldIndex": Rpc(col.create_index, writes.create_field_index, out.operation),
    "DeleteFieldIndex": Rpc(col.delete_index, writes.delete_field_index, out.operation),
    "CreateVectorName": Rpc(col.create_vector_name, writes.create_vector_name, out.operation),
    "DeleteVectorName": Rpc(col.delete_vector_name, writes.delete_vector_name, out.operation),
    "Get": Rpc(pts.retrieve_points, reads.get, out.get),
    "Scroll": Rpc(pts.scroll_points, reads.scroll, out.scroll),
    "Count": Rpc(pts.count_points, reads.count, out.count),
    "Facet": Rpc(pts.facet, reads.facet, out.facet),
    "Query": Rpc(qry.query_points, reads.query, out.query),
    "QueryBatch": Rpc(qry.query_batch, reads.query_batch, out.query_batch),
    "QueryGroups": Rpc(qry.query_groups, reads.query_groups, out.query_groups),
    "Search": Rpc(qry.query_points, reads.search, out.search),
    "SearchBatch": Rpc(qry.query_batch, reads.search_batch, out.search_batch),
    "SearchGroups": Rpc(qry.query_groups, reads.search_groups, out.search_groups),
    "Recommend": Rpc(qry.query_points, reads.recommend, out.recommend),
    "RecommendBatch": Rpc(qry.query_batch, reads.recommend_batch, out.recommend_batch),
    "RecommendGroups": Rpc(qry.query_groups, reads.recommend_groups, out.recommend_groups),
    "Discover": Rpc(qry.query_points, reads.discover, out.discover),
    "DiscoverBatch": Rpc(qry.query_batch, reads.discover_batch, out.discover_batch),
    "SearchMatrixPairs": Rpc(qry.matrix_pairs, reads.search_matrix, out.matrix_pairs),
    "SearchMatrixOffsets": Rpc(qry.matrix_offsets, reads.search_matrix, out.matrix_offsets),
}

COLLECTIONS: dict[str, Rpc] = {
    "List": Rpc(col.list_collections, col_in.service_call, out.collections),
    "Get": Rpc(col.collection_info, col_in.no_body, out.collection_info),
    "CollectionExists": Rpc(col.collection_exists, col_in.no_body, out.collection_exists),
    "Create": Rpc(col.create_collection, col_in.create, out.collection_operation),
    "Update": Rpc(col.update_collection, col_in.update, out.collection_operation),
    "Delete": Rpc(col.delete_collection, col_in.no_body, out.collection_operation),
    "UpdateAliases": Rpc(col.update_aliases, col_in.update_aliases, out.collection_operation),
    "ListAliases": Rpc(col.list_aliases, col_in.service_call, out.aliases),
    "ListCollectionAliases": Rpc(col.collection_aliases, col_in.no_body, out.aliases),
    "CollectionClusterInfo": Rpc(col.collection_cluster_info, col_in.no_body, out.collection_cluster_info),
    # UpdateCollectionClusterSetup, CreateShardKey, DeleteShardKey, ListShardKeys: sharding
    # and cluster management, UNIMPLEMENTED as REST refuses them.
}


def _version(ctx: RequestContext) -> Any:
    return svc.root()


def _health(result: Any, elapsed: float) -> pb.HealthCheckReply:
    return pb.HealthCheckReply(title=result["title"], version=result["version"], commit=result["commit"])


QDRANT: dict[str, Rpc] = {
    # GET / of REST: title, version and commit, answered without an api-key (as Qdrant).
    "HealthCheck": Rpc(_version, lambda request: RestCall({}), _health),
}

def _snapshot_description(found: dict[str, Any]) -> pb.SnapshotDescription:
    description = pb.SnapshotDescription(name=found["name"], size=found["size"])
    if found.get("creation_time"):
        description.creation_time.FromDatetime(datetime.fromisoformat(found["creation_time"]))
    if found.get("checksum"):
        description.checksum = found["checksum"]
    return description


def _collection_call(request: Any) -> RestCall:
    return RestCall({"collection_name": request.collection_name})


def _snapshot_call(request: Any) -> RestCall:
    path = {"snapshot_name": request.snapshot_name}
    if "collection_name" in request.DESCRIPTOR.fields_by_name:
        path["collection_name"] = request.collection_name
    return RestCall(path)


def _created(result: Any, elapsed: float) -> pb.CreateSnapshotResponse:
    return pb.CreateSnapshotResponse(snapshot_description=_snapshot_description(result), time=elapsed)


def _listed(result: Any, elapsed: float) -> pb.ListSnapshotsResponse:
    return pb.ListSnapshotsResponse(snapshot_descriptions=[_snapshot_description(d) for d in result], time=elapsed)


def _deleted(result: Any, elapsed: float) -> pb.DeleteSnapshotResponse:
    return pb.DeleteSnapshotResponse(time=elapsed)


SNAPSHOTS: dict[str, Rpc] = {
    "Create": Rpc(snap.create_snapshot, _collection_call, _created),
    "List": Rpc(snap.list_snapshots, _collection_call, _listed),
    "Delete": Rpc(snap.delete_snapshot, _snapshot_call, _deleted),
    "CreateFull": Rpc(snap.create_full_snapshot, lambda request: RestCall({}), _created),
    "ListFull": Rpc(snap.list_full_snapshots, lambda request: RestCall({}), _listed),
    "DeleteFull": Rpc(snap.delete_full_snapshot, _snapshot_call, _deleted),
}

# What the read-only API key may call: the methods that only read.
READ_METHODS = {
    *(f"qdrant.Points/{name}" for name in (
        "Get", "Scroll", "Count", "Facet", "Query", "QueryBatch", "QueryGroups", "Search", "SearchBatch",
        "SearchGroups", "Recommend", "RecommendBatch", "RecommendGroups", "Discover", "DiscoverBatch",
        "SearchMatrixPairs", "SearchMatrixOffsets")),
    *(f"qdrant.Collections/{name}" for name in (
        "List", "Get", "CollectionExists", "ListAliases", "ListCollectionAliases", "CollectionClusterInfo")),
    "qdrant.Snapshots/List", "qdrant.Snapshots/ListFull",
}
