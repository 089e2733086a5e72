"""Vector search over a collection: a per-segment planner, scorers, and the top-k merge.

Callers hold the collection's read lock. Each segment searches its own candidates (live points
matching the filter, optionally restricted to given offsets) and returns at most k hits; the
collection merges them. Dense segments with an HNSW graph search it (filter applied inside the
traversal) only when the candidates exceed full_scan_threshold; otherwise, and whenever the
graph returned fewer hits than the candidates allow, they are scored exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, Sequence

import numpy as np

from pydrant.collection.config import CollectionConfig, VectorSpec
from pydrant.models.ids import PointId, id_sort_key
from pydrant.segment.filtering.evaluate import evaluate
from pydrant.segment.segment import Segment
from pydrant.segment.vector_index.distance import EUCLID, MANHATTAN, higher_is_better, strictly_best_first, top_k
from pydrant.segment.vectors.base import CandidateMask

EPSILON = np.float32(1.1920929e-7)  # f32::EPSILON, used by Qdrant's context scoring


@dataclass(slots=True)
class Hit:
    score: float
    segment: Segment
    offset: int
    point_id: PointId

    @property
    def version(self) -> int:
        return int(self.segment.tracker.versions[self.offset])


class Scorer(Protocol):
    higher_is_better: bool

    def top(self, storage: Any, candidates: CandidateMask, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Best k of `candidates` (live, matching points holding the vector) in one segment."""
        ...


def full_scan_vectors(config: CollectionConfig, spec: VectorSpec) -> int:
    """full_scan_threshold (KB; vector-level setting wins) as a number of dense vectors."""
    kb = int(config.hnsw_for(spec).get("full_scan_threshold", 10000))
    return kb * 1024 // max(1, spec.size * 4)


class NearestScorer:
    """Plain nearest-neighbour search with one query vector (dense, multi or sparse)."""

    def __init__(self, spec: VectorSpec, query: Any, params: dict[str, Any], full_scan: int, idf_stats: Any = None) -> None:
        self.query = query
        self.params = params
        self.full_scan = full_scan
        self.idf_stats = idf_stats
        self.higher_is_better = spec.kind == "sparse" or higher_is_better(spec.distance)
        self.last_plan = ""  # "exact" | "hnsw" | "sparse", for tests and diagnostics

    def top(self, storage: Any, candidates: CandidateMask, k: int) -> tuple[np.ndarray, np.ndarray]:
        if storage.kind == "sparse":
            self.last_plan = "sparse"
            return storage.search(self.query, k, candidates, {"idf_stats": self.idf_stats} if self.idf_stats else {})  # type: ignore[no-any-return]
        index = getattr(storage, "index", None)
        if index is not None and not self.params.get("exact") and candidates.count >= self.full_scan:
            self.last_plan = "hnsw"
            offsets, scores = storage.search(self.query, k, candidates, {"hnsw_ef": self.params.get("hnsw_ef")})
            if offsets.shape[0] >= min(k, candidates.count):
                return offsets, scores
            # The graph could not reach enough matching points (a tight filter): never return
            # fewer than `limit` when enough points match.
        self.last_plan = "exact"
        return storage.search(self.query, k, candidates, {"exact": True})  # type: ignore[no-any-return]


