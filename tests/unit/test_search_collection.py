"""Collection-level search on hand-built segments: the per-segment planner (exact vs HNSW with
the filter inside the traversal), the top-k merge across segments, example scorers and fusion."""

from __future__ import annotations

import numpy as np
import pytest
from qdrant_client.http import models as qm
from qdrant_client.hybrid.fusion import (
    distribution_based_score_fusion,
    reciprocal_rank_fusion,
)

from pydrant.collection.config import CollectionConfig
from pydrant.collection.query import fuse
from pydrant.collection.search import (
    ExampleScorer,
    Hit,
    NearestScorer,
    full_scan_vectors,
    search_segments,
)
from pydrant.models.query import Fusion
from pydrant.segment.filtering.compile import compile_filter
from pydrant.segment.segment import Segment
from pydrant.segment.vector_index.distance import strictly_best_first
from pydrant.segment.vectors.base import CandidateMask

DIM = 16


def make_config(distance: str = "Cosine", full_scan_kb: int = 10) -> CollectionConfig:
    return CollectionConfig.from_create_request(
        {"vectors": {"size": DIM, "distance": distance}, "hnsw_config": {"full_scan_threshold": full_scan_kb}}
    )


def make_segments(config: CollectionConfig, vectors: np.ndarray, parts: int, index: bool) -> list[Segment]:
    specs = config.all_vectors()
    segments = []
    for s, chunk in enumerate(np.array_split(np.arange(vectors.shape[0]), parts)):
        segment = Segment(s, specs)
        offsets = segment.insert(chunk.tolist(), s + 1, [{"k": int(i % 100)} for i in chunk])
        segment.set_vectors("", offsets, vectors[chunk])
        if index:
            assert segment.vectors[""].build_index({"m": 8, "ef_construct": 32})
        segments.append(segment)
    return segments


def exact_reference(vectors: np.ndarray, q: np.ndarray, allowed: np.ndarray, k: int) -> list[int]:
    v = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    scores = v @ (q / np.linalg.norm(q))
    ids = np.flatnonzero(allowed)
    return ids[np.argsort(-scores[ids], kind="stable")][:k].tolist()


@pytest.fixture(scope="module")
def data() -> np.ndarray:
    return np.random.default_rng(3).normal(size=(2000, DIM)).astype(np.float32)


def test_full_scan_threshold_in_vectors() -> None:
    config = make_config(full_scan_kb=10)
    assert full_scan_vectors(config, config.vector("")) == 10 * 1024 // (DIM * 4)


def test_merge_over_segments_equals_single_segment(data: np.ndarray) -> None:
    config = make_config()
    spec = config.vector("")
    q = data[7] + 0.1
    one = make_segments(config, data, 1, index=False)
    four = make_segments(config, data, 4, index=False)
    a = search_segments(one, "", NearestScorer(spec, q, {}, 10**9), None, 25)
    b = search_segments(four, "", NearestScorer(spec, q, {}, 10**9), None, 25)
    assert [h.point_id for h in a] == [h.point_id for h in b]
    np.testing.assert_allclose([h.score for h in a], [h.score for h in b], rtol=1e-6)
    assert [h.point_id for h in a] == exact_reference(data, q, np.ones(len(data), bool), 25)
    assert {h.version for h in b} <= {1, 2, 3, 4}


@pytest.fixture(scope="module")
def indexed(data: np.ndarray) -> tuple[CollectionConfig, list[Segment]]:
    config = make_config(full_scan_kb=10)  # 160 vectors
    return config, make_segments(config, data, 2, index=True)


def test_planner_small_filter_scores_exactly(data: np.ndarray, indexed: tuple[CollectionConfig, list[Segment]]) -> None:
    config, segments = indexed
    spec = config.vector("")
    flt = compile_filter({"must": [{"key": "k", "match": {"value": 3}}]})  # 20 points
    scorer = NearestScorer(spec, data[0], {}, full_scan_vectors(config, spec))
    hits = search_segments(segments, "", scorer, flt, 30)
    assert scorer.last_plan == "exact"
    assert len(hits) == 20
    assert [h.point_id for h in hits] == exact_reference(data, data[0], np.arange(len(data)) % 100 == 3, 30)


