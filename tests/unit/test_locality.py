"""The optimizer copies points into a new segment grouped by vector cluster (locality.py):
the clustering groups near rows, and the reordered copy keeps every point exactly as it was,
including points without the vector the order comes from."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import msgspec
import numpy as np
import pytest
from helpers.inprocess import wait_green

from pydrant.api.rest import routes_points
from pydrant.api.rest.context import RequestContext
from pydrant.collection.collection import Collection
from pydrant.segment.vector_index import locality
from pydrant.service.toc import TableOfContents

DIM = 16
NEVER = 3600.0


def clustered(rng: np.random.Generator, clusters: int, per: int, dim: int = DIM) -> tuple[np.ndarray, np.ndarray]:
    """Rows around well-separated centres, shuffled, and each row's centre."""
    centres = rng.normal(size=(clusters, dim)) * 10
    truth = rng.permutation(np.repeat(np.arange(clusters), per))
    return (centres[truth] + rng.normal(size=(truth.shape[0], dim))).astype(np.float32), truth


def step(rows: np.ndarray) -> float:
    """Mean distance between consecutive rows."""
    return float(np.linalg.norm(rows[1:] - rows[:-1], axis=1).mean())


def test_keys_group_the_rows_of_one_cluster_across_sources() -> None:
    rng = np.random.default_rng(3)
    rows, truth = clustered(rng, clusters=12, per=400)
    # Two sources whose matrices hold unread rows too: only rows at `offsets` count.
    first = np.zeros((6000, DIM), dtype=np.float32)
    first_offsets = np.arange(0, 6000, 2)[:2400]
    first[first_offsets] = rows[:2400]
    second_offsets = np.arange(rows.shape[0] - 2400)
    second = rows[2400:].astype(np.float16)  # any stored dtype is read as float32
    sources = [locality.RowSource(first, first_offsets), locality.RowSource(second, second_offsets)]

    keys = locality.cluster_keys(sources)

    assert keys is not None
    assert [k.shape[0] for k in keys] == [2400, rows.shape[0] - 2400]
    key = np.concatenate(keys)
    # Sorted by key, consecutive rows are far nearer each other than in the given order.
    ordered = rows[np.argsort(key, kind="stable")]
    assert step(ordered) < step(rows) / 4
    again = locality.cluster_keys(sources)
    assert again is not None and all(np.array_equal(a, b) for a, b in zip(keys, again))


def test_too_few_rows_are_left_in_their_order() -> None:
    rows = np.ones((locality.MIN_POINTS - 1, DIM), dtype=np.float32)
    assert locality.cluster_keys([locality.RowSource(rows, np.arange(rows.shape[0]))]) is None



def test_rows_too_large_to_cluster_are_left_in_their_order() -> None:
    """Squared norms past float32's range: faiss's k-means cannot take them (see kmeans_safe)."""
    rng = np.random.default_rng(4)
    rows, _ = clustered(rng, clusters=4, per=300)
    rows *= np.float32(1e20)
    assert locality.cluster_keys([locality.RowSource(rows, np.arange(rows.shape[0]))]) is None

# -- the optimizer's reordered copy ------------------------------------------------------------


def upsert(toc: TableOfContents, points: list[dict[str, Any]]) -> None:
    routes_points.upsert_points(RequestContext(toc, {"collection_name": "c"}, b"wait=true",
                                               msgspec.json.encode({"points": points})))


def delete(toc: TableOfContents, ids: list[int]) -> None:
    routes_points.delete_points(RequestContext(toc, {"collection_name": "c"}, b"wait=true",
                                               msgspec.json.encode({"points": ids})))


def snapshot(collection: Collection) -> dict[Any, tuple[Any, ...]]:
    """Every live point: (segment-independent) vectors of every name and payload."""
    out: dict[Any, tuple[Any, ...]] = {}
    with collection.reading():
        for segment in collection.holder.segments:
            live = segment.tracker.live_offsets()
            ids = segment.ids_at(live.tolist())
            columns = [segment.vectors[name].get_json(live) for name in ("a", "m", "s")]
            for row, (point_id, offset) in enumerate(zip(ids, live.tolist())):
                assert point_id not in out, "an id in two segments"
                out[point_id] = (*(repr(c[row]) for c in columns), segment.payloads[offset])
    return out


@pytest.fixture
def toc(tmp_path: Path) -> Iterator[TableOfContents]:
    t = TableOfContents(tmp_path / "storage", NEVER)
    t.create_collection("c", {
        "vectors": {"a": {"size": DIM, "distance": "Cosine"}, "m": {"size": 3, "distance": "Manhattan"}},
        "sparse_vectors": {"s": {}},
        "optimizers_config": {"indexing_threshold": 1},
    })
    yield t
    t.close()


def test_optimized_segment_groups_neighbours_and_keeps_every_point(toc: TableOfContents) -> None:
    rng = np.random.default_rng(5)
    rows, truth = clustered(rng, clusters=8, per=400)
    points = []
    for i, (row, group) in enumerate(zip(rows.tolist(), truth.tolist())):
        vector: dict[str, Any] = {"m": [float(i), 1.0, -2.5]}
        if i % 10 != 3:  # every tenth point has no vector "a": nothing to order it by
            vector["a"] = row
        if i % 4 == 0:
            vector["s"] = {"indices": [i % 97, 1000 + group], "values": [0.5, 1.5]}
        points.append({"id": i, "vector": vector, "payload": {"group": group, "i": i}})
    for start in range(0, len(points), 250):
        upsert(toc, points[start : start + 250])
    delete(toc, list(range(0, len(points), 7)))
    collection = toc.get("c")
    before = snapshot(collection)

    wait_green(collection)

    assert snapshot(collection) == before
    with collection.reading():
        segment = max(collection.holder.segments, key=lambda s: s.live_count)
        assert not segment.appendable and segment.live_count > 2000  # several sources merged
        live = segment.tracker.live_offsets()
        ids = segment.ids_at(live.tolist())
        with_a = segment.vectors["a"].has_mask(segment.size)[live]
    groups = np.array([truth[i] for i in ids])
    # Points lacking the ordering vector come after every point that has it.
    assert not with_a[int(np.argmin(with_a)):].any()
    # Neighbouring offsets share a cluster far more often than the insertion order did.
    ordered = groups[with_a]
    assert float(np.mean(ordered[1:] == ordered[:-1])) > 0.7
    inserted = truth[sorted(i for i, has in zip(ids, with_a.tolist()) if has)]
    assert float(np.mean(inserted[1:] == inserted[:-1])) < 0.3
