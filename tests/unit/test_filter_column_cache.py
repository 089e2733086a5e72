"""The segment's filter column cache: reused while payloads stand still, never stale after a change."""

from __future__ import annotations

import os
import random
import sys
import threading
from typing import Any, Callable

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))

import filter_reference as ref

from pydrant.collection.apply import Applier
from pydrant.collection.config import CollectionConfig
from pydrant.collection.holder import SegmentHolder
from pydrant.collection.operations import (
    ClearPayload,
    DeletePayload,
    DeletePoints,
    DenseColumn,
    Operation,
    OverwritePayload,
    SetPayload,
    Upsert,
    VectorColumns,
)
from pydrant.collection.optimizer import Optimizer
from pydrant.segment.filtering import evaluate as evaluate_module
from pydrant.segment.filtering.compile import compile_filter
from pydrant.segment.filtering.context import ColumnCache, ElementContext
from pydrant.segment.filtering.evaluate import evaluate
from pydrant.segment.segment import Segment

# One of each kind of condition a column, raw column, nested context or slice answers.
FILTERS: list[dict[str, Any]] = [
    {"must": [{"key": "bucket", "match": {"any": [0, 1, 2]}}]},
    {"must": [{"key": "price", "range": {"lt": 30}}]},
    {"must": [{"key": "city", "match": {"value": "Paris"}}]},
    {"must": [{"key": "city", "match": {"any": ["Oslo", "Rome"]}}]},
    {"must": [{"key": "city", "match": {"except": ["Oslo"]}}]},
    {"must": [{"key": "title", "match": {"text": "red apple"}}]},
    {"must": [{"key": "title", "match": {"prefix": "red"}}]},
    {"must": [{"key": "flag", "match": {"value": True}}]},
    {"must": [{"key": "tags", "values_count": {"gte": 2}}]},
    {"must": [{"is_empty": {"key": "tags"}}]},
    {"must": [{"is_null": {"key": "city"}}]},
    {"must": [{"key": "items[].n", "range": {"gte": 2}}]},
    {"must": [{"nested": {"key": "items", "filter": {"must": [{"key": "n", "match": {"value": 1}}, {"key": "c", "match": {"value": "x"}}]}}}]},
    {"must": [{"key": "at", "range": {"gte": "2024-01-10T00:00:00Z"}}]},
    {"must": [{"key": "geo", "geo_radius": {"center": {"lat": 0.0, "lon": 0.0}, "radius": 300000.0}}]},
    {"must": [{"slice": {"total": 3, "index": 1}}]},
    # several unindexed conditions: later ones run on the survivors (a subset view)
    {"must": [{"key": "city", "match": {"value": "Oslo"}}, {"key": "price", "range": {"gte": 50}}, {"is_empty": {"key": "tags"}}]},
    {"should": [{"key": "bucket", "match": {"value": 3}}, {"key": "flag", "match": {"value": False}}], "must_not": [{"key": "price", "range": {"gt": 90}}]},
]
CITIES = ["Paris", "Oslo", "Rome", "Lima", None]
WORDS = ["red apple", "green apple pie", "Red", "blue", "redwood"]


def make_payload(rng: random.Random) -> dict[str, Any] | None:
    if rng.random() < 0.05:
        return None
    payload: dict[str, Any] = {"bucket": rng.randrange(10), "price": rng.choice([rng.randrange(100), rng.random() * 100])}
    for key, make in [
        ("city", lambda: rng.choice(CITIES)),
        ("title", lambda: rng.choice(WORDS)),
        ("flag", lambda: rng.random() < 0.5),
        ("tags", lambda: rng.choice([[], ["a"], ["a", "b"], None, "a", ["a", "b", "c"]])),
        ("items", lambda: [{"n": rng.randrange(4), "c": rng.choice("xy")} for _ in range(rng.randrange(3))]),
        ("at", lambda: f"2024-01-{rng.randrange(1, 29):02d}T12:00:00Z"),
        ("geo", lambda: {"lat": rng.uniform(-5, 5), "lon": rng.uniform(-5, 5)}),
    ]:
        if rng.random() < 0.8:
            payload[key] = make()
    return payload


def upsert(ids: list[int], payloads: list[dict[str, Any] | None]) -> Upsert:
    vectors = np.ones((len(ids), 2), dtype=np.float32)
    return Upsert(ids, VectorColumns(dense={"": DenseColumn(None, vectors.tobytes(), 2)}), payloads)


class World:
    """An applier over a holder, fed numbered operations as the update worker does."""

    def __init__(self, n: int = 120, seed: int = 5) -> None:
        self.rng = random.Random(seed)
        config = CollectionConfig.from_create_request({"vectors": {"size": 2, "distance": "Dot"}})
        self.holder = SegmentHolder([], 0)
        self.applier = Applier(self.holder, lambda: config)
        self.specs = config.all_vectors()
        self.version = 0
        self.apply(upsert(list(range(n)), [make_payload(self.rng) for _ in range(n)]))

    def apply(self, op: Operation) -> None:
        self.version += 1
        self.applier.apply(op, self.version)

    @property
    def segment(self) -> Segment:
        return self.holder.segments[-1]


