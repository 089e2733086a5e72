"""Field indexes: schema validation, ordering, facet counts, text tokenizer options, estimates."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from pydrant.errors import BadInput, MalformedJson, Unsupported, ValidationFailed
from pydrant.segment.filtering.compile import compile_filter
from pydrant.segment.payload_index import make_field_index, parse_field_schema


def _cond(raw: dict[str, Any]) -> Any:
    f = compile_filter({"must": raw})
    assert f is not None and f.must is not None
    return f.must[0]


@pytest.mark.parametrize("name", ["keyword", "integer", "float", "geo", "text", "bool", "datetime", "uuid"])
def test_type_names(name: str) -> None:
    index = make_field_index("f", name)
    assert index.data_type == name and index.params is None and index.key == "f"


def test_params_are_kept_to_report_back() -> None:
    schema = {"type": "integer", "lookup": False, "range": True, "is_principal": True, "on_disk": None, "memory": "cold"}
    index = make_field_index("n", schema)
    assert index.params == {"type": "integer", "lookup": False, "range": True, "is_principal": True, "memory": "cold"}
    text = {"type": "text", "tokenizer": "prefix", "min_token_len": 2, "max_token_len": 10, "lowercase": True,
            "phrase_matching": True, "stopwords": {"languages": ["english"], "custom": ["foo"]},
            "stemmer": {"type": "none"}, "ascii_folding": True, "enable_hnsw": False}
    assert parse_field_schema(text) == ("text", text)
    assert parse_field_schema({"type": "keyword", "is_tenant": True, "prefix": True})[1] == {"type": "keyword", "is_tenant": True, "prefix": True}


@pytest.mark.parametrize(
    "schema, error",
    [
        ("strings", ValidationFailed),
        ({"type": "nope"}, ValidationFailed),
        ({"lookup": True}, ValidationFailed),
        (5, MalformedJson),
        ({"type": "keyword", "lookup": True}, MalformedJson),
        ({"type": "integer", "range": "yes"}, MalformedJson),
        ({"type": "text", "tokenizer": "chars"}, MalformedJson),
        ({"type": "text", "min_token_len": -1}, MalformedJson),
        ({"type": "text", "min_token_len": 5, "max_token_len": 2}, ValidationFailed),
        ({"type": "text", "stopwords": "klingon"}, MalformedJson),
        ({"type": "text", "stemmer": {"type": "snowball", "language": "klingon"}}, MalformedJson),
        ({"type": "keyword", "memory": "warm"}, MalformedJson),
    ],
)
def test_bad_schemas(schema: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        make_field_index("f", schema)


def test_unavailable_text_features_are_refused() -> None:
    with pytest.raises(Unsupported):
        make_field_index("f", {"type": "text", "stemmer": {"type": "snowball", "language": "english"}})
    with pytest.raises(Unsupported):
        make_field_index("f", {"type": "text", "stopwords": "french"})


def test_ordered_offsets_and_start_from() -> None:
    index = make_field_index("p", "float")
    for off, p in enumerate([{"p": 3}, {"p": [1.5, 4]}, {"p": "x"}, None, {"p": 2.0}]):
        index.index_point(off, p)
    assert list(index.ordered_offsets("asc")) == [(1.5, 1), (2.0, 4), (3.0, 0), (4.0, 1)]
    assert list(index.ordered_offsets("desc", 3)) == [(3.0, 0), (2.0, 4), (1.5, 1)]
    assert list(index.ordered_offsets("asc", 2.5)) == [(3.0, 0), (4.0, 1)]
    index.index_point(0, {"p": 10})
    index.remove_point(4)
    assert list(index.ordered_offsets("desc")) == [(10.0, 0), (4.0, 1), (1.5, 1)]
    with pytest.raises(BadInput):
        list(index.ordered_offsets("sideways"))


def test_datetime_ordering_uses_microseconds() -> None:
    index = make_field_index("d", "datetime")
    index.index_point(0, {"d": "2023-01-01T00:00:01Z"})
    index.index_point(1, {"d": "2023-01-01T00:00:00Z"})
    got = list(index.ordered_offsets("asc", "2023-01-01T00:00:00.5Z"))
    assert got == [(1672531201000000, 0)]


def test_keyword_and_integer_refuse_ordering_as_configured() -> None:
    with pytest.raises(Unsupported):
        list(make_field_index("k", "keyword").ordered_offsets("asc"))
    with pytest.raises(BadInput):
        list(make_field_index("k", {"type": "integer", "range": False}).ordered_offsets("asc"))


def test_value_counts_count_points_once() -> None:
    index = make_field_index("tags", "keyword")
    for off, p in enumerate([{"tags": ["a", "b", "a"]}, {"tags": "a"}, {"tags": ["b", 1]}, {}]):
        index.index_point(off, p)
    assert index.value_counts(np.arange(4)) == {"a": 2, "b": 2}
    assert index.value_counts(np.array([2])) == {"b": 1}
    ints = make_field_index("n", "integer")
    ints.index_point(0, {"n": [1, 1, 2]})
    ints.index_point(1, {"n": True})
    assert ints.value_counts(np.array([0, 1])) == {1: 1, 2: 1}
    bools = make_field_index("b", "bool")
    bools.index_point(0, {"b": [True, False]})
    bools.index_point(1, {"b": True})
    assert bools.value_counts(np.array([0, 1])) == {True: 2, False: 1}


def test_estimates() -> None:
    index = make_field_index("k", "keyword")
    for off in range(10):
        index.index_point(off, {"k": "a" if off < 7 else "b"})
    assert index.estimate(_cond({"key": "k", "match": {"value": "b"}})) == 3
    assert index.estimate(_cond({"key": "k", "match": {"any": ["a", "b"]}})) == 10
    assert index.estimate(_cond({"key": "k", "match": {"value": 1}})) is None
    assert index.mask(_cond({"key": "k", "range": {"gt": 1}}), 10) is None
    assert index.points_count() == 10


def test_integer_index_leaves_ranges_to_scan_while_floats_exist() -> None:
    index = make_field_index("n", "integer")
    index.index_point(0, {"n": 1})
    index.index_point(1, {"n": 1.5})
    rng = _cond({"key": "n", "range": {"gte": 1}})
    assert index.mask(rng, 2) is None
    index.index_point(1, {"n": 2})
    assert index.mask(rng, 2).tolist() == [True, True]  # type: ignore[union-attr]
    assert index.mask(_cond({"key": "n", "match": {"value": 2}}), 2).tolist() == [False, True]  # type: ignore[union-attr]


def test_text_index_options() -> None:
    index = make_field_index("t", {"type": "text", "tokenizer": "whitespace", "lowercase": False,
                                   "stopwords": {"custom": ["the"]}, "min_token_len": 2, "ascii_folding": True})
    docs = ["The Ação café", "the x-ray", "a b"]
    for off, t in enumerate(docs):
        index.index_point(off, {"t": t})
    assert index.mask(_cond({"key": "t", "match": {"text": "acao"}}), 3).tolist() == [False, False, False]
    assert index.mask(_cond({"key": "t", "match": {"text": "Acao cafe"}}), 3).tolist() == [True, False, False]
    assert index.mask(_cond({"key": "t", "match": {"text": "x-ray"}}), 3).tolist() == [False, True, False]
    assert index.mask(_cond({"key": "t", "match": {"text": "the"}}), 3).tolist() == [False, False, False]
    assert index.mask(_cond({"key": "t", "match": {"text_any": "b x-ray"}}), 3).tolist() == [False, True, False]
    assert index.estimate(_cond({"key": "t", "match": {"text": "x-ray"}})) == 1


def test_uuid_index() -> None:
    index = make_field_index("u", "uuid")
    index.index_point(0, {"u": "550e8400-e29b-41d4-a716-446655440000"})
    index.index_point(1, {"u": "not a uuid"})
    assert index.points_count() == 1
    assert index.mask(_cond({"key": "u", "match": {"value": "550e8400-e29b-41d4-a716-446655440000"}}), 2).tolist() == [True, False]
    assert index.mask(_cond({"key": "u", "match": {"value": "not a uuid"}}), 2) is None
