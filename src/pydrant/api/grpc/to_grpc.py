"""REST results (the `result` of a REST answer) -> gRPC responses: each result is read into
qdrant-client's REST model, which RestToGrpc converts; `time` is the elapsed seconds."""

from __future__ import annotations

from typing import Any, Callable

from google.protobuf.message import Message
from qdrant_client import grpc as pb
from qdrant_client.conversions.conversion import RestToGrpc
from qdrant_client.http import models as rest

R = RestToGrpc
Response = Callable[[Any, float], Message]


# Points are the bulk of read responses. Those with only an id, a payload and (for scored
# points) score and version are given to protobuf as nested constructor arguments, built here
# from the REST result: validating each through qdrant-client's REST model and converting it
# cost ~20 us per point (2.7 ms of a 100-point Get). Points with vectors, an order value or a
# shard key take the converters. Both paths give the same message (tests/unit/test_grpc_points.py).
_PLAIN_RECORD = frozenset(("id", "payload"))
_PLAIN_SCORED = frozenset(("id", "payload", "score", "version"))
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _scored(points: list[Any]) -> list[Any]:  # messages or their constructor arguments
    return [
        _plain_point(p) if _PLAIN_SCORED.issuperset(p) else R.convert_scored_point(rest.ScoredPoint.model_validate(p))
        for p in points
    ]


def _records(points: list[Any]) -> list[Any]:  # messages or their constructor arguments
    # qdrant-client's record converter fails on a record without payload (not asked for); in
    # gRPC that is an empty payload map.
    return [
        _plain_point(p) if _PLAIN_RECORD.issuperset(p) else R.convert_record(rest.Record.model_validate({"payload": {}, **p}))
        for p in points
    ]


def _plain_point(point: dict[str, Any]) -> dict[str, Any]:
    """Constructor arguments of a RetrievedPoint / ScoredPoint with no vectors."""
    point_id = point["id"]
    out: dict[str, Any] = {"id": {"num": point_id} if type(point_id) is int else {"uuid": point_id}}
    payload = point.get("payload")
    if payload:
        out["payload"] = {key: _value(value) for key, value in payload.items()}
    if "score" in point:
        out["score"] = point["score"]
        out["version"] = point["version"]
    return out


def _value(value: Any) -> dict[str, Any]:
    """A JSON value as the arguments of qdrant's protobuf Value. Integers past int64 (payloads
    may hold u64) become doubles, as Qdrant converts its JSON numbers."""
    kind = type(value)
    if kind is str:
        return {"string_value": value}
    if kind is bool:
        return {"bool_value": value}
    if kind is int:
        return {"integer_value": value} if _INT64_MIN <= value <= _INT64_MAX else {"double_value": float(value)}
    if kind is float:
        return {"double_value": value}
    if value is None:
        return {"null_value": 0}
    if kind is list:
        return {"list_value": {"values": [_value(item) for item in value]}}
    return {"struct_value": {"fields": {key: _value(item) for key, item in value.items()}}}


def _update(result: Any) -> pb.UpdateResult:
    return R.convert_update_result(rest.UpdateResult.model_validate(result))


def _groups(result: Any) -> pb.GroupsResult:
    return R.convert_groups_result(rest.GroupsResult.model_validate(result))


# ---- points ---------------------------------------------------------------------------------------


def operation(result: Any, elapsed: float) -> pb.PointsOperationResponse:
    return pb.PointsOperationResponse(result=_update(result), time=elapsed)


def update_batch(result: Any, elapsed: float) -> pb.UpdateBatchResponse:
    return pb.UpdateBatchResponse(result=[_update(r) for r in result], time=elapsed)


def get(result: Any, elapsed: float) -> pb.GetResponse:
    return pb.GetResponse(result=_records(result), time=elapsed)


def scroll(result: Any, elapsed: float) -> pb.ScrollResponse:
    offset = result.get("next_page_offset")
    return pb.ScrollResponse(
        next_page_offset=None if offset is None else R.convert_extended_point_id(offset),
        result=_records(result["points"]),
        time=elapsed,
    )


