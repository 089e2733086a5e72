"""Deterministic synthetic data set: vectors, payloads, query vectors and exact ground truth."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

CITIES = [f"city-{i:02d}" for i in range(20)]
BUCKETS = 10  # `bucket` == 0 selects 10% of points (set_payload by filter)


CLUSTERS = 1000


@dataclass
class Dataset:
    """N points of dimension `dim`; point i has id i, vector vectors[i] and payload payload(i)."""

    n: int
    dim: int
    seed: int = 42
    vectors: np.ndarray = field(init=False)
    city_idx: np.ndarray = field(init=False)
    price: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        rng = np.random.default_rng(self.seed)
        # Embedding-like data: points around 1000 random centres. Isotropic Gaussian noise in
        # 128 dimensions has no neighbourhood structure at all, which no real embedding model
        # produces and which is the known worst case for every graph index.
        centres = rng.standard_normal((CLUSTERS, self.dim), dtype=np.float32)
        self.vectors = centres[rng.integers(0, CLUSTERS, self.n)] + 0.35 * rng.standard_normal((self.n, self.dim), dtype=np.float32)
        self.city_idx = rng.integers(0, len(CITIES), self.n)
        self.price = rng.integers(0, 1000, self.n)

    def payload(self, i: int) -> dict[str, Any]:
        return {
            "city": CITIES[int(self.city_idx[i])],
            "price": int(self.price[i]),
            "bucket": i % BUCKETS,
            "title": f"item number {i} in {CITIES[int(self.city_idx[i])]}",
        }

    def payloads(self, start: int, stop: int) -> list[dict[str, Any]]:
        return [self.payload(i) for i in range(start, stop)]

    def batches(self, n: int, size: int) -> "list[tuple[int, int]]":
        """[start, stop) ranges covering the first n points in batches of `size`."""
        return [(s, min(s + size, n)) for s in range(0, n, size)]

    def payload_bytes(self, n: int) -> int:
        """Total size of the first n payloads as compact JSON (what the server has to keep)."""
        import msgspec

        enc = msgspec.json.Encoder()
        return sum(len(enc.encode(self.payload(i))) for i in range(n))

    def queries(self, count: int) -> np.ndarray:
        """Queries near the data (a stored vector plus noise), as real queries are."""
        rng = np.random.default_rng(self.seed + 1)
        picks = rng.integers(0, self.n, count)
        return (self.vectors[picks] + 0.35 * rng.standard_normal((count, self.dim), dtype=np.float32)).astype(np.float32)


def cosine_top_k(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Exact top-k ids by cosine similarity (ids are row numbers), one row per query; queries
    are scored in blocks (one matrix product each) so thousands of them take seconds."""
    norms = np.linalg.norm(vectors, axis=1)
    norms[norms == 0] = 1.0
    q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    k = min(k, vectors.shape[0])
    out = np.empty((len(queries), k), dtype=np.int64)
    for start in range(0, len(q), _TRUTH_BLOCK):
        scores = (q[start : start + _TRUTH_BLOCK] @ vectors.T) / norms
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1)
        out[start : start + _TRUTH_BLOCK] = np.take_along_axis(top, order, axis=1)
    return out


_TRUTH_BLOCK = 64  # queries per product: a (64, N) float32 score block, 25 MB at N = 100,000


def filtered_truth(ds: Dataset, n: int, city: str, lo: int, hi: int) -> int:
    """Exact number of the first n points with city == `city` and lo <= price < hi."""
    mask = (ds.city_idx[:n] == CITIES.index(city)) & (ds.price[:n] >= lo) & (ds.price[:n] < hi)
    return int(mask.sum())
