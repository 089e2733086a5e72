"""Cluster-pruned exact search gives exactly the full scan's top-k: same offsets, same score
bits, same offset tie-break, for every distance, with and without a filter mask."""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pydrant.segment.vector_index import partition as part
from pydrant.segment.vector_index.distance import dot_scores, normalize_rows
from pydrant.segment.vector_index.exact import exact_search, exact_search_mask
from pydrant.segment.vector_index.partition import Partition
from pydrant.segment.vectors.base import CandidateMask
from pydrant.segment.vectors.dense import DenseStorage

DISTANCES = ["Cosine", "Dot", "Euclid", "Manhattan"]


def clustered(n: int, dim: int, centres: int, seed: int, spread: float = 0.3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    middle = rng.normal(size=(centres, dim)).astype(np.float32)
    rows = middle[rng.integers(0, centres, n)] + spread * rng.normal(size=(n, dim)).astype(np.float32)
    return rows.astype(np.float32)


def stored(rows: np.ndarray, distance: str) -> np.ndarray:
    return normalize_rows(rows) if distance == "Cosine" else rows


def pruned(p: Partition, rows: np.ndarray, q: np.ndarray, k: int, cand: CandidateMask, distance: str,
           scanned: list[int] | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    def score(offsets: np.ndarray, kk: int) -> tuple[np.ndarray, np.ndarray]:
        if scanned is not None:
            scanned.append(int(offsets.shape[0]))
        return exact_search(rows, offsets, q, distance, kk)

    return p.search(q, k, cand, score)


def assert_same(got: tuple[np.ndarray, np.ndarray], want: tuple[np.ndarray, np.ndarray]) -> None:
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])  # bit for bit, not approximately


@pytest.mark.parametrize("distance", DISTANCES)
@pytest.mark.parametrize("k", [1, 10, 100])
def test_pruned_search_equals_full_scan_and_skips_most_rows(distance: str, k: int) -> None:
    n, dim = 20_000, 32
    rows = stored(clustered(n, dim, 100, seed=3), distance)  # 200 rows a cluster: k=100 fits in one
    p = Partition.build(rows, np.arange(n), distance)
    assert p is not None
    cand = CandidateMask(np.ones(n, dtype=bool), complete=True)
    rng = np.random.default_rng(5)
    total_scanned = 0
    for pick in rng.integers(0, n, 20):
        q = rows[pick] + 0.1 * rng.normal(size=dim).astype(np.float32)
        q = normalize_rows(q) if distance == "Cosine" else q
        scanned: list[int] = []
        got = pruned(p, rows, q, k, cand, distance, scanned)
        assert got is not None, "clustered data near a cluster must be prunable"
        assert_same(got, exact_search_mask(rows, cand.mask, q, distance, k))
        total_scanned += sum(scanned)
    assert total_scanned < 20 * n * part.MAX_SCANNED_SHARE


@pytest.mark.parametrize("distance", DISTANCES)
def test_filtered_candidates_and_deleted_rows(distance: str) -> None:
    n, dim = 12_000, 16
    rows = stored(clustered(n, dim, 200, seed=8), distance)
    p = Partition.build(rows, np.arange(n), distance)
    assert p is not None
    rng = np.random.default_rng(9)
    for density in (0.9, 0.5):
        mask = rng.random(n) < density
        cand = CandidateMask(mask)
        for pick in rng.integers(0, n, 10):
            q = rows[pick] + 0.05 * rng.normal(size=dim).astype(np.float32)
            q = normalize_rows(q) if distance == "Cosine" else q
            got = pruned(p, rows, q, 10, cand, distance)
            want = exact_search_mask(rows, mask, q, distance, 10)
            if got is not None:
                assert_same(got, want)
            assert not np.isin(want[0], np.flatnonzero(~mask)).any()


