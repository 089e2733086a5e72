"""gRPC point reads -> REST calls. Search, Recommend and Discover (and their batch and group
forms) have no REST endpoint in pydrant: they become the query API requests Qdrant defines them
as (`nearest`, `recommend`, `discover` / `context` with `using`, `lookup_from` and the same
limit, offset, threshold, filter and projection)."""

from __future__ import annotations

from typing import Any

import msgspec
from qdrant_client import grpc as pb
from qdrant_client.conversions.conversion import GrpcToRest
from qdrant_client.http import models as rest

from pydrant.api.grpc.rest_call import RestCall, collection_call, query_params
from pydrant.api.grpc.to_rest_writes import optional_filter, shard_key

G = GrpcToRest


def _optional(request: Any, name: str) -> Any:
    return getattr(request, name) if request.HasField(name) else None


def _with_payload(request: Any) -> rest.WithPayloadInterface | None:
    return G.convert_with_payload_interface(request.with_payload) if request.HasField("with_payload") else None


def _with_vector(request: Any) -> rest.WithVector | None:
    return G.convert_with_vectors_selector(request.with_vectors) if request.HasField("with_vectors") else None


def _params(request: Any) -> rest.SearchParams | None:
    return G.convert_search_params(request.params) if request.HasField("params") else None


def _lookup_from(request: Any) -> rest.LookupLocation | None:
    return G.convert_lookup_location(request.lookup_from) if request.HasField("lookup_from") else None


def _with_lookup(request: Any) -> rest.WithLookup | None:
    return G.convert_with_lookup(request.with_lookup) if request.HasField("with_lookup") else None


def get(request: pb.GetPoints) -> RestCall:
    return collection_call(request, rest.PointRequest(
        ids=[G.convert_point_id(point_id) for point_id in request.ids],
        with_payload=_with_payload(request),
        with_vector=_with_vector(request),
        shard_key=shard_key(request),
    ))


def scroll(request: pb.ScrollPoints) -> RestCall:
    return collection_call(request, rest.ScrollRequest(
        offset=G.convert_point_id(request.offset) if request.HasField("offset") else None,
        limit=_optional(request, "limit"),
        filter=optional_filter(request),
        with_payload=_with_payload(request),
        with_vector=_with_vector(request),
        order_by=G.convert_order_by(request.order_by) if request.HasField("order_by") else None,
        shard_key=shard_key(request),
    ))


def count(request: pb.CountPoints) -> RestCall:
    return collection_call(request, rest.CountRequest(
        filter=optional_filter(request), exact=_optional(request, "exact"), shard_key=shard_key(request),
    ))


def facet(request: pb.FacetCounts) -> RestCall:
    return collection_call(request, rest.FacetRequest(
        key=request.key,
        limit=_optional(request, "limit"),
        filter=optional_filter(request),
        exact=_optional(request, "exact"),
        shard_key=shard_key(request),
    ))


def search_matrix(request: pb.SearchMatrixPoints) -> RestCall:
    return collection_call(request, rest.SearchMatrixRequest(
        filter=optional_filter(request),
        sample=_optional(request, "sample"),
        limit=_optional(request, "limit"),
        using=_optional(request, "using"),
        shard_key=shard_key(request),
    ))


# ---- query API ----------------------------------------------------------------------------------


def query(request: pb.QueryPoints) -> RestCall:
    plain = _plain_query(request)
    return plain if plain is not None else collection_call(request, G.convert_query_points(request))


# The usual search: one dense vector, and at most a vector name, limit, offset and payload on or
# off. Its JSON body is written directly; through the converters' REST model it cost ~230 us
# (validation, then the model's JSON). tests/unit/test_grpc_query.py holds both to one body.
_PLAIN_QUERY_FIELDS = frozenset(("collection_name", "query", "using", "limit", "offset", "with_payload", "timeout"))


def _plain_query(request: pb.QueryPoints) -> RestCall | None:
    fields = {descriptor.name for descriptor, _ in request.ListFields()}
    if not fields <= _PLAIN_QUERY_FIELDS or "query" not in fields:
        return None
    query = request.query
    if query.WhichOneof("variant") != "nearest" or query.nearest.WhichOneof("variant") != "dense":
        return None
    body: dict[str, Any] = {"query": list(query.nearest.dense.data)}
    for name in ("using", "limit", "offset"):
        if name in fields:
            body[name] = getattr(request, name)
    if "with_payload" in fields:
        if request.with_payload.WhichOneof("selector_options") != "enable":
            return None
        body["with_payload"] = request.with_payload.enable
    return RestCall({"collection_name": request.collection_name}, msgspec.json.encode(body), query_params(request))


def query_batch(request: pb.QueryBatchPoints) -> RestCall:
    return collection_call(request, rest.QueryRequestBatch(
        searches=[G.convert_query_points(one) for one in request.query_points],
    ))


