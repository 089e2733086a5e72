"""Numeric bounds broken in a body are reported in Qdrant's validator wording, naming the field."""

from __future__ import annotations

from typing import Annotated

import msgspec
import pytest

from pydrant.collection.config import bound_message, decode_model
from pydrant.collection.convert import decode_json
from pydrant.errors import MalformedJson, ValidationFailed
from pydrant.models.query import QueryBody, SearchMatrixBody


class Ratio(msgspec.Struct):
    ratio: Annotated[float, msgspec.Meta(le=1.0)] = 0.0


def test_lower_bounds_name_the_field_and_value() -> None:
    with pytest.raises(ValidationFailed) as raised:
        decode_model({"limit": 0}, QueryBody)
    assert raised.value.message == "Validation error in JSON body: [limit: value 0 invalid, must be 1 or larger]"
    with pytest.raises(ValidationFailed) as raised:
        decode_model({"sample": 1}, SearchMatrixBody)
    assert raised.value.message == "Validation error in JSON body: [sample: value 1 invalid, must be 2 or larger]"
    with pytest.raises(ValidationFailed) as raised:
        decode_model({"params": {"hnsw_ef": 0}}, QueryBody, "$.searches[1]")
    assert raised.value.message == "Validation error in JSON body: [searches[1].params.hnsw_ef: value 0 invalid, must be 1 or larger]"


def test_bytes_bodies_and_upper_bounds() -> None:
    with pytest.raises(ValidationFailed) as raised:
        decode_json(b'{"ratio": 1.5}', Ratio)
    assert raised.value.message == "Validation error in JSON body: [ratio: value 1.5 invalid, must be 1.0 or smaller]"


def test_other_errors_keep_their_wording() -> None:
    message = "Expected `str` of length >= 1 - at `$.name`"
    assert bound_message(message, {"name": ""}, "$.vectors") == "Expected `str` of length >= 1 - at `$.vectors.name`"
    # A path that cannot be followed in the body keeps msgspec's message.
    assert bound_message("Expected `int` >= 1 - at `$.limit`", {}) == "Expected `int` >= 1 - at `$.limit`"
    with pytest.raises(MalformedJson):
        decode_model({"limit": "ten"}, QueryBody)