def count(result: Any, elapsed: float) -> pb.CountResponse:
    return pb.CountResponse(result=R.convert_count_result(rest.CountResult.model_validate(result)), time=elapsed)


def facet(result: Any, elapsed: float) -> pb.FacetResponse:
    hits = rest.FacetResponse.model_validate(result).hits
    return pb.FacetResponse(hits=[R.convert_facet_value_hit(hit) for hit in hits], time=elapsed)


def matrix_pairs(result: Any, elapsed: float) -> pb.SearchMatrixPairsResponse:
    pairs = R.convert_search_matrix_pairs(rest.SearchMatrixPairsResponse.model_validate(result))
    return pb.SearchMatrixPairsResponse(result=pairs, time=elapsed)


def matrix_offsets(result: Any, elapsed: float) -> pb.SearchMatrixOffsetsResponse:
    offsets = R.convert_search_matrix_offsets(rest.SearchMatrixOffsetsResponse.model_validate(result))
    return pb.SearchMatrixOffsetsResponse(result=offsets, time=elapsed)


def _points(kind: Callable[..., Message]) -> Response:
    """A response of scored points from the query API's `{"points": [...]}`."""

    def convert(result: Any, elapsed: float) -> Message:
        return kind(result=_scored(result["points"]), time=elapsed)

    return convert


def _batch(kind: Callable[..., Message]) -> Response:
    """A batch response from the query API's `[{"points": [...]}, ...]`."""

    def convert(result: Any, elapsed: float) -> Message:
        return kind(result=[pb.BatchResult(result=_scored(one["points"])) for one in result], time=elapsed)

    return convert


def _grouped(kind: Callable[..., Message]) -> Response:
    def convert(result: Any, elapsed: float) -> Message:
        return kind(result=_groups(result), time=elapsed)

    return convert


query = _points(pb.QueryResponse)
search = _points(pb.SearchResponse)
recommend = _points(pb.RecommendResponse)
discover = _points(pb.DiscoverResponse)
query_batch = _batch(pb.QueryBatchResponse)
search_batch = _batch(pb.SearchBatchResponse)
recommend_batch = _batch(pb.RecommendBatchResponse)
discover_batch = _batch(pb.DiscoverBatchResponse)
query_groups = _grouped(pb.QueryGroupsResponse)
search_groups = _grouped(pb.SearchGroupsResponse)
recommend_groups = _grouped(pb.RecommendGroupsResponse)


# ---- collections and aliases --------------------------------------------------------------------


def collection_operation(result: Any, elapsed: float) -> pb.CollectionOperationResponse:
    return pb.CollectionOperationResponse(result=bool(result), time=elapsed)


def collection_info(result: Any, elapsed: float) -> pb.GetCollectionInfoResponse:
    info = R.convert_collection_info(rest.CollectionInfo.model_validate(result))
    return pb.GetCollectionInfoResponse(result=info, time=elapsed)


def collections(result: Any, elapsed: float) -> pb.ListCollectionsResponse:
    listed = rest.CollectionsResponse.model_validate(result).collections
    return pb.ListCollectionsResponse(collections=[R.convert_collection_description(c) for c in listed], time=elapsed)


def collection_cluster_info(result: Any, elapsed: float) -> pb.CollectionClusterInfoResponse:
    info = R.convert_collection_cluster_info(rest.CollectionClusterInfo.model_validate(result))
    info.time = elapsed
    return info


def collection_exists(result: Any, elapsed: float) -> pb.CollectionExistsResponse:
    exists = rest.CollectionExistence.model_validate(result).exists
    return pb.CollectionExistsResponse(result=pb.CollectionExists(exists=exists), time=elapsed)


def aliases(result: Any, elapsed: float) -> pb.ListAliasesResponse:
    listed = rest.CollectionsAliasesResponse.model_validate(result).aliases
    return pb.ListAliasesResponse(aliases=[R.convert_alias_description(a) for a in listed], time=elapsed)
