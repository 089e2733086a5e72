"""ScoredPoint records of a query: hit order, ids, payload and vector selection, score and
version, for hits spread over several segments (checked against records built by hand)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import msgspec
import numpy as np
import pytest

from pydrant.collection.config import CollectionConfig
from pydrant.collection.payload_selector import exclude, include, selector_tree
from pydrant.collection.query import scored_points
from pydrant.collection.read import Projection, retrieve
from pydrant.collection.search import Hit
from pydrant.segment.segment import Segment

DIM = 3


def _config(named: bool) -> CollectionConfig:
    if named:
        return CollectionConfig.from_create_request(
            {"vectors": {"a": {"size": DIM, "distance": "Dot"}, "b": {"size": 2, "distance": "Euclid"}}}
        )
    return CollectionConfig.from_create_request({"vectors": {"size": DIM, "distance": "Dot"}})


def _segments(config: CollectionConfig) -> list[Segment]:
    rng = np.random.default_rng(5)
    segments = []
    for s in range(3):
        segment = Segment(s, config.all_vectors())
        ids = [s * 100 + i for i in range(6)]
        payloads: list[dict[str, Any] | None] = [{"k": i, "nested": {"x": i, "y": [i, s]}, "s": str(s)} for i in ids]
        payloads[2] = None
        offsets = segment.insert(ids, 10 + s, payloads)
        for name, spec in config.all_vectors().items():
            present = offsets[offsets % 3 != 1] if name == "b" else offsets  # "b" is missing on some points
            segment.set_vectors(name, present, rng.normal(size=(present.shape[0], spec.size)).astype(np.float32))
        segment.stamp(offsets[[1, 4]], 50 + s)
        segments.append(segment)
    return segments


def _expected(projection: Projection, config: CollectionConfig, hits: list[Hit], with_payload: Any, names: list[str]) -> list[dict[str, Any]]:
    out = []
    for hit in hits:
        segment, offset = hit.segment, hit.offset
        payload = segment.payloads[offset] or {}
        if with_payload is False:
            selected = None
        elif with_payload is True:
            selected = payload
        elif isinstance(with_payload, list):
            selected = include(payload, selector_tree(tuple(with_payload)))
        else:
            selected = exclude(payload, selector_tree(tuple(with_payload["exclude"])))
        vectors = {}
        for name in names:
            value = segment.vectors[name].get_json(np.asarray([offset]))[0]
            if value is not None:
                vectors[name] = value
        vector: Any = None
        if names:
            vector = vectors[""] if config.vectors_single and set(vectors) == {""} else vectors
        point: dict[str, Any] = {"id": segment.tracker.external[offset]}
        # As in Qdrant, payload and vector are left out when not asked for (not null).
        if with_payload is not False:
            point["payload"] = selected
        if names:
            point["vector"] = vector
        point["score"] = float(str(np.float32(hit.score)))
        point["version"] = int(segment.tracker.versions[offset])
        out.append(point)
    return out


@pytest.mark.parametrize("named", [False, True])
@pytest.mark.parametrize("with_payload", [False, True, ["nested.x", "s"], {"exclude": ["nested"]}])
@pytest.mark.parametrize("with_vector", [False, True, "first"])
def test_scored_points_across_segments(named: bool, with_payload: Any, with_vector: Any) -> None:
    config = _config(named)
    segments = _segments(config)
    names = list(config.all_vectors())
    if with_vector == "first":
        with_vector = names[:1]
    projection = Projection(SimpleNamespace(config=config), with_payload, with_vector)  # type: ignore[arg-type]
    picks = [(2, 3), (0, 1), (1, 2), (0, 5), (2, 0), (1, 4), (0, 0), (2, 1)]
    hits = [Hit(0.1 * (8 - i) + 1 / 3, segments[s], o, segments[s].tracker.external[o]) for i, (s, o) in enumerate(picks)]
    got = scored_points(projection, hits)
    expect = _expected(projection, config, hits, with_payload, with_vector if isinstance(with_vector, list) else names if with_vector else [])
    # Compare the encoded JSON: key order and float formatting are part of the answer.
    assert msgspec.json.encode(got) == msgspec.json.encode(expect)
    assert scored_points(projection, []) == []


def test_retrieve_keeps_request_order_and_drops_duplicates_and_missing() -> None:
    config = _config(False)
    segments = _segments(config)
    by_id = {i: (s, o) for s in segments for o, i in enumerate(s.tracker.external)}

    class Holder:
        def locate(self, ids: list[Any]) -> list[Any]:
            return [by_id.get(i) for i in ids]

    class Reading:
        def __enter__(self) -> None:
            return None

        def __exit__(self, *args: Any) -> None:
            return None

    collection = SimpleNamespace(config=config, holder=Holder(), reading=Reading)
    ids = [203, 7, 1, 103, 999, 1, 200]  # 7 and 999 do not exist
    got = retrieve(collection, ids, True, True)  # type: ignore[arg-type]
    assert [r["id"] for r in got] == [203, 1, 103, 200]
    projection = Projection(SimpleNamespace(config=config), True, True)  # type: ignore[arg-type]
    assert got == [projection.records(by_id[i][0], [by_id[i][1]])[0] for i in (203, 1, 103, 200)]
