"""Points in gRPC read responses: the direct conversion of plain points (id, payload, score,
version) builds the same protobuf messages as qdrant-client's REST model and converters."""

from __future__ import annotations

import uuid
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from qdrant_client import grpc as pb
from qdrant_client.conversions.conversion import RestToGrpc
from qdrant_client.http import models as rest

from pydrant.api.grpc.to_grpc import _records, _scored

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
JSON = st.recursive(
    st.none() | st.booleans() | INT64 | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
IDS = st.integers(min_value=0, max_value=2**64 - 1) | st.uuids().map(str)
PAYLOADS = st.none() | st.dictionaries(st.text(max_size=6), JSON, max_size=5)


def _point(point_id: Any, payload: Any, **extra: Any) -> dict[str, Any]:
    point: dict[str, Any] = {"id": point_id, **extra}
    if payload is not None:
        point["payload"] = payload
    return point


@settings(max_examples=300, deadline=None)
@given(point_id=IDS, payload=st.dictionaries(st.text(max_size=6), JSON, max_size=5))
def test_plain_records_convert_as_the_converters_do(point_id: Any, payload: Any) -> None:
    point = _point(point_id, payload)
    expected = pb.GetResponse(result=[RestToGrpc.convert_record(rest.Record.model_validate(point))])
    assert pb.GetResponse(result=_records([point])) == expected


@settings(max_examples=300, deadline=None)
@given(point_id=IDS, payload=PAYLOADS, score=st.floats(width=32, allow_nan=False, allow_infinity=False),
       version=st.integers(min_value=0, max_value=2**63 - 1))
def test_plain_scored_points_convert_as_the_converters_do(point_id: Any, payload: Any, score: float, version: int) -> None:
    point = _point(point_id, payload, score=score, version=version)
    expected = pb.QueryResponse(result=[RestToGrpc.convert_scored_point(rest.ScoredPoint.model_validate(point))])
    assert pb.QueryResponse(result=_scored([point])) == expected


def test_points_with_vectors_or_order_values_take_the_converters() -> None:
    with_vector = {"id": 1, "payload": {"a": 1}, "vector": [0.5, 1.0]}
    ordered = {"id": str(uuid.UUID(int=7)), "order_value": 3, "score": 1.0, "version": 2}
    assert _records([with_vector]) == [RestToGrpc.convert_record(rest.Record.model_validate(with_vector))]
    assert _scored([ordered]) == [RestToGrpc.convert_scored_point(rest.ScoredPoint.model_validate(ordered))]


def test_records_without_payload_convert() -> None:
    """with_payload=false: qdrant-client's record converter fails on a missing payload (it
    answered INTERNAL before this path); the point is its id with an empty payload map."""
    message = pb.GetResponse(result=_records([{"id": 3}, {"id": str(uuid.UUID(int=9))}]))
    assert [p.id for p in message.result] == [pb.PointId(num=3), pb.PointId(uuid=str(uuid.UUID(int=9)))]
    assert all(len(p.payload) == 0 for p in message.result)


def test_records_with_vectors_and_without_payload_convert() -> None:
    message = pb.GetResponse(result=_records([{"id": 4, "vector": [0.5, 1.0]}])).result[0]
    assert message.id.num == 4 and len(message.payload) == 0
    assert list(message.vectors.vector.dense.data) == [0.5, 1.0]


def test_payload_integers_past_int64_become_doubles() -> None:
    """Payloads may hold u64 values; protobuf's integer_value is int64 (the converters raise)."""
    point = {"id": 1, "payload": {"u": 2**64 - 1, "l": [2**63]}}
    message = pb.GetResponse(result=_records([point])).result[0]
    assert message.payload["u"].double_value == float(2**64 - 1)
    assert message.payload["l"].list_value.values[0].double_value == float(2**63)
