"""Query API parsing: which vector inputs are accepted, and the error (kind and message) each
rejected one gets."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pydrant.collection.config import VectorSpec
from pydrant.collection.convert import finite_vector
from pydrant.collection.query import _value
from pydrant.collection.query_parse import parse_query
from pydrant.errors import BadInput, MalformedJson, ValidationFailed
from pydrant.models.query import Fusion, Nearest, Recommend

VECTOR = "query: expected a vector (array of numbers)"
MULTI = "query: expected a multivector (array of arrays of numbers)"
ANY_INPUT = "query: expected a vector, a sparse vector, a multivector or a point id"


@pytest.mark.parametrize(
    "raw",
    [
        [1.0, 2],
        [0],
        [-1.5, 1e300, 10**30],  # any JSON number passes the shape check (range is checked later)
        [[1.0, 2.0], [3, 4]],
        [[]],  # an empty row is a multivector here; its dimension is checked against the vector
        [[], [1.0]],
        7,
        "936DA01F-9ABD-4D9D-80C7-02AF85C822A8",
        {"indices": [1, 2], "values": [0.5, 1]},
    ],
)
def test_accepted_inputs(raw: Any) -> None:
    assert parse_query(raw, "query") == Nearest(raw)
    assert parse_query({"nearest": raw}, "query") == Nearest(raw)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([True, 1.0], VECTOR),  # a JSON bool is not a number
        ([1.0, False], VECTOR),
        ([1.0, "2.0"], VECTOR),
        (["1"], VECTOR),
        ([1.0, None], VECTOR),
        ([1.0, [2.0]], VECTOR),  # a nested list only makes a multivector when it comes first
        ([{"a": 1}], VECTOR),
        ([[1.0], [True]], MULTI),
        ([[1.0], ["x"]], MULTI),
        ([[1.0], 2.0], MULTI),
        ([[1.0], None], MULTI),
        ([[1.0, [2.0]]], MULTI),
        (True, ANY_INPUT),
        (1.5, ANY_INPUT),
        ({"nearest": [True]}, "query.nearest: expected a vector (array of numbers)"),
        ({"nearest": {"indices": "1", "values": [1.0]}}, "query.nearest: sparse vector indices and values must be arrays"),
        ({"recommend": {"positive": [[1.0, True]]}}, "query.recommend.positive[0]: expected a vector (array of numbers)"),
        ({"recommend": {"positive": [[1.0]], "negative": [[[1.0], 2]]}}, "query.recommend.negative[0]: expected a multivector (array of arrays of numbers)"),
        ({"discover": {"target": ["a"], "context": []}}, "query.discover.target: expected a vector (array of numbers)"),
        ({"context": [{"positive": [1.0], "negative": [False]}]}, "query.context[0].negative: expected a vector (array of numbers)"),
        ({"rrf": {"weights": [1, True]}}, "query.rrf.weights: expected an array of numbers"),
        ({"rrf": {"weights": [1, "2"]}}, "query.rrf.weights: expected an array of numbers"),
    ],
)
def test_rejected_inputs(raw: Any, message: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        parse_query(raw, "query")
    assert str(info.value) == str(ValidationFailed(message))


@pytest.mark.parametrize(("raw", "message"), [(-1, "query: point id must be an unsigned 64-bit integer or a UUID, got -1"), ("x", "query: Unable to parse UUID: x")])
def test_bad_point_ids(raw: Any, message: str) -> None:
    with pytest.raises(MalformedJson) as info:
        parse_query(raw, "query")
    assert str(info.value) == str(MalformedJson(message))


def test_query_objects() -> None:
    assert parse_query({"rrf": {"weights": [1, 0.5]}}, "q") == Fusion("rrf", 2, [1, 0.5])
    assert parse_query({"recommend": {"positive": [[1.0], 3]}}, "q") == Recommend([[1.0], 3], [], "average_vector")


DENSE = VectorSpec("", "dense", {"size": 2, "distance": "Dot"})
MULTI_SPEC = VectorSpec("m", "multi", {"size": 2, "distance": "Dot"})
SPARSE = VectorSpec("s", "sparse", {})


def test_value_converts_checked_vectors() -> None:
    assert _value([1, 0.5], DENSE, "q").tolist() == [1.0, 0.5]
    assert _value([[1, 0.5], [2, 3]], MULTI_SPEC, "q").tolist() == [[1.0, 0.5], [2.0, 3.0]]
    indices, values = _value({"indices": [3, 1], "values": [1, 0.5]}, SPARSE, "q")
    assert indices.tolist() == [1, 3] and values.tolist() == [0.5, 1.0]


@pytest.mark.parametrize(
    ("raw", "spec", "kind", "message"),
    [
        ([1.0, 2.0, 3.0], DENSE, BadInput, "Vector dimension error: expected dim: 2, got 3"),
        ([], DENSE, BadInput, "Vector dimension error: expected dim: 2, got 0"),  # a 400, as in Qdrant
        ([], MULTI_SPEC, BadInput, "Vector dimension error: expected dim: 2, got 0"),
        ([[1.0, 2.0]], DENSE, BadInput, "q: vector `(default vector)` is not a multivector, got an array of arrays"),
        ([1e39, 0.0], DENSE, MalformedJson, "q: vector values must be finite numbers within float32 range"),
        ([[1.0, 2.0], [1.0]], MULTI_SPEC, BadInput, "Vector dimension error: expected dim: 2, got 1"),
        ({"indices": [1, True], "values": [1.0, 2.0]}, SPARSE, ValidationFailed, "q: sparse vector indices must be integers and values numbers"),
        ({"indices": [1, 2.0], "values": [1.0, 2.0]}, SPARSE, ValidationFailed, "q: sparse vector indices must be integers and values numbers"),
        ({"indices": [1, 2], "values": [1.0, False]}, SPARSE, ValidationFailed, "q: sparse vector indices must be integers and values numbers"),
        ({"indices": [1, 2], "values": [1.0, "2"]}, SPARSE, ValidationFailed, "q: sparse vector indices must be integers and values numbers"),
        ({"indices": [1, 1], "values": [1.0, 2.0]}, SPARSE, ValidationFailed, "q.indices: must be unique"),
        ({"indices": [1, 2], "values": [1.0]}, SPARSE, ValidationFailed, "q.values: must be the same length as indices"),
        ([1.0, 2.0], SPARSE, BadInput, "q: vector `s` is sparse, expected {\"indices\": [...], \"values\": [...]}"),
    ],
)
def test_value_rejects(raw: Any, spec: VectorSpec, kind: type[Exception], message: str) -> None:
    with pytest.raises(kind) as info:
        _value(raw, spec, "q")
    assert type(info.value) is kind and str(info.value) == str(kind(message))


def test_value_is_float32() -> None:
    assert _value([0.1, 2], DENSE, "q").dtype == np.float32


# What reaches finite_vector: numbers (their shape is checked before), or rows of them.
_NUMBER = st.one_of(st.floats(), st.integers(), st.integers(min_value=-(2**1100), max_value=2**1100), st.booleans())
_VECTOR_OR_ROWS = st.one_of(st.lists(_NUMBER, max_size=12), st.lists(st.lists(_NUMBER, min_size=2, max_size=2), max_size=4))


@settings(max_examples=400, deadline=None)
@given(_VECTOR_OR_ROWS)
def test_finite_vector_converts_lists_as_numpy_does(values: list[Any]) -> None:
    """finite_vector converts a flat list of numbers in one C loop instead of numpy's: the
    same float32 bits, and the same refusals (non-finite, past float32 range, not numbers)."""

    def outcome(convert: Any) -> Any:
        try:
            return convert().tobytes()
        except MalformedJson:
            return "refused"
        except Exception as exc:  # noqa: BLE001 - what numpy itself raises for odd elements
            return type(exc)

    def by_numpy() -> np.ndarray:
        try:
            with np.errstate(over="ignore"):
                array = np.asarray(values, dtype=np.float32)
        except OverflowError:
            return finite_vector([np.inf], "query")
        return finite_vector(array, "query")  # an ndarray takes numpy's way

    assert outcome(lambda: finite_vector(values, "query")) == outcome(by_numpy)
