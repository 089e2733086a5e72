"""`parse_ids` checks a list of plain integer ids in one pass; every list gets the answer (or
the error) that parsing id by id gives."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from pydrant.collection.convert import parse_ids
from pydrant.errors import MalformedJson
from pydrant.models.ids import MAX_U64, parse_point_id

ids = st.one_of(
    st.integers(min_value=0, max_value=MAX_U64),
    st.integers(min_value=-5, max_value=-1),
    st.integers(min_value=MAX_U64 + 1, max_value=MAX_U64 + 5),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.uuids().map(str),
    st.just("not-a-uuid"),
    st.none(),
)


def one_by_one(raw: list[Any]) -> list[Any] | str:
    try:
        return [parse_point_id(item, f"ids[{i}]") for i, item in enumerate(raw)]
    except MalformedJson as exc:
        return exc.message


@given(st.lists(ids, max_size=8) | st.lists(st.integers(min_value=-2, max_value=MAX_U64 + 2), max_size=8))
def test_parse_ids_answers_as_parsing_one_by_one(raw: list[Any]) -> None:
    try:
        got: list[Any] | str = parse_ids(raw, "ids")
    except MalformedJson as exc:
        got = exc.message
    assert got == one_by_one(raw)
    if isinstance(got, list):
        assert [type(x) for x in got] == [type(x) for x in one_by_one(raw)]  # True is not 1
        assert got is not raw  # the caller's list is never handed back to be mutated


def test_not_a_list_is_refused() -> None:
    for raw in ({"a": 1}, 3, "1", None):
        try:
            parse_ids(raw, "ids")
        except MalformedJson as exc:
            assert exc.message == "Format error in JSON body: ids: expected a list of point ids"
        else:
            raise AssertionError(f"{raw!r} was accepted")
