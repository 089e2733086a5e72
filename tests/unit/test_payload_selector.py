"""`with_payload` include / exclude selectors against qdrant-client local mode's semantics."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from qdrant_client import models
from qdrant_client.local.local_collection import LocalCollection

from pydrant.collection.payload_selector import exclude, include, selector_tree

PAYLOAD = {"a": {"b": 1, "c": 2}, "aa": {"b": 3}, "a.b": 4, "l": [{"b": 5, "c": 6}, {"b": 7}], "n": [1, 2]}


@pytest.mark.parametrize("keys, expected", [
    (["a.b"], {"a": {"b": 1}}),
    (['"a.b"', "l[].c"], {"a.b": 4, "l": [{"c": 6}, {}]}),
    (["l[]"], {"l": PAYLOAD["l"]}),
    (["n[0]"], {"n": []}),
    (["missing"], {}),
    (["a", "a.b"], {"a": {"b": 1, "c": 2}}),
])
def test_include(keys: list[str], expected: dict[str, Any]) -> None:
    assert include(PAYLOAD, selector_tree(tuple(keys))) == expected


def test_exclude() -> None:
    assert exclude(PAYLOAD, selector_tree(("a", "l[].b"))) == {"aa": {"b": 3}, "a.b": 4, "l": [{"c": 6}, {}], "n": [1, 2]}


keys = st.lists(st.sampled_from(["a", "a.b", "a.c", "aa.b", '"a.b"', "l[]", "l[].b", "l[].c", "n", "n[]", "x.y"]),
                min_size=1, max_size=4)


@settings(max_examples=80, deadline=None)
@given(keys)
def test_same_as_local_mode(selected: list[str]) -> None:
    tree = selector_tree(tuple(selected))
    assert include(PAYLOAD, tree) == LocalCollection._process_payload(PAYLOAD, models.PayloadSelectorInclude(include=selected))
    assert exclude(PAYLOAD, tree) == LocalCollection._process_payload(PAYLOAD, models.PayloadSelectorExclude(exclude=selected))
