"""The short path for plain dense queries answers exactly as the general query path does:
the same points, scores and records for every body it takes, and it takes no body whose
answer (or error) the general path would give differently."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Iterator
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pydrant.collection import query as query_module
from pydrant.collection.collection import Collection
from pydrant.collection.plain_query import answer
from pydrant.errors import PydrantError
from pydrant.service.toc import TableOfContents

DIM = 6
N = 1200  # past the 1000-point seal threshold; the sealed segment (above full_scan_threshold's 426 vectors of dim 6) is searched through its graph


@pytest.fixture(scope="module")
def toc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TableOfContents]:
    """Named dense vectors (one with an HNSW graph in a sealed segment), a sparse and a
    multivector, some points deleted, ids of both kinds."""
    toc = TableOfContents(Path(tmp_path_factory.mktemp("plain")) / "storage", 3600.0)
    toc.create_collection("c", {
        "vectors": {"a": {"size": DIM, "distance": "Cosine"}, "b": {"size": 3, "distance": "Euclid"},
                    "m": {"size": 2, "distance": "Dot", "multivector_config": {"comparator": "max_sim"}}},
        "sparse_vectors": {"s": {}},
        "hnsw_config": {"full_scan_threshold": 10},
        "optimizers_config": {"indexing_threshold": 1},
    })
    toc.create_collection("single", {"vectors": {"size": DIM, "distance": "Dot"}})
    rng = np.random.default_rng(0)
    c = toc.get("c")
    from pydrant.api.rest import routes_points
    from pydrant.api.rest.context import RequestContext
    import msgspec

    def upsert(name: str, points: list[dict[str, Any]]) -> None:
        routes_points.upsert_points(RequestContext(toc, {"collection_name": name}, b"wait=true",
                                                   msgspec.json.encode({"points": points})))

    ids: list[Any] = [i if i % 5 else f"00000000-0000-0000-0000-{i:012d}" for i in range(N)]
    for start in range(0, N, 100):
        upsert("c", [{"id": ids[i], "payload": {"n": i, "tag": ["x", "y"][i % 2]},
                      "vector": {"a": rng.normal(size=DIM).round(2).tolist(), "b": rng.normal(size=3).tolist(),
                                 "m": rng.normal(size=(2, 2)).tolist(),
                                 "s": {"indices": [i % 7], "values": [1.0]}}} for i in range(start, start + 100)])
        upsert("single", [{"id": i, "vector": rng.normal(size=DIM).round(1).tolist(), "payload": {"n": i}}
                          for i in range(start, start + 100)])
    # Let the optimizer index what is sealed, then keep writing into a fresh appendable segment.
    deadline = 600
    while c.status() != "green" and deadline:
        c.optimizer.wake()
        import time
        time.sleep(0.05)  # polling the optimizer under a bound
        deadline -= 1
    upsert("c", [{"id": 10_000 + i, "vector": {"a": rng.normal(size=DIM).tolist()}} for i in range(30)])
    assert any(s.indexed_vectors_count() for s in c.segments()) and len(list(c.segments())) >= 2
    routes_points.delete_points(RequestContext(toc, {"collection_name": "c"}, b"wait=true",
                                               msgspec.json.encode({"points": [1, 2, 3, 10_001]})))
    yield toc
    toc.close()


def general(collection: Collection, body: Any) -> Any:
    with mock.patch.object(query_module, "plain_answer", lambda c, r: None):
        return outcome(collection, body)


def outcome(collection: Collection, body: Any) -> Any:
    try:
        return ("ok", query_module.query_points(collection, body, lambda name: collection))
    except PydrantError as exc:
        return ("error", type(exc).__name__, str(exc))


numbers = st.one_of(st.floats(-3, 3, allow_nan=False, width=32), st.integers(-3, 3))
odd_values = st.one_of(st.none(), st.booleans(), st.integers(-2, 3), st.floats(allow_nan=False), st.text(max_size=3),
                       st.sampled_from([2**63, 10**20, 10**400, -(10**400)]),  # JSON integers past every machine type
                       st.lists(st.integers(0, 2), max_size=2), st.just({}))


@st.composite
def bodies(draw: st.DrawFn) -> dict[str, Any]:
    size = draw(st.sampled_from([DIM, DIM, DIM, 3, 2, 0]))
    body: dict[str, Any] = {"query": draw(st.one_of(
        st.lists(numbers, min_size=size, max_size=size),
        odd_values,
        st.lists(st.one_of(numbers, st.booleans(), st.none()), min_size=DIM, max_size=DIM),
        st.just([1e39] * DIM),
    ))}
    if draw(st.booleans()):  # the same vector as a NearestQuery object (gRPC, qdrant-client's models)
        nearest: dict[str, Any] = {"nearest": body["query"]}
        if draw(st.booleans()):
            nearest["mmr"] = draw(st.one_of(st.none(), st.just({"diversity": 0.5}), odd_values))
        body["query"] = nearest
    optional = {
        "limit": st.one_of(st.integers(0, 30), odd_values),
        "offset": st.one_of(st.integers(0, 5), odd_values),
        "using": st.one_of(st.sampled_from(["a", "b", "m", "s", "", "zz"]), odd_values),
        "params": st.one_of(st.fixed_dictionaries({}, optional={"hnsw_ef": st.one_of(st.integers(0, 50), odd_values),
                                                               "exact": odd_values, "indexed_only": odd_values}), odd_values),
        "with_payload": st.one_of(st.booleans(), st.just(["n"]), st.just({"exclude": ["tag"]}), odd_values),
        "with_vector": st.one_of(st.booleans(), st.just(["a"]), st.just(["zz"]), odd_values),
        "score_threshold": st.one_of(st.floats(-1, 1), st.just(math.inf), odd_values),
        "filter": st.one_of(st.none(), st.just({"must": [{"key": "n", "range": {"lt": 100}}]})),
        "prefetch": st.none(),
        "lookup_from": st.none(),
        "shard_key": st.none(),
        "unknown": odd_values,
    }
    for key in draw(st.lists(st.sampled_from(sorted(optional)), unique=True, max_size=6)):
        body[key] = draw(optional[key])
    return body


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=bodies(), name=st.sampled_from(["c", "single"]))
def test_short_path_answers_as_the_general_path(toc: TableOfContents, body: dict[str, Any], name: str) -> None:
    if name == "c" and "using" not in body:
        body["using"] = "a"  # "c" has no default vector: most bodies should name one
    collection = toc.get(name)
    assert outcome(collection, body) == general(collection, body)


def test_plain_bodies_take_the_short_path(toc: TableOfContents) -> None:
    """Not vacuous: the bodies clients send most often are answered by the short path, and
    with exactly the general path's records."""
    q = [0.5, -1, 0.25, 2, 0, 1]
    plain = [
        {"query": q, "using": "a"},
        {"query": q, "using": "a", "limit": 3, "offset": 2, "with_payload": True, "with_vector": ["a"]},
        {"query": q, "using": "a", "params": {"exact": True}, "score_threshold": 0.1},
        {"query": q, "using": "a", "params": {"hnsw_ef": 16, "exact": False}, "with_payload": {"exclude": ["tag"]}},
        {"query": q, "using": "a", "filter": None, "prefetch": None},
        {"query": {"nearest": q}, "using": "a", "limit": 4},
        {"query": {"nearest": q, "mmr": None}, "using": "a"},
    ]
    for body in plain:
        short = answer(toc.get("c"), body)
        assert short is not None and short["points"], body
        assert ("ok", short) == general(toc.get("c"), body)
    short = answer(toc.get("single"), {"query": q, "limit": 10, "params": {"exact": False}, "with_payload": False})
    assert short is not None and len(short["points"]) == 10


