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


def _scored(points: list[Any]) -> list[pb.ScoredPoint]:
    return [R.convert_scored_point(rest.ScoredPoint.model_validate(p)) for p in points]


def _records(points: list[Any]) -> list[pb.RetrievedPoint]:
    return [R.convert_record(rest.Record.model_validate(p)) for p in points]


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