def query_groups(request: pb.QueryPointGroups) -> RestCall:
    return collection_call(request, rest.QueryGroupsRequest(
        prefetch=[G.convert_prefetch_query(p) for p in request.prefetch] or None,
        query=G.convert_query(request.query) if request.HasField("query") else None,
        using=_optional(request, "using"),
        filter=optional_filter(request),
        params=_params(request),
        score_threshold=_optional(request, "score_threshold"),
        with_payload=_with_payload(request),
        with_vector=_with_vector(request),
        lookup_from=_lookup_from(request),
        limit=_optional(request, "limit"),
        group_size=_optional(request, "group_size"),
        group_by=request.group_by,
        with_lookup=_with_lookup(request),
        shard_key=shard_key(request),
    ))


# ---- the legacy search family, as query API requests ------------------------------------------


def _nearest(request: pb.SearchPoints | pb.SearchPointGroups) -> rest.NearestQuery:
    values = list(request.vector)
    if request.HasField("sparse_indices"):
        return rest.NearestQuery(nearest=rest.SparseVector(indices=list(request.sparse_indices.data), values=values))
    return rest.NearestQuery(nearest=values)


def _recommend(request: pb.RecommendPoints | pb.RecommendPointGroups) -> rest.RecommendQuery:
    positive = [G.convert_point_id(i) for i in request.positive] + [G.convert_vector(v) for v in request.positive_vectors]
    negative = [G.convert_point_id(i) for i in request.negative] + [G.convert_vector(v) for v in request.negative_vectors]
    # the stubs type enum fields as ValueType, the converters name the enum class
    strategy = G.convert_recommend_strategy(request.strategy) if request.HasField("strategy") else None  # type: ignore[arg-type]
    return rest.RecommendQuery(recommend=rest.RecommendInput(positive=positive, negative=negative, strategy=strategy))


def _example(example: pb.VectorExample) -> Any:
    which = example.WhichOneof("example")
    if which == "id":
        return G.convert_point_id(example.id)
    if which == "vector":
        return G.convert_vector(example.vector)
    raise ValueError("invalid VectorExample: expected `id` or `vector`")


def _discover(request: pb.DiscoverPoints) -> rest.DiscoverQuery | rest.ContextQuery:
    """With a target: discovery search; without one: context search (as Qdrant's discover)."""
    pairs = [rest.ContextPair(positive=_example(p.positive), negative=_example(p.negative)) for p in request.context]
    if request.HasField("target") and request.target.WhichOneof("target") is not None:
        target = _example(request.target.single)
        return rest.DiscoverQuery(discover=rest.DiscoverInput(target=target, context=pairs))
    return rest.ContextQuery(context=pairs)


def _scoring_fields(request: Any, query: rest.Query, using: str | None) -> dict[str, Any]:
    """What a search-like request and its group form share, as REST request fields."""
    return {
        "query": query,
        "using": using,
        "filter": optional_filter(request),
        "params": _params(request),
        "score_threshold": _optional(request, "score_threshold"),
        "with_payload": _with_payload(request),
        "with_vector": _with_vector(request),
        "lookup_from": _lookup_from(request) if "lookup_from" in request.DESCRIPTOR.fields_by_name else None,
        "limit": request.limit,
        "shard_key": shard_key(request),
    }


def _query_request(request: Any, query: rest.Query, using: str | None) -> rest.QueryRequest:
    return rest.QueryRequest(offset=_optional(request, "offset"), **_scoring_fields(request, query, using))


def _search_request(request: pb.SearchPoints) -> rest.QueryRequest:
    return _query_request(request, _nearest(request), _optional(request, "vector_name"))


def _recommend_request(request: pb.RecommendPoints) -> rest.QueryRequest:
    return _query_request(request, _recommend(request), _optional(request, "using"))


def _discover_request(request: pb.DiscoverPoints) -> rest.QueryRequest:
    return _query_request(request, _discover(request), _optional(request, "using"))


def search(request: pb.SearchPoints) -> RestCall:
    return collection_call(request, _search_request(request))


def search_batch(request: pb.SearchBatchPoints) -> RestCall:
    return collection_call(request, rest.QueryRequestBatch(searches=[_search_request(s) for s in request.search_points]))


def recommend(request: pb.RecommendPoints) -> RestCall:
    return collection_call(request, _recommend_request(request))


def recommend_batch(request: pb.RecommendBatchPoints) -> RestCall:
    return collection_call(request, rest.QueryRequestBatch(searches=[_recommend_request(r) for r in request.recommend_points]))


def discover(request: pb.DiscoverPoints) -> RestCall:
    return collection_call(request, _discover_request(request))


def discover_batch(request: pb.DiscoverBatchPoints) -> RestCall:
    return collection_call(request, rest.QueryRequestBatch(searches=[_discover_request(d) for d in request.discover_points]))


def _groups_request(request: Any, query: rest.Query, using: str | None) -> rest.QueryGroupsRequest:
    return rest.QueryGroupsRequest(
        group_size=request.group_size,
        group_by=request.group_by,
        with_lookup=_with_lookup(request),
        **_scoring_fields(request, query, using),
    )


def search_groups(request: pb.SearchPointGroups) -> RestCall:
    return collection_call(request, _groups_request(request, _nearest(request), _optional(request, "vector_name")))


def recommend_groups(request: pb.RecommendPointGroups) -> RestCall:
    return collection_call(request, _groups_request(request, _recommend(request), _optional(request, "using")))
