"""gRPC QueryPoints: the direct body of a plain dense query equals what qdrant-client's
converters produce (with `{"nearest": v}` read as the bare vector `v`, which the REST handler
treats alike); anything else is left to the converters."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from qdrant_client import grpc as pb
from qdrant_client.conversions.conversion import GrpcToRest

from pydrant.api.grpc.rest_call import collection_call
from pydrant.api.grpc.to_rest_reads import _plain_query, query

U32 = st.integers(min_value=0, max_value=2**32 - 1)


@st.composite
def plain_requests(draw: st.DrawFn) -> pb.QueryPoints:
    data = draw(st.lists(st.floats(width=32, allow_nan=False, allow_infinity=False), min_size=1, max_size=8))
    fields: dict[str, Any] = {"collection_name": draw(st.text(min_size=1, max_size=8)),
                              "query": pb.Query(nearest=pb.VectorInput(dense=pb.DenseVector(data=data)))}
    if draw(st.booleans()):
        fields["using"] = draw(st.text(max_size=6))
    if draw(st.booleans()):
        fields["limit"] = draw(st.integers(min_value=0, max_value=2**64 - 1))
    if draw(st.booleans()):
        fields["offset"] = draw(st.integers(min_value=0, max_value=2**64 - 1))
    if draw(st.booleans()):
        fields["with_payload"] = pb.WithPayloadSelector(enable=draw(st.booleans()))
    if draw(st.booleans()):
        fields["timeout"] = draw(st.integers(min_value=0, max_value=2**64 - 1))
    return pb.QueryPoints(**fields)


@settings(max_examples=300, deadline=None)
@given(request=plain_requests())
def test_plain_queries_get_the_converters_body(request: pb.QueryPoints) -> None:
    plain = _plain_query(request)
    assert plain is not None
    general = collection_call(request, GrpcToRest.convert_query_points(request))
    expected = json.loads(general.body)
    expected["query"] = expected["query"]["nearest"]
    assert json.loads(plain.body) == expected
    assert (plain.path, plain.query) == (general.path, general.query)


def test_other_queries_take_the_converters() -> None:
    dense = pb.Query(nearest=pb.VectorInput(dense=pb.DenseVector(data=[1.0, 0.0])))
    others = [
        pb.QueryPoints(collection_name="c", query=dense, filter=pb.Filter()),
        pb.QueryPoints(collection_name="c", query=dense, with_payload=pb.WithPayloadSelector(include=pb.PayloadIncludeSelector(fields=["a"]))),
        pb.QueryPoints(collection_name="c", query=dense, with_vectors=pb.WithVectorsSelector(enable=True)),
        pb.QueryPoints(collection_name="c", query=dense, score_threshold=0.5),
        pb.QueryPoints(collection_name="c", query=pb.Query(nearest=pb.VectorInput(id=pb.PointId(num=3)))),
        pb.QueryPoints(collection_name="c", query=pb.Query(sample=pb.Sample.Random)),
        pb.QueryPoints(collection_name="c"),
    ]
    for request in others:
        assert _plain_query(request) is None
        assert query(request).body == collection_call(request, GrpcToRest.convert_query_points(request)).body
