"""An order for the points of a new immutable segment that puts near vectors at near offsets.

A graph search reads a few thousand rows scattered over the whole matrix; when the rows of
one region of the space sit together, those reads share cache lines' neighbours, pages and
TLB entries. Grouping the points by a coarse k-means cluster before they are copied made an
HNSW search over 100k clustered vectors about a quarter faster (docs/benchmarks.md). The
order is only a heuristic: any order gives the same search results.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import faiss
import numpy as np

from pydrant.segment.vector_index.distance import kmeans_safe

# Below this many vectors there is nothing to order (at least two clusters of this size).
# Small segments gain nothing from the order but cost only milliseconds, and ordering them
# too keeps one copy path for every optimization.
MIN_POINTS = 512
# About this many points per cluster, and at most this many clusters (the assignment costs
# points x clusters x dim, once per optimization).
POINTS_PER_CLUSTER = 256
MAX_CLUSTERS = 1024
KMEANS_ITERATIONS = 8
KMEANS_SAMPLE_PER_CLUSTER = 32
_ASSIGN_BLOCK = 16384  # rows converted to float32 at a time


@dataclass(frozen=True)
class RowSource:
    """The stored rows of one segment's vector: `matrix[offsets]` are read, nothing else.

    `keepalive` is whatever owns the memory `matrix` may view (a graph's rows), held so the
    matrix stays valid while it is read without the collection's lock."""

    matrix: np.ndarray
    offsets: np.ndarray
    keepalive: Any = None


def cluster_keys(sources: Sequence[RowSource], seed: int = 1) -> list[np.ndarray] | None:
    """A cluster number for every row of every source (aligned with its `offsets`), or None
    when there are too few rows to be worth ordering. Sorting by these keys (stably) groups
    the rows of one cluster together."""
    counts = [int(source.offsets.shape[0]) for source in sources]
    total = sum(counts)
    if total < MIN_POINTS:
        return None
    dim = int(sources[0].matrix.shape[1])
    clusters = min(MAX_CLUSTERS, total // POINTS_PER_CLUSTER)
    kmeans = faiss.Kmeans(
        dim, clusters, niter=KMEANS_ITERATIONS, seed=seed,
        # The sample is drawn here: faiss need not draw it again, nor warn that it is small.
        max_points_per_centroid=KMEANS_SAMPLE_PER_CLUSTER, min_points_per_centroid=1, verbose=False,
    )
    sample = _sample(sources, counts, clusters * KMEANS_SAMPLE_PER_CLUSTER, seed)
    if not kmeans_safe(sample):
        return None  # left in their order. Huge rows outside the sample are only assigned:
        # a flat search, which may give them meaningless keys (an order, never an index).
    kmeans.train(sample)
    keys = []
    for source in sources:
        key = np.empty(source.offsets.shape[0], dtype=np.int32)
        for lo in range(0, source.offsets.shape[0], _ASSIGN_BLOCK):
            block = _float_rows(source.matrix, source.offsets[lo : lo + _ASSIGN_BLOCK])
            _, nearest = kmeans.index.search(block, 1)
            key[lo : lo + block.shape[0]] = nearest[:, 0]
        keys.append(key)
    return keys


def _sample(sources: Sequence[RowSource], counts: list[int], size: int, seed: int) -> np.ndarray:
    """Up to `size` rows drawn uniformly from all sources, as float32."""
    total = sum(counts)
    picks = np.sort(np.random.default_rng(seed).choice(total, size=min(size, total), replace=False))
    parts = []
    start = 0
    for source, count in zip(sources, counts):
        mine = picks[(picks >= start) & (picks < start + count)] - start
        if mine.shape[0]:
            parts.append(_float_rows(source.matrix, source.offsets[mine]))
        start += count
    return np.concatenate(parts)


def _float_rows(matrix: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(matrix[offsets], dtype=np.float32)
