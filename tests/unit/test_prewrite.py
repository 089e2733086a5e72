"""The optimizer writes its new segment before swapping it in: the flush after the swap then
writes only what the swap's catch-up changed, a flush meanwhile leaves the unswapped files
alone, and a reopened collection holds exactly the acknowledged state."""

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
from pydrant.segment.segment import Segment
from pydrant.service.toc import TableOfContents

DIM = 8
NEVER = 3600.0  # no timed flushes: the tests flush when they mean to


def upsert(toc: TableOfContents, points: list[dict[str, Any]]) -> None:
    routes_points.upsert_points(RequestContext(toc, {"collection_name": "c"}, b"wait=true",
                                               msgspec.json.encode({"points": points})))


def points(start: int, stop: int, seed: int = 0) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed + start)
    return [{"id": i, "vector": rng.normal(size=DIM).tolist(), "payload": {"n": i}} for i in range(start, stop)]


def state(collection: Collection) -> dict[Any, tuple[Any, Any]]:
    out = {}
    with collection.reading():
        for segment in collection.holder.segments:
            live = segment.tracker.live_offsets()
            ids = segment.ids_at(live.tolist())
            vectors = segment.vectors[""].get_json(live)
            for i, o, v in zip(ids, live.tolist(), vectors):
                out[i] = (tuple(v), segment.payloads[o])
    return out


def assert_reopened_state(tmp_path: Path, expected: dict[Any, tuple[Any, Any]]) -> None:
    """A fresh open of the storage holds exactly `expected`."""
    reopened = TableOfContents(tmp_path / "storage", NEVER)
    try:
        assert state(reopened.get("c")) == expected
    finally:
        reopened.close()


@pytest.fixture
def toc(tmp_path: Path) -> Iterator[TableOfContents]:
    t = TableOfContents(tmp_path / "storage", NEVER)
    t.create_collection("c", {"vectors": {"size": DIM, "distance": "Cosine"},
                              "optimizers_config": {"indexing_threshold": 1}})
    yield t
    t.close()


def test_flush_after_the_swap_reuses_the_prewritten_files(toc: TableOfContents, tmp_path: Path) -> None:
    collection = toc.get("c")
    for start in range(0, 2500, 500):
        upsert(toc, points(start, start + 500))
    wait_green(collection)
    collection.flush()
    sealed = [e for e in collection.manifest.segments if not e.appendable]
    assert sealed, "the load must have produced an optimized segment"
    generation = collection.manifest.generation
    for entry in sealed:
        # Written by the optimizer with an older generation, not rewritten by the flush.
        assert not entry.files["vec:"]["prefix"].endswith(f".{generation}")
        for name in [entry.files["ids"], entry.files["payloads"], *entry.files["vec:"]["files"]]:
            assert (collection.directory / "segments" / str(entry.id) / name).exists()
    expected = state(collection)
    toc.close()
    assert_reopened_state(tmp_path, expected)


def test_changes_made_by_the_swap_catch_up_reach_disk(toc: TableOfContents, tmp_path: Path) -> None:
    """A point deleted in the prewritten segment before the first flush (what a catch-up does)
    is gone after a reopen: the deletion marks the segment dirty again."""
    collection = toc.get("c")
    for start in range(0, 2000, 500):
        upsert(toc, points(start, start + 500))
    wait_green(collection)
    routes_points.delete_points(RequestContext(toc, {"collection_name": "c"}, b"wait=true",
                                               msgspec.json.encode({"points": [5, 6, 7]})))
    upsert(toc, [{"id": 8, "vector": [1.0] * DIM, "payload": {"moved": True}}])
    expected = state(collection)
    assert 5 not in expected and expected[8][1] == {"moved": True}
    toc.close()
    assert_reopened_state(tmp_path, expected)


def test_a_flush_leaves_an_unswapped_segment_alone_until_it_is_discarded(toc: TableOfContents) -> None:
    collection = toc.get("c")
    upsert(toc, points(0, 10))
    pending = Segment(collection.holder.reserve_segment_id(), collection.config.all_vectors(), appendable=False)
    collection.prewrite_segment(pending)
    directory = collection.directory / "segments" / str(pending.segment_id)
    written = sorted(p.name for p in directory.iterdir())
    assert written
    upsert(toc, points(10, 20))
    collection.flush()  # garbage collection runs here
    assert sorted(p.name for p in directory.iterdir()) == written
    assert all(e.id != pending.segment_id for e in collection.manifest.segments)
    collection.discard_prewritten(pending.segment_id)
    upsert(toc, points(20, 30))
    collection.flush()
    assert not directory.exists()


def test_a_swap_with_nothing_else_to_flush_still_reaches_the_manifest(toc: TableOfContents, tmp_path: Path) -> None:
    """Everything was flushed before the optimizer ran, so after the swap no segment is dirty
    (the target was prewritten): the manifest must still name the new segment set, or a
    restart forgets the built index and optimizes everything again."""
    collection = toc.get("c")
    for start in range(0, 1500, 500):
        upsert(toc, points(start, start + 500))
    collection.flush()  # before the optimizer's idle wait is over: the swap comes after it
    wait_green(collection)
    built = sorted((s.segment_id, s.appendable) for s in collection.holder.segments)
    assert any(not appendable for _, appendable in built)
    expected = state(collection)
    toc.close()
    reopened = TableOfContents(tmp_path / "storage", NEVER)
    try:
        again = reopened.get("c")
        assert sorted((s.segment_id, s.appendable) for s in again.holder.segments) == built
        assert again.status() == "green"
        assert state(again) == expected
    finally:
        reopened.close()