def assert_exact(segment: Segment) -> None:
    """Every filter on the (cached) segment equals a fresh uncached evaluation over a copy of
    its payloads, and the reference evaluator on live points."""
    ids = list(segment.external_ids)
    payloads = list(segment.payloads)
    fresh_ctx = ref.ListContext(ids, payloads)
    live = segment.tracker.live
    for raw in FILTERS:
        compiled = compile_filter(raw)
        for _ in range(2):  # the second time from the cache
            got = evaluate(compiled, segment)
            assert got.tolist() == evaluate(compiled, fresh_ctx).tolist(), raw
            want = [ref.check(compiled, ref.Point(ids[o], payloads[o], {""})) for o in np.flatnonzero(live).tolist()]
            assert got[live].tolist() == want, raw


def warm(segment: Segment) -> None:
    for raw in FILTERS:
        evaluate(compile_filter(raw), segment)


class Counting:
    """Counts constructions of a column class the evaluator uses."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
        self.count = 0
        original = getattr(evaluate_module, name)
        counter = self

        class Counted(original):  # type: ignore[misc, valid-type]
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                counter.count += 1
                super().__init__(*args, **kwargs)

        monkeypatch.setattr(evaluate_module, name, Counted)


def test_second_evaluation_does_not_rebuild(monkeypatch: pytest.MonkeyPatch) -> None:
    world = World()
    segment = world.segment
    counters = [Counting(monkeypatch, name) for name in ("Column", "RawColumn", "ElementContext")]
    compiled = compile_filter(FILTERS[0])
    first = evaluate(compiled, segment)
    assert counters[0].count == 1
    assert evaluate(compiled, segment).tolist() == first.tolist()
    assert counters[0].count == 1
    # A condition on the survivors of another extracts just their rows the first time and the
    # whole column (cached) the second time; from then on nothing is extracted again.
    warm(segment)
    warm(segment)
    built = [c.count for c in counters]
    assert all(built)
    warm(segment)
    assert [c.count for c in counters] == built
    assert len(segment.column_cache) > 0
    world.apply(SetPayload([3], {"price": 1}))  # any payload change invalidates
    assert len(segment.column_cache) == 0
    warm(segment)
    assert all(c.count > b for c, b in zip(counters, built))
    assert_exact(segment)


def test_uncached_contexts_rebuild(monkeypatch: pytest.MonkeyPatch) -> None:
    """Contexts without a cache (plain lists, nested elements built per query) work as before."""
    rng = random.Random(1)
    payloads = [make_payload(rng) for _ in range(50)]
    ctx = ref.ListContext(list(range(50)), payloads)
    counter = Counting(monkeypatch, "Column")
    compiled = compile_filter(FILTERS[0])
    first = evaluate(compiled, ctx)
    built = counter.count
    assert evaluate(compiled, ctx).tolist() == first.tolist()
    assert counter.count == 2 * built
    assert ElementContext([{"a": 1}]).column_cache is None


def _upsert_new(world: World) -> list[Segment]:
    world.apply(upsert([1000, 1001], [make_payload(world.rng), {"city": "Paris", "bucket": 1}]))
    return [world.segment]


def _upsert_overwrite(world: World) -> list[Segment]:
    world.apply(upsert([4, 7], [{"city": "Oslo", "price": 70}, None]))
    return [world.segment]


def _upsert_moves(world: World) -> list[Segment]:
    sealed = world.segment
    sealed.appendable = False  # the next upsert of an existing id moves it to a new segment
    world.apply(upsert([5, 2000], [{"city": "Rome", "bucket": 2}, {"bucket": 0}]))
    assert world.segment is not sealed
    return [sealed, world.segment]


def _set_payload(world: World) -> list[Segment]:
    world.apply(SetPayload([1, 2, 9], {"city": "Oslo", "tags": ["x", "y"], "title": None}))
    return [world.segment]


def _set_payload_key(world: World) -> list[Segment]:
    world.apply(SetPayload([1, 2, 9, 10], {"n": 3, "c": "x"}, key="items[]"))
    return [world.segment]


def _overwrite_payload(world: World) -> list[Segment]:
    world.apply(OverwritePayload([0, 11], {"bucket": 2, "price": 5}))
    return [world.segment]


def _delete_payload(world: World) -> list[Segment]:
    world.apply(DeletePayload([0, 1, 2, 3], ["city", "items[].n", "tags"]))
    return [world.segment]


def _clear_payload(world: World) -> list[Segment]:
    world.apply(ClearPayload([0, 1, 2, 3, 4, 5]))
    return [world.segment]


def _delete_point(world: World) -> list[Segment]:
    world.apply(DeletePoints([0, 6, 12]))
    return [world.segment]


def _optimizer_copy(world: World) -> list[Segment]:
    source = world.segment
    source.appendable = False
    world.apply(DeletePoints([8]))
    target = Segment(99, world.specs, appendable=False)
    warm(target)  # cached while empty
    Optimizer._copy_live([source], target, None, None)
    assert target.live_count == source.live_count
    return [target]


CHANGES: dict[str, Callable[[World], list[Segment]]] = {
    "upsert_new": _upsert_new,
    "upsert_overwrite": _upsert_overwrite,
    "upsert_moves": _upsert_moves,
    "set_payload": _set_payload,
    "set_payload_key": _set_payload_key,
    "overwrite_payload": _overwrite_payload,
    "delete_payload": _delete_payload,
    "clear_payload": _clear_payload,
    "delete_point": _delete_point,
    "optimizer_copy": _optimizer_copy,
}


@pytest.mark.parametrize("change", CHANGES)
def test_exact_after_payload_change(change: str) -> None:
    world = World()
    before = {id(s): s.payload_version for s in world.holder.segments}
    for segment in world.holder.segments:
        warm(segment)
    changed = CHANGES[change](world)
    for segment in changed:
        assert segment.payload_version != before.get(id(segment), -1), change
        assert_exact(segment)


def test_subset_views_use_the_whole_cached_column() -> None:
    """After an indexed condition narrows, an unindexed key asked for twice is cached whole."""
    world = World(n=400)
    segment = world.segment
    segment.create_index("city", "keyword")
    raw = {"must": [{"key": "city", "match": {"value": "Lima"}}, {"key": "price", "range": {"gte": 50}}]}
    compiled = compile_filter(raw)
    price = ("column", compiled.must[1].path)  # type: ignore[union-attr]
    evaluate(compiled, segment)
    assert segment.column_cache.get(price, segment.payload_version) is None  # a one-off reads its rows only
    evaluate(compiled, segment)
    assert segment.column_cache.get(price, segment.payload_version) is not None
    assert_exact(segment)
    world.apply(SetPayload(list(range(0, 400, 3)), {"city": "Lima", "price": 60}))
    for _ in range(3):
        assert evaluate(compiled, segment).tolist() == evaluate(compiled, ref.ListContext(list(segment.external_ids), list(segment.payloads))).tolist()


def test_concurrent_readers_agree() -> None:
    world = World(n=2000)
    segment = world.segment
    compiled = [compile_filter(raw) for raw in FILTERS]
    fresh = ref.ListContext(list(segment.external_ids), list(segment.payloads))
    want = [evaluate(f, fresh).tolist() for f in compiled]
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            start.wait()
            for _ in range(3):
                for f, w in zip(compiled, want):
                    assert evaluate(f, segment).tolist() == w
        except BaseException as e:  # reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_column_cache_serves_only_its_version() -> None:
    cache = ColumnCache(capacity=2)
    cache.put("a", 1, "old")
    assert cache.get("a", 1) == "old"
    assert cache.get("a", 2) is None  # built from older payloads: never served
    cache.put("a", 3, "new")
    cache.put("a", 2, "late")  # a slow reader of older payloads does not replace a newer value
    assert cache.get("a", 3) == "new"
    cache.put("b", 3, "b")
    cache.get("a", 3)
    cache.put("c", 3, "c")  # evicts the least recently used: b
    assert len(cache) == 2 and cache.get("b", 3) is None and cache.get("a", 3) == "new"
    assert not cache.wanted_before("k", 3)
    assert cache.wanted_before("k", 3)
    assert not cache.wanted_before("k", 4)
    cache.clear()
    assert len(cache) == 0 and cache.get("a", 3) is None


def test_single_valued_keys_everywhere() -> None:
    """Keys every point holds once: the row mask comes straight from the value comparison."""
    rng = random.Random(3)
    segment = Segment(0, {})
    payloads: list[dict[str, Any] | None] = [
        {"bucket": rng.randrange(10), "price": rng.random() * 100, "city": rng.choice(CITIES[:4]), "title": rng.choice(WORDS),
         "flag": rng.random() < 0.5, "geo": {"lat": rng.uniform(-5, 5), "lon": rng.uniform(-5, 5)}}
        for _ in range(300)
    ]
    segment.insert(list(range(300)), 1, payloads)
    assert_exact(segment)
    segment.set_payloads(np.array([7]), [{"bucket": [1, 2], "city": 3}], 2)  # no longer one value each
    assert_exact(segment)


def test_string_lookups_are_built_on_second_use() -> None:
    """A column scanned once (e.g. between two writes) is not worth its distinct-string table or
    word postings; a cached column builds them when a second query asks, and answers the same."""
    world = World(n=300)
    segment = world.segment
    for raw, lookup in [({"must": [{"key": "city", "match": {"any": ["Oslo", "Lima"]}}]}, "string_codes"),
                        ({"must": [{"key": "title", "match": {"text": "apple"}}]}, "string_tokens")]:
        compiled = compile_filter(raw)
        first = evaluate(compiled, segment)
        column = segment.column_cache.get(("column", compiled.must[0].path), segment.payload_version)  # type: ignore[union-attr]
        assert column is not None and column.shared and lookup not in column.__dict__
        assert evaluate(compiled, segment).tolist() == first.tolist()
        assert lookup in column.__dict__
        assert evaluate(compiled, segment).tolist() == first.tolist()