def test_random_data_gives_up_instead_of_scanning_twice() -> None:
    """Without cluster structure no cluster can be skipped: the search says so after a small
    first probe, and the caller scans everything."""
    n, dim = 20_000, 64
    rng = np.random.default_rng(2)
    rows = normalize_rows(rng.normal(size=(n, dim)).astype(np.float32))
    p = Partition.build(rows, np.arange(n), "Cosine")
    assert p is not None
    cand = CandidateMask(np.ones(n, dtype=bool), complete=True)
    scanned: list[int] = []
    assert pruned(p, rows, normalize_rows(rng.normal(size=dim).astype(np.float32)), 10, cand, "Cosine", scanned) is None
    assert sum(scanned) <= n * part.MAX_SCANNED_SHARE


def test_ties_break_by_offset_as_the_full_scan_does() -> None:
    """Many identical rows in many clusters: the k best are the lowest offsets among the tied."""
    n, dim = 10_000, 8
    rng = np.random.default_rng(4)
    rows = normalize_rows(clustered(n, dim, 100, seed=4))
    twins = rng.choice(n, 300, replace=False)
    rows[twins] = rows[twins[0]]
    p = Partition.build(rows, np.arange(n), "Cosine")
    assert p is not None
    cand = CandidateMask(np.ones(n, dtype=bool), complete=True)
    got = pruned(p, rows, rows[twins[0]].copy(), 50, cand, "Cosine")
    want = exact_search_mask(rows, cand.mask, rows[twins[0]].copy(), "Cosine", 50)
    assert got is not None
    assert_same(got, want)
    np.testing.assert_array_equal(got[0], np.sort(twins)[:50])


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    distance=st.sampled_from(DISTANCES),
    n=st.integers(1, 400),
    clusters=st.integers(1, 40),
    k=st.integers(1, 30),
    density=st.sampled_from([1.0, 0.7, 0.2]),
)
def test_any_assignment_gives_the_exact_top_k(seed: int, distance: str, n: int, clusters: int, k: int, density: float) -> None:
    """The bounds hold for any centres and any row -> cluster assignment (radii are measured),
    so arbitrary ones, far from k-means, must still give the full scan's answer."""
    rng = np.random.default_rng(seed)
    dim = int(rng.integers(1, 12))
    rows = stored(clustered(n, dim, max(1, clusters // 2), seed, spread=float(rng.uniform(0.01, 2))), distance)
    centres = rng.normal(size=(clusters, dim)).astype(np.float32)
    assign = rng.integers(0, clusters, n)
    p = Partition.from_assignment(rows, np.arange(n), assign, centres, distance)
    mask = rng.random(n) < density
    if not mask.any():
        mask[0] = True
    cand = CandidateMask(mask)
    q = rows[rng.integers(0, n)] + rng.normal(size=dim).astype(np.float32) * float(rng.uniform(0, 1))
    q = normalize_rows(q) if distance == "Cosine" else q.astype(np.float32)
    # A tiny first probe and no give-up budget: the pruning itself answers every case.
    with mock.patch.object(part, "FIRST_PROBE_ROWS", 4), mock.patch.object(part, "MAX_SCANNED_SHARE", 1.0):
        got = pruned(p, rows, q, k, cand, distance)
    assert got is not None
    assert_same(got, exact_search_mask(rows, mask, q, distance, k))


def test_offsets_need_not_be_dense() -> None:
    """A partition over sparse offsets answers for them; a candidate outside every cluster
    (a row stored after the build) makes it step aside."""
    n, dim = 9000, 8
    rows_all = normalize_rows(clustered(2 * n, dim, 90, seed=6))
    offsets = np.arange(0, 2 * n, 2)
    p = Partition.build(rows_all[offsets], offsets, "Cosine")
    assert p is not None
    mask = np.zeros(2 * n, dtype=bool)
    mask[offsets] = True
    q = rows_all[10].copy()
    got = pruned(p, rows_all, q, 10, CandidateMask(mask), "Cosine")
    assert got is not None
    assert_same(got, exact_search_mask(rows_all, mask, q, "Cosine", 10))
    mask[1] = True
    assert pruned(p, rows_all, q, 10, CandidateMask(mask), "Cosine") is None


def test_arrays_round_trip() -> None:
    rows = normalize_rows(clustered(9000, 8, 90, seed=1))
    p = Partition.build(rows, np.arange(9000), "Cosine")
    assert p is not None
    back = Partition.from_arrays(p.to_arrays(), "Cosine")
    assert back is not None
    for name in ("centres", "radii", "order", "starts", "labels"):
        np.testing.assert_array_equal(getattr(back, name), getattr(p, name))
    assert back.magnitude == p.magnitude
    assert Partition.from_arrays({}, "Cosine") is None


def test_small_segments_are_not_partitioned() -> None:
    rows = normalize_rows(clustered(part.MIN_ROWS - 1, 8, 10, seed=1))
    assert Partition.build(rows, np.arange(rows.shape[0]), "Cosine") is None


@pytest.mark.parametrize("distance", DISTANCES)
def test_storage_builds_saves_and_drops_the_partition(tmp_path: Path, distance: str) -> None:
    n, dim = 10_000, 16
    rows = clustered(n, dim, 100, seed=12)
    s = DenseStorage({"size": dim, "distance": distance})
    s.set(np.arange(n), rows)
    reference = s.search(rows[7], 10, None, {"exact": True})
    s.build_index({"m": 8, "ef_construct": 32})
    assert s.partition is not None
    assert_same(s.search(rows[7], 10, None, {"exact": True}), reference)
    s.save(tmp_path, "v")
    loaded = DenseStorage.load(tmp_path, "v", {"size": dim, "distance": distance})
    assert loaded.partition is not None
    assert_same(loaded.search(rows[7], 10, None, {"exact": True}), reference)
    loaded.set(np.array([3]), rows[4:5])  # a changed row would escape its cluster's radius
    assert loaded.partition is None


def test_uint8_storage_keeps_plain_scans() -> None:
    n = 9000
    s = DenseStorage({"size": 4, "distance": "Cosine", "datatype": "uint8"})
    s.set(np.arange(n), np.random.default_rng(0).integers(0, 255, size=(n, 4)))
    s.build_index({"m": 8, "ef_construct": 16})
    assert s.partition is None


@pytest.mark.parametrize("dim", [1, 3, 7, 128, 1536])
def test_dot_scores_give_a_row_the_same_bits_wherever_it_is_scored(dim: int) -> None:
    rng = np.random.default_rng(dim)
    rows = rng.normal(size=(1003, dim)).astype(np.float32)
    q = rng.normal(size=dim).astype(np.float32)
    whole = dot_scores(rows, q)
    for size in (1, 2, 3, 5, 10, 333):
        pick = np.sort(rng.choice(rows.shape[0], size, replace=False))
        np.testing.assert_array_equal(dot_scores(rows[pick], q), whole[pick])
    for lo, hi in ((0, 500), (500, 1003), (1, 998)):
        np.testing.assert_array_equal(dot_scores(rows[lo:hi], q), whole[lo:hi])


def test_overflowing_dot_scores_fall_back_to_the_full_scan() -> None:
    """Dot products past float32's range are inf or nan: no bound can be trusted then."""
    n, dim = 9000, 4
    # Rows whose squared norms still fit float32 (larger ones get no partition, see below),
    # and a query that takes their dot products past it.
    rows = clustered(n, dim, 90, seed=2) * np.float32(1e17)
    p = Partition.build(rows, np.arange(n), "Dot")
    assert p is not None
    q = (rows[3] * np.float32(1e6)).astype(np.float32)
    cand = CandidateMask(np.ones(n, dtype=bool), complete=True)
    with np.errstate(over="ignore", invalid="ignore"):
        got = pruned(p, rows, q, 10, cand, "Dot")
    assert got is None


def test_rows_whose_squared_norms_overflow_get_no_partition() -> None:
    """faiss's k-means cannot cluster them (releases up to 1.12 crash in `Kmeans.train`):
    the segment keeps no partition and its exact scans read every row."""
    n, dim = 9000, 4
    rows = clustered(n, dim, 90, seed=2)
    rows[17] *= np.float32(1e20)
    assert Partition.build(rows, np.arange(n), "Dot") is None
    assert Partition.build(rows[np.arange(n) != 17], np.arange(n - 1), "Dot") is not None
