"""Exact dense search matches numpy brute force and qdrant-client local mode, per distance."""

from __future__ import annotations

import numpy as np
import pytest

from pydrant.segment.vector_index.distance import top_k
from pydrant.segment.vectors.base import make_storage

DISTANCES = ["Cosine", "Dot", "Euclid", "Manhattan"]


def brute_force(x: np.ndarray, q: np.ndarray, distance: str) -> tuple[np.ndarray, bool]:
    """Reference scores in float64 and whether higher is better."""
    x64, q64 = x.astype(np.float64), q.astype(np.float64)
    if distance == "Cosine":
        xn = x64 / np.maximum(np.linalg.norm(x64, axis=1, keepdims=True), 1e-300)
        return xn @ (q64 / np.linalg.norm(q64)), True
    if distance == "Dot":
        return x64 @ q64, True
    if distance == "Euclid":
        return np.linalg.norm(x64 - q64, axis=1), False
    return np.abs(x64 - q64).sum(axis=1), False


def ranked(scores: np.ndarray, higher: bool) -> np.ndarray:
    return np.argsort(-scores if higher else scores, kind="stable")


@pytest.mark.parametrize("distance", DISTANCES)
@pytest.mark.parametrize("n", [50, 5000])  # 5000 takes the Euclid preselect path
def test_exact_matches_brute_force(distance: str, n: int) -> None:
    rng = np.random.default_rng(7)
    x = rng.normal(size=(n, 24)).astype(np.float32)
    s = make_storage("dense", {"size": 24, "distance": distance})
    s.set(np.arange(n), x)
    for _ in range(5):
        q = rng.normal(size=24).astype(np.float32)
        offsets, scores = s.search(q, 10, None, None)
        ref, higher = brute_force(x, q, distance)
        expect = ranked(ref, higher)[:10]
        np.testing.assert_array_equal(offsets, expect)
        np.testing.assert_allclose(scores, ref[expect], rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("distance", DISTANCES)
def test_candidates_mask_and_offsets_restrict_results(distance: str) -> None:
    rng = np.random.default_rng(1)
    n = 300
    x = rng.normal(size=(n, 8)).astype(np.float32)
    s = make_storage("dense", {"size": 8, "distance": distance})
    s.set(np.arange(n), x)
    s.clear(np.array([3, 4, 5]))
    mask = rng.random(n) < 0.3
    mask[[3, 4]] = True  # cleared offsets must not come back even when allowed
    q = rng.normal(size=8).astype(np.float32)
    ref, higher = brute_force(x, q, distance)
    allowed = np.flatnonzero(mask & ~np.isin(np.arange(n), [3, 4, 5]))
    expect = allowed[ranked(ref[allowed], higher)][:7]
    for cand in (mask, np.flatnonzero(mask)[::-1].astype(np.int64)):
        offsets, _ = s.search(q, 7, cand, None)
        np.testing.assert_array_equal(offsets, expect)


def test_ties_are_broken_by_ascending_offset() -> None:
    s = make_storage("dense", {"size": 2, "distance": "Dot"})
    x = np.array([[1, 0]] * 6 + [[2, 0]], dtype=np.float32)
    s.set(np.array([9, 2, 7, 0, 5, 1, 8]), x)
    offsets, scores = s.search(np.array([1, 0], dtype=np.float32), 4, None, None)
    assert offsets.tolist() == [8, 0, 1, 2]
    assert scores.tolist() == [2.0, 1.0, 1.0, 1.0]
    keys = np.array([1.0, 0.0, 1.0, 0.0, 1.0])
    assert top_k(keys, np.array([4, 3, 2, 1, 0]), 3).tolist() == [3, 1, 4]


def test_cosine_zero_vector_stays_zero_and_scores_zero() -> None:
    s = make_storage("dense", {"size": 3, "distance": "Cosine"})
    s.set(np.array([0, 1]), np.array([[0, 0, 0], [3, 0, 4]], dtype=np.float32))
    assert s.get_json(np.array([0, 1])) == [[0.0, 0.0, 0.0], [0.6, 0.0, 0.8]]
    offsets, scores = s.search(np.array([1, 0, 0], dtype=np.float32), 5, None, None)
    assert offsets.tolist() == [1, 0]
    np.testing.assert_allclose(scores, [0.6, 0.0], atol=1e-6)


def test_score_offsets_nan_for_absent() -> None:
    s = make_storage("dense", {"size": 2, "distance": "Euclid"})
    s.set(np.array([0, 2]), np.array([[0, 0], [3, 4]], dtype=np.float32))
    out = s.score_offsets(np.zeros(2, dtype=np.float32), np.array([2, 1, 0, 99]))
    assert out[0] == 5.0 and np.isnan(out[1]) and out[2] == 0.0 and np.isnan(out[3])


@pytest.mark.parametrize("distance", DISTANCES)
def test_scores_equal_qdrant_local_mode(distance: str) -> None:
    qdrant_client = pytest.importorskip("qdrant_client")
    from qdrant_client import models

    rng = np.random.default_rng(3)
    n, dim = 60, 6
    x = rng.normal(size=(n, dim)).astype(np.float32)
    client = qdrant_client.QdrantClient(":memory:")
    client.create_collection(
        "c", vectors_config=models.VectorParams(size=dim, distance=models.Distance(distance))
    )
    client.upsert(
        "c", points=[models.PointStruct(id=i, vector=x[i].tolist()) for i in range(n)]
    )
    s = make_storage("dense", {"size": dim, "distance": distance})
    s.set(np.arange(n), x)
    for _ in range(3):
        q = rng.normal(size=dim).astype(np.float32)
        hits = client.query_points("c", query=q.tolist(), limit=8).points
        offsets, scores = s.search(q, 8, None, None)
        assert offsets.tolist() == [h.id for h in hits]
        np.testing.assert_allclose(scores, [h.score for h in hits], atol=1e-4)
    client.close()


@pytest.mark.parametrize("distance", DISTANCES)
@pytest.mark.parametrize("datatype", ["float32", "float16", "uint8"])
def test_block_parallel_scan_equals_single_scan(distance: str, datatype: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Splitting the scan into row blocks (each keeping its own top-k) changes nothing: same
    offsets, same scores, ties by offset, for dense and sparse candidate masks."""
    from pydrant.segment.vector_index import exact, parallel

    monkeypatch.setattr(exact, "PARALLEL_MIN_CANDIDATES", 0)  # split even these small masks
    rng = np.random.default_rng(5)
    n = 2000
    x = rng.integers(0, 4, size=(n, 6)).astype(np.float32)  # few distinct rows: many exact ties
    s = make_storage("dense", {"size": 6, "distance": distance, "datatype": datatype})
    s.set(np.arange(n), x)
    q = s.prepare_query(rng.integers(0, 4, size=6).astype(np.float32))
    for density in (1.0, 0.5, 0.05, 0.0):
        mask = rng.random(n) < density
        expect = exact.exact_search(s._data, np.flatnonzero(mask), q, distance, 25, getattr(s, "_sqnorms", None) if s._track_sqnorms else None)
        for rows, workers in ((100, 2), (333, 7), (5000, 2)):
            monkeypatch.setattr(parallel, "MIN_BLOCK_ROWS", rows)
            monkeypatch.setattr(parallel, "WORKERS", workers)
            got = exact.exact_search_mask(s._data, mask, q, distance, 25, s._sqnorms if s._track_sqnorms else None)
            np.testing.assert_array_equal(got[0], expect[0])
            np.testing.assert_array_equal(got[1], expect[1])


def test_blocks_cover_the_range_once() -> None:
    from pydrant.segment.vector_index.parallel import blocks

    for n in (0, 1, 99, 100, 101, 12345):
        for workers in (1, 2, 3, 8):
            ranges = blocks(n, workers, min_rows=10)
            covered = [i for lo, hi in ranges for i in range(lo, hi)]
            assert covered == list(range(n))
            assert len(ranges) <= max(1, workers)


def test_a_query_is_normalised_exactly_as_a_stored_row() -> None:
    """The one-vector path of normalize_rows (used for queries) gives bit-identical rows to
    the batch path (used for stored vectors), so a point's own vector scores 1.0 either way."""
    from pydrant.segment.vector_index.distance import normalize_rows

    rng = np.random.default_rng(8)
    x = rng.normal(size=(500, 33)).astype(np.float32) * rng.uniform(1e-3, 1e3, size=(500, 1)).astype(np.float32)
    batch = normalize_rows(x)
    for i in range(x.shape[0]):
        assert np.array_equal(normalize_rows(x[i]), batch[i])
    assert np.array_equal(normalize_rows(np.zeros(3, dtype=np.float32)), np.zeros(3, dtype=np.float32))
