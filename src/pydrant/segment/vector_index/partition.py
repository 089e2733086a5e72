"""Exact top-k that skips whole clusters of rows which provably cannot reach the top-k.

An immutable segment's rows are grouped by k-means into clusters, each kept with its centre
`c` and radius `r` (the largest distance from `c` to a member). The triangle inequality (and
Cauchy-Schwarz for dot products) bounds every member's score by the centre's:

    Cosine, Dot:  x.q <= c.q + r * |q|          (r: largest L2 distance)
    Euclid:       |x - q| >= |c - q| - r        (r: largest L2 distance)
    Manhattan:    |x - q|_1 >= |c - q|_1 - r    (r: largest L1 distance)

A search scores the clusters nearest the query first, which gives a k-th best score; every
cluster whose bound cannot match that score is skipped, the rest are scored exactly. The
result is the same top-k (same scores, same offset tie-break) as scanning every row, because
skipped rows are strictly worse than the k-th. On data with no cluster structure nothing can
be skipped, and the caller scans everything as before, having spent a small first probe.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import faiss
import numpy as np

from pydrant.segment.vector_index.distance import COSINE, DOT, EUCLID, MANHATTAN, higher_is_better, kmeans_safe, top_k
from pydrant.segment.vectors.base import CandidateMask

# Segments smaller than this are scanned whole: it costs less than the bounds.
MIN_ROWS = 8192
# About this many rows per cluster: tight radii need clusters no larger than the data's own.
ROWS_PER_CLUSTER = 50
MAX_CLUSTERS = 4096
KMEANS_ITERATIONS = 4
KMEANS_SAMPLE_PER_CLUSTER = 16
# The first probe scores the nearest clusters until it holds this many candidates (or k),
# looking among the best few first (a partial sort), all of them only if those are too few.
FIRST_PROBE_ROWS = 512
_PROBE_WIDTH = 32
# When the clusters still in reach hold more than this share of the candidates, gathering
# them costs as much as the plain scan (which also runs on every core): give up.
MAX_SCANNED_SHARE = 0.25
# Float32 scores carry a rounding error of about dim * 2^-24 relative to the magnitudes
# involved; bounds are widened by this many times that so rounding never hides a row.
_ROUNDING_SLACK = 16 * 2.0**-24


@dataclass(frozen=True)
class Partition:
    """Clusters over the rows at `order`: cluster i holds order[starts[i]:starts[i + 1]]."""

    distance: str
    centres: np.ndarray  # (clusters, dim) float32: bounds are computed in float32, the slack covers it
    radii: np.ndarray  # (clusters,) float64: L2 (L1 for Manhattan) distance to the farthest member
    order: np.ndarray  # int64 offsets grouped by cluster, ascending within one
    starts: np.ndarray  # (clusters + 1,) int64
    labels: np.ndarray  # int32 cluster of each offset below len(labels), -1 where no row was clustered
    magnitude: float  # the largest row norm (L1 for Manhattan), for the rounding slack

    @classmethod
    def build(cls, rows: np.ndarray, offsets: np.ndarray, distance: str, seed: int = 1) -> Partition | None:
        """Cluster `rows` (stored at `offsets`); None when there are too few rows to pay off."""
        n, dim = rows.shape
        if n < MIN_ROWS:
            return None
        rows = np.ascontiguousarray(rows, dtype=np.float32)
        if not kmeans_safe(rows):
            return None  # exact scans read every row, as they do below MIN_ROWS
        clusters = int(min(MAX_CLUSTERS, max(2, n // ROWS_PER_CLUSTER)))
        kmeans = faiss.Kmeans(
            dim, clusters, niter=KMEANS_ITERATIONS, seed=seed,
            max_points_per_centroid=KMEANS_SAMPLE_PER_CLUSTER, verbose=False,
        )
        kmeans.train(rows)
        _, nearest = kmeans.index.search(rows, 1)
        assign = nearest[:, 0].astype(np.int64)
        centres = kmeans.centroids
        assert centres is not None  # set by train()
        return cls.from_assignment(rows, offsets, assign, centres, distance)

    @classmethod
    def from_assignment(
        cls, rows: np.ndarray, offsets: np.ndarray, assign: np.ndarray, centres: np.ndarray, distance: str
    ) -> Partition:
        """The partition for a given row -> cluster assignment; radii are measured, so any
        assignment (and any centres) gives valid bounds."""
        clusters = centres.shape[0]
        centres64 = np.asarray(centres, dtype=np.float64)
        radii = np.zeros(clusters, dtype=np.float64)
        norm_ord = 1 if distance == MANHATTAN else 2
        magnitude = 0.0
        for lo in range(0, rows.shape[0], 65536):  # blocked: the float64 copies stay small
            block = rows[lo : lo + 65536].astype(np.float64)
            spread = np.linalg.norm(block - centres64[assign[lo : lo + 65536]], ord=norm_ord, axis=1)
            np.maximum.at(radii, assign[lo : lo + 65536], spread)
            magnitude = max(magnitude, float(np.linalg.norm(block, ord=norm_ord, axis=1).max()))
        grouping = np.argsort(assign, kind="stable")  # offsets arrive ascending: stays ascending per cluster
        order = np.asarray(offsets, dtype=np.int64)[grouping]
        starts = np.zeros(clusters + 1, dtype=np.int64)
        np.cumsum(np.bincount(assign, minlength=clusters), out=starts[1:])
        end = int(order.max()) + 1 if order.shape[0] else 0
        labels = np.full(end, -1, dtype=np.int32)
        labels[np.asarray(offsets, dtype=np.int64)] = assign
        return cls(distance, np.asarray(centres, dtype=np.float32), radii, order, starts, labels, magnitude)

    # -- search -----------------------------------------------------------------------

    def search(
        self,
        query: np.ndarray,
        k: int,
        candidates: CandidateMask,
        score_offsets: Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray]],
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Exact top-k (offsets, scores) of the candidates, or None when too little can be
        skipped (the caller then scans every row). `score_offsets(offsets, k)` is the exact
        top-k over sorted offsets, the function a full scan uses."""
        if candidates.count == 0 or k <= 0:
            return None
        counts = self._candidate_counts(candidates)
        if counts is None:
            return None
        bounds = self._key_bounds(query)
        bounds[counts == 0] = np.inf
        budget = MAX_SCANNED_SHARE * candidates.count
        probe = self._first_probe(bounds, counts, max(k, min(FIRST_PROBE_ROWS, candidates.count)))
        probed = int(counts[probe].sum())
        if probed > budget:
            return None
        mask = candidates.mask
        first_offsets, first_scores = score_offsets(self._members(probe, mask), k)
        if first_offsets.shape[0] < k and probed < candidates.count:
            return None  # fewer than k candidates near the query: no k-th score to prune with
        if first_offsets.shape[0] == 0:
            return first_offsets, first_scores
        kth = -float(first_scores[-1]) if higher_is_better(self.distance) else float(first_scores[-1])
        if not math.isfinite(kth):
            return None  # scores overflowed float32 (huge Dot vectors): no bound to trust
        bounds[probe] = np.inf
        rest = np.flatnonzero(bounds <= kth)  # a bound equal to the k-th may still tie and win on offset
        if rest.shape[0] == 0:
            return first_offsets, first_scores
        if probed + int(counts[rest].sum()) > budget:
            return None
        more_offsets, more_scores = score_offsets(self._members(rest, mask), k)
        offsets = np.concatenate([first_offsets, more_offsets])
        found = np.concatenate([first_scores, more_scores])
        keys = -found if higher_is_better(self.distance) else found
        best = top_k(keys, offsets, k)
        return offsets[best], found[best]

    @staticmethod
    def _first_probe(bounds: np.ndarray, counts: np.ndarray, wanted: int) -> np.ndarray:
        """The clusters with the best bounds, as few as hold `wanted` candidates."""
        for width in (_PROBE_WIDTH, bounds.shape[0]):
            width = min(width, bounds.shape[0])
            nearest = np.argpartition(bounds, width - 1)[:width] if width < bounds.shape[0] else np.arange(width)
            nearest = nearest[np.argsort(bounds[nearest], kind="stable")]
            reached = np.cumsum(counts[nearest])
            if reached[-1] >= wanted or width == bounds.shape[0]:
                return nearest[: int(np.searchsorted(reached, wanted)) + 1]
        raise AssertionError("unreachable: the last width covers every cluster")

    def _candidate_counts(self, candidates: CandidateMask) -> np.ndarray | None:
        """Candidates per cluster (kept on the mask: an unfiltered mask is cached per segment);
        None when some candidate lies outside every cluster."""
        key = ("partition-counts", id(self))
        cached = candidates.derived.get(key)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        mask = candidates.mask
        end = self.labels.shape[0]
        if mask.shape[0] > end and bool(mask[end:].any()):
            return None
        labels = self.labels[: mask.shape[0]][mask[:end]]
        if labels.shape[0] and int(labels.min()) < 0:
            return None
        counts = np.bincount(labels, minlength=self.centres.shape[0])
        candidates.derived[key] = counts
        return counts

    def _key_bounds(self, query: np.ndarray) -> np.ndarray:
        """Per cluster, the smallest key (negated score for Cosine/Dot, distance otherwise)
        any member can have, widened by the float32 rounding slack."""
        q = np.asarray(query, dtype=np.float32)
        dim = q.shape[0]
        if self.distance in (COSINE, DOT):
            q_norm = float(np.sqrt(q @ q))
            slack = _ROUNDING_SLACK * dim * q_norm * self.magnitude + 1e-30
            bound: np.ndarray = -(self.centres @ q + self.radii * q_norm) - slack
            return bound
        if self.distance == EUCLID:
            centre_distance = np.linalg.norm(self.centres - q, axis=1)
            slack = _ROUNDING_SLACK * dim * (float(np.linalg.norm(q)) + self.magnitude) + 1e-30
        else:
            centre_distance = np.abs(self.centres - q).sum(axis=1)
            slack = _ROUNDING_SLACK * dim * (float(np.abs(q).sum()) + self.magnitude) + 1e-30
        bound = np.maximum(centre_distance - self.radii, 0.0) - slack
        return bound

    def _members(self, clusters: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Sorted candidate offsets of `clusters`."""
        starts, order = self.starts, self.order
        offsets: np.ndarray = np.concatenate([order[starts[c] : starts[c + 1]] for c in clusters.tolist()])
        offsets = offsets[offsets < mask.shape[0]]
        offsets = offsets[mask[offsets]]
        offsets.sort()
        return offsets

    # -- persistence ------------------------------------------------------------------

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {
            "partition_centres": self.centres,
            "partition_radii": self.radii,
            "partition_order": self.order,
            "partition_starts": self.starts,
            "partition_magnitude": np.array([self.magnitude]),
        }

    @classmethod
    def from_arrays(cls, arrays: Any, distance: str) -> Partition | None:
        """The partition saved by `to_arrays`, or None when the arrays are absent."""
        if "partition_order" not in arrays:
            return None
        order = np.asarray(arrays["partition_order"], dtype=np.int64)
        starts = np.asarray(arrays["partition_starts"], dtype=np.int64)
        end = int(order.max()) + 1 if order.shape[0] else 0
        labels = np.full(end, -1, dtype=np.int32)
        labels[order] = np.repeat(np.arange(starts.shape[0] - 1, dtype=np.int32), np.diff(starts))
        return cls(
            distance,
            np.asarray(arrays["partition_centres"], dtype=np.float32),
            np.asarray(arrays["partition_radii"], dtype=np.float64),
            order,
            starts,
            labels,
            float(np.asarray(arrays["partition_magnitude"])[0]),
        )