def test_planner_large_filter_uses_graph_and_never_returns_short(data: np.ndarray, indexed: tuple[CollectionConfig, list[Segment]]) -> None:
    config, segments = indexed
    spec = config.vector("")
    values = list(range(0, 100, 2))  # half the points: above the threshold in each segment
    flt = compile_filter({"must": [{"key": "k", "match": {"any": values}}]})
    scorer = NearestScorer(spec, data[1], {"hnsw_ef": 64}, full_scan_vectors(config, spec))
    hits = search_segments(segments, "", scorer, flt, 100)
    assert scorer.last_plan == "hnsw"
    assert len(hits) == 100
    assert all(h.point_id % 100 in values for h in hits)
    reference = exact_reference(data, data[1], np.isin(np.arange(len(data)) % 100, values), 100)
    recall = len({h.point_id for h in hits} & set(reference)) / 100
    assert recall >= 0.9
    exact = NearestScorer(spec, data[1], {"exact": True}, full_scan_vectors(config, spec))
    assert [h.point_id for h in search_segments(segments, "", exact, flt, 100)] == reference
    assert exact.last_plan == "exact"


def test_restrict_and_threshold(data: np.ndarray) -> None:
    config = make_config(distance="Euclid")
    spec = config.vector("")
    segments = make_segments(config, data, 3, index=False)
    restrict = {s.segment_id: np.arange(0, s.size, 2) for s in segments}
    scorer = NearestScorer(spec, data[5], {}, 10**9)
    hits = search_segments(segments, "", scorer, None, 50, restrict=restrict)
    allowed_ids = {pid for s in segments for pid in s.ids_at(restrict[s.segment_id].tolist())}
    assert {h.point_id for h in hits} <= allowed_ids
    assert [h.score for h in hits] == sorted(h.score for h in hits)  # distances ascend
    cut = hits[20].score
    below = search_segments(segments, "", scorer, None, 50, score_threshold=cut, restrict=restrict)
    assert len(below) == 20 and all(h.score < cut for h in below)


def test_best_score_and_context_formulas(data: np.ndarray) -> None:
    config = make_config(distance="Dot")
    spec = config.vector("")
    segments = make_segments(config, data[:500], 2, index=False)
    pos, neg = data[600:602], data[602:603]
    hits = search_segments(segments, "", ExampleScorer(spec, "best_score", {"positive": list(pos), "negative": list(neg)}), None, 500)
    p, n = (data[:500] @ pos.T).max(axis=1), (data[:500] @ neg.T).max(axis=1)
    sig = lambda x: 0.5 * (x / (1 + np.abs(x)) + 1)
    expected = np.where(p > n, sig(p), -sig(n))
    got = {h.point_id: h.score for h in hits}
    np.testing.assert_allclose([got[i] for i in range(500)], expected, rtol=1e-5, atol=1e-6)
    context = ExampleScorer(spec, "context", {"pairs": [(data[700], data[701])]})
    ctx_hits = search_segments(segments, "", context, None, 500)
    assert max(h.score for h in ctx_hits) <= 0.0
    assert [h.score for h in ctx_hits] == sorted((h.score for h in ctx_hits), reverse=True)


def _hits(ids: list[int], scores: list[float]) -> list[Hit]:
    seg = Segment(0, {})
    return [Hit(s, seg, 0, i) for i, s in zip(ids, scores)]


def _points(ids: list[int], scores: list[float]) -> list[qm.ScoredPoint]:
    return [qm.ScoredPoint(id=i, version=0, score=s) for i, s in zip(ids, scores)]


@pytest.mark.parametrize("weights", [None, [1.0, 3.0]])
def test_rrf_matches_reference(weights: list[float] | None) -> None:
    a = ([1, 2, 3, 4, 5], [0.9, 0.8, 0.7, 0.6, 0.5])
    b = ([4, 6, 1, 7], [3.0, 2.0, 1.0, 0.5])
    ours = fuse(Fusion("rrf", 5, weights), [_hits(*a), _hits(*b)], 6)
    theirs = reciprocal_rank_fusion([_points(*a), _points(*b)], limit=6, ranking_constant_k=5, weights=weights)
    assert [h.point_id for h in ours] == [p.id for p in theirs]
    np.testing.assert_allclose([h.score for h in ours], [p.score for p in theirs])


def test_dbsf_matches_reference() -> None:
    a = ([1, 2, 3, 4], [0.9, 0.5, 0.4, 0.1])
    b = ([3, 5], [10.0, 2.0])
    c = ([8], [1.0])
    ours = fuse(Fusion("dbsf"), [_hits(*a), _hits(*b), _hits(*c)], 10)
    theirs = distribution_based_score_fusion([_points(*a), _points(*b), _points(*c)], limit=10)
    assert [h.point_id for h in ours] == [p.id for p in theirs]
    np.testing.assert_allclose([h.score for h in ours], [p.score for p in theirs])


