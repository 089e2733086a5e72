"""gRPC collection and alias requests -> the REST calls they stand for."""

from __future__ import annotations

from typing import Any

from qdrant_client import grpc as pb
from qdrant_client.conversions.conversion import GrpcToRest
from qdrant_client.http import models as rest

from pydrant.api.grpc.rest_call import RestCall, collection_call, json_body, query_params

G = GrpcToRest


def _diff(request: Any, name: str, convert: Any) -> Any:
    return convert(getattr(request, name)) if request.HasField(name) else None


def _optional(request: Any, name: str) -> Any:
    return getattr(request, name) if request.HasField(name) else None


def no_body(request: Any) -> RestCall:
    """Get, CollectionExists, Delete, ListCollectionAliases: the name (and timeout) only."""
    return collection_call(request)


def service_call(request: Any) -> RestCall:
    """List and ListAliases: no path, no body."""
    return RestCall({})


def create(request: pb.CreateCollection) -> RestCall:
    return collection_call(request, rest.CreateCollection(
        vectors=_diff(request, "vectors_config", G.convert_vectors_config),
        shard_number=_optional(request, "shard_number"),
        sharding_method=_diff(request, "sharding_method", G.convert_sharding_method),
        replication_factor=_optional(request, "replication_factor"),
        write_consistency_factor=_optional(request, "write_consistency_factor"),
        on_disk_payload=_optional(request, "on_disk_payload"),
        payload=_diff(request, "payload", G.convert_payload_storage_params),
        id_tracker=_diff(request, "id_tracker", G.convert_id_tracker_params),
        hnsw_config=_diff(request, "hnsw_config", G.convert_hnsw_config_diff),
        wal_config=_diff(request, "wal_config", G.convert_wal_config_diff),
        optimizers_config=_diff(request, "optimizers_config", G.convert_optimizers_config_diff),
        quantization_config=_diff(request, "quantization_config", G.convert_quantization_config),
        sparse_vectors=_diff(request, "sparse_vectors_config", G.convert_sparse_vector_config),
        strict_mode_config=_diff(request, "strict_mode_config", G.convert_strict_mode_config),
        metadata=G.convert_payload(request.metadata) if len(request.metadata) > 0 else None,
    ))


def update(request: pb.UpdateCollection) -> RestCall:
    return collection_call(request, G.convert_update_collection(request))


def update_aliases(request: pb.ChangeAliases) -> RestCall:
    body = rest.ChangeAliasesOperation(actions=[G.convert_alias_operations(action) for action in request.actions])
    return RestCall({}, json_body(body), query_params(request))
