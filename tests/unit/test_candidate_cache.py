"""A segment's cache of filtered search candidates: reused while the segment stands still,
never stale after any change a filter can see, and never shared between filters that only
Python's equality confuses (`true` and 1)."""

from __future__ import annotations

import random
from typing import Any, Callable

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pydrant.collection.apply import Applier
from pydrant.collection.config import CollectionConfig
from pydrant.collection.holder import SegmentHolder
from pydrant.collection.operations import (
    CreateFieldIndex,
    DeleteFieldIndex,
    DeletePoints,
    DeleteVectors,
    DenseColumn,
    Operation,
    SetPayload,
    UpdateVectors,
    Upsert,
    VectorColumns,
)
from pydrant.collection.search import candidate_mask, stored_live
from pydrant.segment.filtering.compile import compile_filter
from pydrant.segment.filtering.evaluate import evaluate
from pydrant.segment.segment import Segment

FILTERS: list[dict[str, Any]] = [
    {"must": [{"key": "flag", "match": {"value": True}}]},
    {"must": [{"key": "flag", "match": {"value": 1}}]},  # equal to the one above in Python, not in Qdrant
    {"must": [{"key": "n", "range": {"gte": 1}}]},
    {"must": [{"key": "n", "range": {"gte": 1.0}}]},
    {"must": [{"key": "bucket", "match": {"any": [0, 1, 2]}}]},
    {"must": [{"key": "title", "match": {"text": "red apple"}}]},  # means something else once a text index exists
    {"must": [{"has_vector": "other"}]},
    {"must_not": [{"has_id": [1, 2, 3, 50]}]},
    {"must": [{"slice": {"total": 3, "index": 1}}]},
    {"must": [{"is_empty": {"key": "tags"}}]},
]
TITLES = ["red apple", "apple red pie", "green", "red", "redwood apple", "Red Apple"]


def payload(rng: random.Random) -> dict[str, Any]:
    return {"flag": rng.choice([True, False, 1, 0]), "n": rng.choice([0, 1, 2, 0.5]), "bucket": rng.randrange(10),
            "title": rng.choice(TITLES), "tags": rng.choice([[], ["a"], None])}


class World:
    """One appendable segment fed numbered operations, as the update worker feeds it."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        config = CollectionConfig.from_create_request(
            {"vectors": {"": {"size": 2, "distance": "Dot"}, "other": {"size": 2, "distance": "Dot"}}})
        self.holder = SegmentHolder([], 0)
        self.applier = Applier(self.holder, lambda: config)
        self.version = 0
        self.next_id = 0
        self.upsert(60)

    def apply(self, op: Operation) -> None:
        self.version += 1
        self.applier.apply(op, self.version)

    @property
    def segment(self) -> Segment:
        segment = self.holder.segments[-1]
        # Room for every filter: least recently used entries must not be dropped between two
        # checks, or a stale entry would never be asked for.
        segment.candidate_cache.capacity = 4 * len(FILTERS)
        return segment

    def upsert(self, count: int) -> None:
        ids = list(range(self.next_id, self.next_id + count))
        self.next_id += count
        with_other = [row for row in range(count) if self.rng.random() < 0.6]
        vectors = VectorColumns(dense={
            "": DenseColumn(None, np.ones((count, 2), dtype=np.float32).tobytes(), 2),
            "other": DenseColumn(with_other, np.ones((len(with_other), 2), dtype=np.float32).tobytes(), 2),
        })
        self.apply(Upsert(ids, vectors, [payload(self.rng) for _ in ids]))

    def some_ids(self, k: int = 4) -> list[int]:
        return self.rng.sample(sorted(self.segment.tracker.offsets), k)  # live ones


CHANGES: dict[str, Callable[[World], None]] = {
    "insert": lambda w: w.upsert(5),
    "delete": lambda w: w.apply(DeletePoints(w.some_ids())),
    "set_payload": lambda w: w.apply(SetPayload(w.some_ids(), {"flag": True, "title": "red apple", "tags": ["x"]})),
    "drop_other_vector": lambda w: w.apply(DeleteVectors(w.some_ids(), ["other"])),
    "give_other_vector": lambda w: w.apply(UpdateVectors(
        (ids := w.some_ids()), VectorColumns(dense={"other": DenseColumn(None, np.zeros((len(ids), 2), np.float32).tobytes(), 2)}))),
    "text_index": lambda w: w.apply(CreateFieldIndex("title", {"type": "text", "tokenizer": "word", "lowercase": False})),
    "no_text_index": lambda w: w.apply(DeleteFieldIndex("title")),
}


def fresh(segment: Segment, compiled: Any) -> np.ndarray:
    storage = segment.vectors[""]
    base = stored_live(segment, storage).mask
    return base & evaluate(compiled, segment)[: base.shape[0]]


def assert_exact(segment: Segment) -> None:
    storage = segment.vectors[""]
    for raw in FILTERS:
        compiled = compile_filter(raw)
        for _ in range(2):  # the second one from the cache
            got = candidate_mask(segment, storage, compiled, None)
            want = fresh(segment, compiled)
            assert got.mask.tolist() == want.tolist(), raw
            assert got.count == int(want.sum()), raw


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), changes=st.lists(st.sampled_from(sorted(CHANGES)), max_size=8))
def test_cached_candidates_follow_every_change(seed: int, changes: list[str]) -> None:
    world = World(seed)
    assert_exact(world.segment)
    for change in changes:
        CHANGES[change](world)
        assert_exact(world.segment)


def test_the_same_filter_on_an_unchanged_segment_is_served_from_the_cache() -> None:
    world = World(1)
    storage = world.segment.vectors[""]
    compiled = compile_filter(FILTERS[4])
    first = candidate_mask(world.segment, storage, compile_filter(FILTERS[4]), None)
    assert candidate_mask(world.segment, storage, compiled, None) is first  # an equal filter, compiled again
    world.apply(SetPayload([0], {"bucket": 1}))
    assert candidate_mask(world.segment, storage, compiled, None) is not first


def test_filters_python_thinks_equal_get_their_own_entries() -> None:
    """`match: true` == `match: 1` as Python values; Qdrant tells them apart (a bool matches
    only a bool)."""
    world = World(2)
    storage = world.segment.vectors[""]
    first, second = compile_filter(FILTERS[0]), compile_filter(FILTERS[1])
    assert first == second  # the reason the cache keys by repr
    one = candidate_mask(world.segment, storage, first, None)
    other = candidate_mask(world.segment, storage, second, None)
    assert one is not other
    assert one.mask.tolist() == fresh(world.segment, first).tolist()
    assert other.mask.tolist() == fresh(world.segment, second).tolist()
