"""Payload operations: hand cases from Qdrant's docs and a differential test against local mode."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pydrant.errors import ValidationFailed
from pydrant.segment.payload_ops import (
    clear_payload,
    delete_payload_keys,
    overwrite_payload,
    set_payload,
)


def test_set_merges_top_level_and_null_removes() -> None:
    cur = {"a": 1, "b": {"c": 2}, "z": 0}
    out = set_payload(cur, {"b": 5, "d": [1], "z": None})
    assert out == {"a": 1, "b": 5, "d": [1]}
    assert cur == {"a": 1, "b": {"c": 2}, "z": 0}


def test_set_with_key_docs_example() -> None:
    # docs: set {"nested_property": "qux"} with key "property1" on a string property
    out = set_payload({"property1": "string", "property2": "string"}, {"nested_property": "qux"}, "property1")
    assert out == {"property1": {"nested_property": "qux"}, "property2": "string"}


def test_set_with_key_creates_path_and_merges() -> None:
    assert set_payload({}, {"x": 1}, "a.b") == {"a": {"b": {"x": 1}}}
    assert set_payload({"a": {"b": {"y": 2}}}, {"x": 1}, "a.b") == {"a": {"b": {"y": 2, "x": 1}}}
    assert set_payload(None, {"x": 1}, "a") == {"a": {"x": 1}}


def test_set_with_array_paths() -> None:
    cur = {"arr": [{"k": 1}, 5, {"k": 2}]}
    assert set_payload(cur, {"x": 0}, "arr[]") == {"arr": [{"k": 1, "x": 0}, {"x": 0}, {"k": 2, "x": 0}]}
    assert set_payload(cur, {"x": 0}, "arr[1]") == {"arr": [{"k": 1}, {"x": 0}, {"k": 2}]}
    assert set_payload(cur, {"x": 0}, "arr[9]") == cur
    assert set_payload({"arr": 3}, {"x": 0}, "arr[0]") == {"arr": []}
    assert cur == {"arr": [{"k": 1}, 5, {"k": 2}]}


def test_wildcard_set_does_not_alias_elements() -> None:
    out = set_payload({"arr": [{}, {}]}, {"x": {"deep": 1}}, "arr[]")
    out2 = set_payload(out, {"y": 2}, "arr[0].x")
    assert out2["arr"][1]["x"] == {"deep": 1}
    assert out2["arr"][0]["x"] == {"deep": 1, "y": 2}


def test_new_payload_is_not_shared() -> None:
    new = {"list": [1, 2]}
    out = set_payload({}, new)
    out["list"].append(3)
    assert new == {"list": [1, 2]}
    over = overwrite_payload({"a": 1}, new)
    assert over == new and over["list"] is not new["list"]


def test_delete_keys() -> None:
    cur = {"a": {"b": 1, "c": 2}, "arr": [{"x": 1, "y": 2}, {"x": 3}], "l": [1, 2]}
    assert delete_payload_keys(cur, ["a.b"]) == {"a": {"c": 2}, "arr": cur["arr"], "l": [1, 2]}
    assert delete_payload_keys(cur, ["arr[].x"])["arr"] == [{"y": 2}, {}]
    assert delete_payload_keys(cur, ["arr[0].x"])["arr"] == [{"y": 2}, {"x": 3}]
    assert delete_payload_keys(cur, ["l[]"])["l"] == []
    assert delete_payload_keys(cur, ["l[0]"])["l"] == [1, 2]
    assert delete_payload_keys(cur, ["missing", "a.missing.deeper"]) == cur
    assert cur["a"] == {"b": 1, "c": 2}


def test_clear_and_bad_keys() -> None:
    assert clear_payload({"a": 1}) == {}
    with pytest.raises(ValidationFailed):
        delete_payload_keys({}, ["a..b"])
    with pytest.raises(ValidationFailed):
        set_payload({}, {"x": 1}, "a[x]")


# ---------------------------------------------------------------------------------------------
# differential against qdrant-client local mode


@pytest.fixture(scope="module")
def local_client() -> Any:
    from qdrant_client import QdrantClient, models

    client = QdrantClient(":memory:")
    client.create_collection("t", vectors_config=models.VectorParams(size=1, distance=models.Distance.DOT))
    yield client
    client.close()

_leaf = st.one_of(st.integers(0, 3), st.none(), st.sampled_from(["s", "t"]))
_json = st.recursive(_leaf, lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["a", "b", "c"]), inner, max_size=3)), max_leaves=8)
_payload = st.dictionaries(st.sampled_from(["a", "b", "c"]), _json, max_size=3)
_paths = st.sampled_from(["a", "b", "a.b", "a[]", "a[0]", "a[1].b", "a[].b", "a.b.c", "b[].a[]", "c"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=_payload, ops=st.lists(st.one_of(
    st.tuples(st.just("set"), st.dictionaries(st.sampled_from(["a", "b", "x"]), _json, max_size=2), st.one_of(st.none(), _paths)),
    st.tuples(st.just("delete"), st.lists(_paths, min_size=1, max_size=2), st.none()),
    st.tuples(st.just("overwrite"), _payload, st.none()),
), max_size=4))
def test_ops_match_local_mode(local_client: Any, start: dict[str, Any], ops: list[Any]) -> None:
    from qdrant_client import models

    client = local_client
    client.upsert("t", [models.PointStruct(id=1, vector=[1.0], payload=copy.deepcopy(start))])
    ours = copy.deepcopy(start)
    for kind, arg, key in ops:
        before = copy.deepcopy(ours)
        if kind == "set":
            ours = set_payload(ours, arg, key)
            client.set_payload("t", payload=copy.deepcopy(arg), points=[1], key=key)
        elif kind == "delete":
            ours = delete_payload_keys(ours, arg)
            client.delete_payload("t", keys=arg, points=[1])
        else:
            ours = overwrite_payload(ours, arg)
            client.overwrite_payload("t", payload=copy.deepcopy(arg), points=[1])
        assert before is not ours
        theirs = client.retrieve("t", [1], with_payload=True)[0].payload
        assert ours == theirs, (kind, arg, key)
