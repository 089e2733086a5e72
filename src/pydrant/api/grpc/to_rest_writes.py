"""gRPC point writes -> the REST calls they stand for (qdrant-client's GrpcToRest converters
build the REST models; the REST handlers then validate them as they validate JSON)."""

from __future__ import annotations

from typing import Any

from qdrant_client import grpc as pb
from qdrant_client.conversions.conversion import GrpcToRest, grpc_field_type_to_payload_schema
from qdrant_client.http import models as rest

from pydrant.api.grpc.rest_call import RestCall, collection_call

G = GrpcToRest


def shard_key(request: Any) -> Any:
    return G.convert_shard_key_selector(request.shard_key_selector) if request.HasField("shard_key_selector") else None


def optional_filter(request: Any, name: str = "filter") -> rest.Filter | None:
    return G.convert_filter(getattr(request, name)) if request.HasField(name) else None


def selector(request: Any, name: str) -> rest.PointIdsList | rest.FilterSelector:
    """The request's points selector (ids or filter) with the request's shard key."""
    converted = G.convert_points_selector(getattr(request, name))
    return converted.model_copy(update={"shard_key": shard_key(request)})


def selection(request: Any, name: str) -> tuple[list[rest.ExtendedPointId] | None, rest.Filter | None]:
    """(ids, filter) of an optional points selector, for bodies that take them as two fields."""
    if not request.HasField(name):
        return None, None
    converted = G.convert_points_selector(getattr(request, name))
    if isinstance(converted, rest.PointIdsList):
        return converted.points, None
    return None, converted.filter


def _datatype(value: Any) -> rest.VectorStorageDatatype:
    return rest.VectorStorageDatatype(G.convert_datatype(value).value)


def upsert(request: pb.UpsertPoints) -> RestCall:
    return collection_call(request, rest.PointsList(
        points=[G.convert_point_struct(point) for point in request.points],
        shard_key=shard_key(request),
        update_filter=optional_filter(request, "update_filter"),
        # the stubs type enum fields as ValueType, the converters name the enum class
        update_mode=G.convert_update_mode(request.update_mode) if request.HasField("update_mode") else None,  # type: ignore[arg-type]
    ))


def delete(request: pb.DeletePoints) -> RestCall:
    return collection_call(request, selector(request, "points"))


def update_vectors(request: pb.UpdatePointVectors) -> RestCall:
    return collection_call(request, rest.UpdateVectors(
        points=[G.convert_point_vectors(point) for point in request.points],
        shard_key=shard_key(request),
        update_filter=optional_filter(request, "update_filter"),
    ))


def delete_vectors(request: pb.DeletePointVectors) -> RestCall:
    ids, filter_ = selection(request, "points_selector")
    return collection_call(request, rest.DeleteVectors(
        points=ids, filter=filter_, vector=list(request.vectors.names), shard_key=shard_key(request),
    ))


def set_payload(request: pb.SetPayloadPoints) -> RestCall:
    """SetPayload and OverwritePayload: the same body on two REST endpoints. Qdrant's gRPC
    selector is optional here; without one the REST handler refuses the request."""
    ids, filter_ = selection(request, "points_selector")
    return collection_call(request, rest.SetPayload(
        payload=G.convert_payload(request.payload),
        points=ids,
        filter=filter_,
        key=request.key if request.HasField("key") else None,
        shard_key=shard_key(request),
    ))


def delete_payload(request: pb.DeletePayloadPoints) -> RestCall:
    ids, filter_ = selection(request, "points_selector")
    return collection_call(request, rest.DeletePayload(
        keys=list(request.keys), points=ids, filter=filter_, shard_key=shard_key(request),
    ))


def clear_payload(request: pb.ClearPayloadPoints) -> RestCall:
    return collection_call(request, selector(request, "points"))


def update_batch(request: pb.UpdateBatchPoints) -> RestCall:
    return collection_call(request, rest.UpdateOperations(
        operations=[G.convert_points_update_operation(operation) for operation in request.operations],
    ))


def create_field_index(request: pb.CreateFieldIndexCollection) -> RestCall:
    """Index params win over the bare field type when both are given (as Qdrant's gRPC does)."""
    schema: Any
    if request.HasField("field_index_params") and request.field_index_params.WhichOneof("index_params") is not None:
        schema = G.convert_payload_schema_params(request.field_index_params)
    elif request.HasField("field_type"):
        schema = G.convert_payload_schema_type(grpc_field_type_to_payload_schema(request.field_type))  # type: ignore[arg-type]
    else:
        raise ValueError("field_type or field_index_params is required")
    return collection_call(request, rest.CreateFieldIndex(field_name=request.field_name, field_schema=schema))


def delete_field_index(request: pb.DeleteFieldIndexCollection) -> RestCall:
    return collection_call(request, None, field_name=request.field_name)


def create_vector_name(request: pb.CreateVectorNameRequest) -> RestCall:
    config: rest.DenseVectorNameConfig | rest.SparseVectorNameConfig
    which = request.WhichOneof("vector_config")
    if which == "dense_config":
        dense = request.dense_config
        config = rest.DenseVectorNameConfig(dense=rest.DenseVectorConfig(
            size=dense.size,
            distance=G.convert_distance(dense.distance),
            multivector_config=G.convert_multivector_config(dense.multivector_config) if dense.HasField("multivector_config") else None,
            datatype=_datatype(dense.datatype) if dense.HasField("datatype") else None,
        ))
    elif which == "sparse_config":
        sparse = request.sparse_config
        config = rest.SparseVectorNameConfig(sparse=rest.SparseVectorConfig(
            modifier=G.convert_modifier(sparse.modifier) if sparse.HasField("modifier") else None,
            datatype=_datatype(sparse.datatype) if sparse.HasField("datatype") else None,
        ))
    else:
        raise ValueError("dense_config or sparse_config is required")
    return collection_call(request, config, vector_name=request.vector_name)


def delete_vector_name(request: pb.DeleteVectorNameRequest) -> RestCall:
    return collection_call(request, None, vector_name=request.vector_name)