class _ShortGraphStorage:
    """A dense storage whose graph finds nothing: the planner must fall back to exact."""

    kind = "dense"
    index = object()

    def __init__(self, n: int) -> None:
        self.n = n
        self.calls: list[dict[str, object]] = []

    def has_mask(self, size: int) -> np.ndarray:
        return np.ones(size, dtype=bool)

    def search(self, query: object, k: int, candidates: CandidateMask, params: dict[str, object]) -> tuple[np.ndarray, np.ndarray]:
        self.calls.append(params)
        if "hnsw_ef" in params:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        offsets = candidates.offsets()
        return offsets[:k], np.ones(min(k, len(offsets)), np.float32)


def test_graph_returning_short_falls_back_to_exact() -> None:
    config = make_config()
    storage = _ShortGraphStorage(500)
    scorer = NearestScorer(config.vector(""), np.ones(DIM), {}, full_scan=100)
    offsets, _ = scorer.top(storage, CandidateMask(np.ones(500, dtype=bool)), 10)
    assert len(offsets) == 10
    assert [("hnsw_ef" in c, bool(c.get("exact"))) for c in storage.calls] == [(True, False), (False, True)]
    assert scorer.last_plan == "exact"


@pytest.mark.parametrize("index", [False, True])
def test_unfiltered_candidates_follow_every_change(data: np.ndarray, index: bool) -> None:
    """The unfiltered candidate mask is cached per segment: deletes, inserts and vector
    clears/sets between two searches must all show in the second search."""
    config = make_config(full_scan_kb=10)  # 160 vectors: the graph (when built) is used
    spec = config.vector("")
    [segment] = make_segments(config, data[:500], 1, index=index)
    storage = segment.vectors[""]
    q = data[0]

    def top_ids() -> list[int]:
        hits = search_segments([segment], "", NearestScorer(spec, q, {"hnsw_ef": 500}, 160), None, 5)
        return [int(h.point_id) for h in hits]  # type: ignore[arg-type]

    alive = np.ones(500, dtype=bool)
    first = top_ids()
    assert first == exact_reference(data[:500], q, alive, 5)
    assert search_segments([segment], "", NearestScorer(spec, q, {}, 160), None, 5)  # cache warm

    segment.delete(np.asarray([first[0]]), 10)
    alive[first[0]] = False
    assert top_ids() == exact_reference(data[:500], q, alive, 5)

    segment.clear_vectors("", np.asarray([first[1]]))
    alive[first[1]] = False
    assert top_ids() == exact_reference(data[:500], q, alive, 5)

    if not index:  # a segment with a graph never takes new vectors (it is sealed)
        offsets = segment.insert([10_000], 11, [None])
        segment.set_vectors("", offsets, data[:1])  # the query's own vector: the best match
        assert top_ids()[0] == 10_000
    assert storage.search_cache is not None


def test_strictly_best_first() -> None:
    f = np.float32
    assert strictly_best_first(np.array([], f), True) and strictly_best_first(np.array([0.5], f), True)
    assert not strictly_best_first(np.array([np.nan], f), True)
    assert strictly_best_first(np.array([3, 2, 1], f), True) and not strictly_best_first(np.array([3, 2, 1], f), False)
    assert strictly_best_first(np.array([1, 2, 3], f), False)
    assert not strictly_best_first(np.array([3, 3, 1], f), True)  # a tie
    assert not strictly_best_first(np.array([3, np.nan, 1], f), True)


def test_one_segment_ties_and_nan_scores_take_the_merge() -> None:
    """In one segment, tied scores that make the top-k are ordered by point id (not by
    offset) and NaN scores are dropped: the short return for a strictly ordered top-k must not
    skip either. (Which of the tied points make a segment's top-k goes by offset.)"""
    config = CollectionConfig.from_create_request({"vectors": {"size": 2, "distance": "Dot"}})
    segment = Segment(0, config.all_vectors())
    rows = np.array([[1, 1], [1, 1], [1, 1], [2, 2], [1e38, -1e38]], dtype=np.float32)
    offsets = segment.insert([40, 30, 20, 10, 50], 1, [None] * 5)
    segment.set_vectors("", offsets, rows)
    q = np.array([1e38, 1e38], dtype=np.float32)  # the last row's dot is inf - inf = NaN
    hits = search_segments([segment], "", NearestScorer(config.vector(""), np.array([1, 1], np.float32), {}, 10**9), None, 3)
    assert [h.point_id for h in hits] == [10, 30, 40]
    with np.errstate(over="ignore", invalid="ignore"):
        hits = search_segments([segment], "", NearestScorer(config.vector(""), q, {}, 10**9), None, 10)
    assert [h.point_id for h in hits] == [10, 20, 30, 40]  # 10's score overflows to inf; 50's is NaN