def _fast_sigmoid(x: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        out = x / (np.float32(1.0) + np.abs(x))
    return np.where(np.isinf(x), x, out).astype(np.float32)


def _scaled_sigmoid(x: np.ndarray) -> np.ndarray:
    return (np.float32(0.5) * (_fast_sigmoid(x) + np.float32(1.0))).astype(np.float32)


class ExampleScorer:
    """Recommend (best_score, sum_scores), discover, context and relevance feedback: scores
    built from Qdrant's internal similarities to several example vectors, always
    higher-is-better, exact."""

    higher_is_better = True

    def __init__(self, spec: VectorSpec, kind: str, examples: dict[str, Any], sparse_params: Any = None) -> None:
        self.spec = spec
        self.kind = kind
        self.examples = examples
        self.sparse_params = sparse_params  # example index -> params (IDF stats) for sparse

    def _internal(self, storage: Any, vector: Any, offsets: np.ndarray) -> np.ndarray:
        if storage.kind == "sparse":
            params = self.sparse_params(vector) if self.sparse_params is not None else None
            sparse_scores: np.ndarray = np.nan_to_num(storage.score_offsets(vector, offsets, params)).astype(np.float32)
            return sparse_scores
        raw: np.ndarray = storage.score_offsets(vector, offsets).astype(np.float32)
        if self.spec.distance == EUCLID:
            squared: np.ndarray = -(raw * raw)
            return squared
        if self.spec.distance == MANHATTAN:
            return -raw
        return raw

    def _scores(self, storage: Any, offsets: np.ndarray) -> np.ndarray:
        n = offsets.shape[0]
        ex = self.examples
        if self.kind in ("best_score", "sum_scores"):
            pos = [self._internal(storage, v, offsets) for v in ex["positive"]]
            neg = [self._internal(storage, v, offsets) for v in ex["negative"]]
            if self.kind == "sum_scores":
                zero = np.zeros(n, dtype=np.float32)
                return (sum(pos, zero) - sum(neg, zero)).astype(np.float32)
            best_pos = np.max(pos, axis=0) if pos else np.full(n, -np.inf, dtype=np.float32)
            best_neg = np.max(neg, axis=0) if neg else np.full(n, -np.inf, dtype=np.float32)
            return np.where(best_pos > best_neg, _scaled_sigmoid(best_pos), -_scaled_sigmoid(best_neg)).astype(np.float32)
        if self.kind == "discover":
            ranks = np.zeros(n, dtype=np.float32)
            for positive, negative in ex["pairs"]:
                ranks += np.sign(self._internal(storage, positive, offsets) - self._internal(storage, negative, offsets))
            discovered: np.ndarray = (ranks + _scaled_sigmoid(self._internal(storage, ex["target"], offsets))).astype(np.float32)
            return discovered
        if self.kind == "feedback":
            score: np.ndarray = np.float32(ex["a"]) * self._internal(storage, ex["target"], offsets)
            for better, worse, weight in ex["pairs"]:
                score += np.float32(weight) * (self._internal(storage, better, offsets) - self._internal(storage, worse, offsets))
            return score
        total = np.zeros(n, dtype=np.float32)
        for positive, negative in ex["pairs"]:
            diff = self._internal(storage, positive, offsets) - self._internal(storage, negative, offsets) - EPSILON
            total += _fast_sigmoid(np.minimum(diff, np.float32(0.0)))
        return total

    def top(self, storage: Any, candidates: CandidateMask, k: int) -> tuple[np.ndarray, np.ndarray]:
        offsets = candidates.offsets()
        if offsets.shape[0] == 0:
            return offsets, np.zeros(0, dtype=np.float32)
        scores = self._scores(storage, offsets)
        best = top_k(-scores, offsets, k)
        return offsets[best], scores[best]


def candidates_in(segment: Segment, compiled_filter: Any, restrict: np.ndarray | None) -> np.ndarray:
    """Sorted offsets of live points of `segment` matching the filter (within `restrict`)."""
    live = segment.tracker.live
    if restrict is None:
        mask = live if compiled_filter is None else evaluate(compiled_filter, segment) & live
        return np.flatnonzero(mask)
    offsets: np.ndarray = np.unique(restrict)
    offsets = offsets[live[offsets]]
    if compiled_filter is not None and offsets.shape[0]:
        offsets = offsets[evaluate(compiled_filter, segment)[offsets]]
    return offsets


def stored_live(segment: Segment, storage: Any) -> CandidateMask:
    """Live points of `segment` holding `storage`'s vector: the candidates of an unfiltered
    search. Cached on the storage until the live set or the stored set changes (readers hold
    the collection's read lock, so neither can change while one is in use)."""
    tracker = segment.tracker
    key = (id(tracker), tracker.live_version, tracker.size, storage.has_version)
    cached = storage.search_cache
    if cached is not None and cached[0] == key:
        return cached[1]  # type: ignore[no-any-return]
    mask = storage.has_mask(tracker.size) & tracker.live
    result = CandidateMask(mask, complete=True)
    storage.search_cache = (key, result)
    return result


def candidate_mask(segment: Segment, storage: Any, compiled_filter: Any, restrict: np.ndarray | None) -> CandidateMask:
    """Live points holding the vector that match the filter (and lie within `restrict`)."""
    base = stored_live(segment, storage)
    if compiled_filter is None and restrict is None:
        return base
    if restrict is None:
        # The same filter is usually asked again with another query vector: its mask is
        # kept with the segment state it came from (which cannot move while readers hold the
        # collection's read lock). The filter's repr is the key: it tells `match: true` from
        # `match: 1`, which the frozen conditions' own equality does not.
        key = (id(storage), repr(compiled_filter))
        state = _filter_state(segment)
        cached: CandidateMask | None = segment.candidate_cache.get(key, state)
        if cached is None:
            cached = _filtered(base, segment, compiled_filter, None)
            segment.candidate_cache.put(key, state, cached)
        return cached
    return _filtered(base, segment, compiled_filter, restrict)


def _filter_state(segment: Segment) -> tuple[int, ...]:
    """Everything a filtered candidate mask depends on: the live set and size, payloads (and
    with them the payload indexes), which vector names and indexes exist, and which points
    hold each vector (`has_vector`; the searched storage's presence among them)."""
    tracker = segment.tracker
    return (tracker.live_version, tracker.size, segment.payload_version, segment.schema_version,
            *(storage.has_version for storage in segment.vectors.values()))


def _filtered(base: CandidateMask, segment: Segment, compiled_filter: Any, restrict: np.ndarray | None) -> CandidateMask:
    mask = base.mask
    if restrict is not None:
        offsets = np.asarray(restrict, dtype=np.int64)
        inside = np.zeros(mask.shape[0], dtype=bool)
        inside[offsets[(offsets >= 0) & (offsets < mask.shape[0])]] = True
        mask = mask & inside
    if compiled_filter is not None:
        mask = mask & evaluate(compiled_filter, segment)[: mask.shape[0]]
    return CandidateMask(mask)


def passes(scores: np.ndarray, threshold: float | None, higher: bool) -> np.ndarray:
    """Qdrant's score_threshold: strictly better than the threshold."""
    if threshold is None:
        return np.ones(scores.shape[0], dtype=bool)
    with np.errstate(over="ignore"):  # a threshold past float32 range is +-inf, as intended
        limit = np.float32(threshold)
    return scores > limit if higher else scores < limit


@dataclass(slots=True)
class SegmentTop:
    """The whole answer of a search when one segment holds it: offsets and scores, strictly
    best first (so no ties to re-break and no NaN), its ids unique."""

    segment: Segment
    offsets: np.ndarray
    scores: np.ndarray

    def hits(self) -> list[Hit]:
        return _hits(self.segment, self.offsets, self.scores)


def search_segments(
    segments: Sequence[Segment],
    name: str,
    scorer: Scorer,
    compiled_filter: Any,
    k: int,
    score_threshold: float | None = None,
    restrict: dict[int, np.ndarray] | None = None,
) -> list[Hit]:
    """Top-k hits over all segments, best first (ties by point id), each id at most once."""
    found = search_segments_top(segments, name, scorer, compiled_filter, k, score_threshold, restrict)
    return found.hits() if isinstance(found, SegmentTop) else found


def search_segments_top(
    segments: Sequence[Segment],
    name: str,
    scorer: Scorer,
    compiled_filter: Any,
    k: int,
    score_threshold: float | None = None,
    restrict: dict[int, np.ndarray] | None = None,
) -> SegmentTop | list[Hit]:
    """`search_segments`, except that an answer held by one segment stays in arrays (a
    SegmentTop): callers that build records from arrays skip making a Hit per point."""
    if k <= 0:
        return []
    found: list[tuple[Segment, np.ndarray, np.ndarray]] = []
    ordered = False  # of the last segment's hits: strictly best first, so no NaN and no tie
    for segment in segments:
        storage = segment.vectors.get(name)
        if storage is None or segment.live_count == 0:
            continue
        allowed = None
        if restrict is not None:
            allowed = restrict.get(segment.segment_id)
            if allowed is None:
                continue
        candidates = candidate_mask(segment, storage, compiled_filter, allowed)
        if candidates.count == 0:
            continue
        offsets, scores = scorer.top(storage, candidates, k)
        ordered = strictly_best_first(scores, scorer.higher_is_better)
        if not ordered or score_threshold is not None:
            keep = ~np.isnan(scores)
            if score_threshold is not None:
                keep &= passes(scores, score_threshold, scorer.higher_is_better)
            if not keep.all():
                offsets, scores = offsets[keep], scores[keep]
                ordered = strictly_best_first(scores, scorer.higher_is_better)
        found.append((segment, offsets, scores))
    if len(found) == 1 and ordered:
        # One segment's top-k, best first with no tied scores: already in the merged order
        # (ties would be re-broken by point id below), and its ids are unique.
        return SegmentTop(*found[0])
    hits = [hit for segment, offsets, scores in found for hit in _hits(segment, offsets, scores)]
    return merge_hits(hits, k, scorer.higher_is_better)


def _hits(segment: Segment, offsets: np.ndarray, scores: np.ndarray) -> list[Hit]:
    offset_list = offsets.tolist()
    ids = segment.ids_at(offset_list)
    return [Hit(s, segment, o, i) for s, o, i in zip(scores.tolist(), offset_list, ids)]


def merge_hits(hits: list[Hit], k: int, higher: bool) -> list[Hit]:
    sign = -1.0 if higher else 1.0
    hits.sort(key=lambda h: (sign * h.score, id_sort_key(h.point_id)))
    out: list[Hit] = []
    seen: set[PointId] = set()
    for hit in hits:
        if hit.point_id in seen:
            continue
        seen.add(hit.point_id)
        out.append(hit)
        if len(out) == k:
            break
    return out


def sparse_idf_stats(segments: Sequence[Segment], name: str, indices: Any, corpus: Any = None) -> tuple[int, np.ndarray]:
    """(points with this vector, document frequency per index) for IDF: collection-wide, or
    over the live points matching the compiled `corpus` filter (`params.idf.corpus`)."""
    idx = np.asarray(indices, dtype=np.int64).reshape(-1)
    total_docs = 0
    total_df = np.zeros(idx.shape[0], dtype=np.int64)
    for segment in segments:
        storage = segment.vectors.get(name)
        if storage is None:
            continue
        allowed = None if corpus is None else evaluate(corpus, segment) & segment.tracker.live
        n_docs, df = storage.idf_stats(idx, allowed)  # type: ignore[attr-defined]  # sparse storages only
        total_docs += int(n_docs)
        total_df += df
    return total_docs, total_df