@pytest.mark.parametrize("body", [
    {"query": [0.5] * DIM, "using": "a", "filter": {"must": []}},
    {"query": [0.5] * DIM, "using": "s"},
    {"query": [0.5] * DIM},  # "c" has no default vector: the general path says so
    {"query": [True] * DIM, "using": "a"},
    {"query": [0.5] * DIM, "using": "a", "limit": 0},
    {"query": [0.5] * DIM, "using": "a", "params": {"indexed_only": True}},
    {"query": 7, "using": "a"},
    {"query": {"nearest": [0.5] * DIM, "mmr": {"diversity": 0.5}}, "using": "a"},
    {"query": {"nearest": 7}, "using": "a"},
    {"query": [0.5] * DIM, "using": "a", "with_payload": 3},
    {"query": [0.5] * DIM, "using": "a", "score_threshold": 10**400},  # past float: the general path's 400
])
def test_other_bodies_take_the_general_path(toc: TableOfContents, body: dict[str, Any]) -> None:
    assert answer(toc.get("c"), body) is None


def test_a_threshold_past_float_range_is_a_client_error(toc: TableOfContents) -> None:
    result = outcome(toc.get("c"), {"query": [0.5] * DIM, "using": "a", "score_threshold": 10**400})
    assert result[0] == "error" and "score_threshold" in result[2]
