"""Sparse search: inverted index vs brute force, IDF as Qdrant computes it, filters, merges."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import pydrant.segment.vectors.sparse as sparse_mod
from pydrant.segment.vectors.base import load_storage, make_storage


def random_sparse(rng: np.random.Generator, n: int, vocab: int = 60, max_nnz: int = 8) -> list:
    out = []
    for _ in range(n):
        nnz = int(rng.integers(0, max_nnz + 1))
        idx = rng.choice(vocab, size=nnz, replace=False)
        out.append((idx, rng.normal(size=nnz).astype(np.float32)))
    return out


def brute(vectors: dict[int, tuple], q_idx, q_val) -> dict[int, float]:
    """Dot over shared indices for every point that shares at least one."""
    q = dict(zip(np.asarray(q_idx).tolist(), np.asarray(q_val, dtype=np.float64).tolist()))
    out = {}
    for off, (idx, val) in vectors.items():
        shared = [(i, v) for i, v in zip(np.asarray(idx).tolist(), val.tolist()) if i in q]
        if shared:
            out[off] = sum(q[i] * v for i, v in shared)
    return out


def expected_top(scores: dict[int, float], k: int, allowed=None) -> list[int]:
    items = [(-s, o) for o, s in scores.items() if allowed is None or o in allowed]
    return [o for _, o in sorted(items)[:k]]


@pytest.mark.parametrize("delta_min", [1, 4096])  # 1 forces frequent main rebuilds
def test_sparse_matches_brute_force_through_writes(monkeypatch, delta_min: int) -> None:
    monkeypatch.setattr(sparse_mod, "_DELTA_MIN", delta_min)
    rng = np.random.default_rng(5)
    s = make_storage("sparse", {})
    truth: dict[int, tuple] = {}
    for step in range(30):
        offs = rng.choice(400, size=20, replace=False)
        vecs = random_sparse(rng, 20)
        s.set(offs, vecs)
        for o, v in zip(offs.tolist(), vecs):
            order = np.argsort(v[0])
            truth[o] = (v[0][order], v[1][order])
        gone = rng.choice(400, size=5, replace=False)
        s.clear(gone)
        for o in gone.tolist():
            truth.pop(o, None)
        q_idx = rng.choice(60, size=5, replace=False)
        q_val = rng.normal(size=5).astype(np.float32)
        offsets, scores = s.search((q_idx, q_val), 10, None, None)
        ref = brute(truth, q_idx, q_val)
        assert offsets.tolist() == expected_top(ref, 10)
        np.testing.assert_allclose(scores, [ref[o] for o in offsets.tolist()], atol=1e-5)
        mask = rng.random(400) < 0.5
        offsets, _ = s.search({"indices": q_idx, "values": q_val}, 10, mask, None)
        assert offsets.tolist() == expected_top(ref, 10, set(np.flatnonzero(mask).tolist()))
    assert s.has_mask(400).sum() == len(truth)


def test_no_overlap_means_not_returned_and_values_sorted() -> None:
    s = make_storage("sparse", {"modifier": "none"})
    s.set(np.array([0, 1, 2]), [([5, 1], [2.0, 1.0]), ([7], [1.0]), ([], [])])
    assert s.get_json(np.array([0, 1, 2, 3])) == [
        {"indices": [1, 5], "values": [1.0, 2.0]},
        {"indices": [7], "values": [1.0]},
        {"indices": [], "values": []},
        None,
    ]
    offsets, scores = s.search(([5], [0.5]), 10, None, None)
    assert offsets.tolist() == [0] and scores.tolist() == [1.0]
    got = s.score_offsets(([5, 7], [1.0, 3.0]), np.array([1, 0, 2, 9, 0]))
    assert got[:3].tolist() == [3.0, 2.0, 0.0] and np.isnan(got[3]) and got[4] == 2.0


def test_idf_matches_qdrant_local_mode() -> None:
    qdrant_client = pytest.importorskip("qdrant_client")
    from qdrant_client import models

    rng = np.random.default_rng(11)
    vecs = random_sparse(rng, 80, vocab=20, max_nnz=6)
    client = qdrant_client.QdrantClient(":memory:")
    client.create_collection(
        "c",
        vectors_config={},
        sparse_vectors_config={"s": models.SparseVectorParams(modifier=models.Modifier.IDF)},
    )
    client.upsert(
        "c",
        points=[
            models.PointStruct(
                id=i,
                vector={"s": models.SparseVector(indices=v[0].tolist(), values=v[1].tolist())},
            )
            for i, v in enumerate(vecs)
        ],
    )
    s = make_storage("sparse", {"modifier": "idf"})
    s.set(np.arange(80), vecs)
    for _ in range(4):
        q_idx = rng.choice(20, size=4, replace=False)
        q_val = rng.random(4).astype(np.float32)
        hits = client.query_points(
            "c", query=models.SparseVector(indices=q_idx.tolist(), values=q_val.tolist()),
            using="s", limit=10,
        ).points
        offsets, scores = s.search((q_idx, q_val), 10, None, None)
        np.testing.assert_allclose(scores, [h.score for h in hits], atol=1e-4)
        assert offsets.tolist() == [h.id for h in hits]  # random values: no ties
    client.close()


def test_idf_uses_supplied_collection_stats() -> None:
    s = make_storage("sparse", {"modifier": "idf"})
    s.set(np.array([0, 1]), [([1], [1.0]), ([2], [1.0])])
    n, df = s.idf_stats([1, 2, 3])
    assert n == 2 and df.tolist() == [1, 1, 0]
    _, own = s.search(([1], [1.0]), 1, None, None)
    np.testing.assert_allclose(own, [np.log((2 - 1 + 0.5) / 1.5 + 1)], rtol=1e-6)
    _, merged = s.search(([1], [1.0]), 1, None, {"idf_stats": (10, np.array([3]))})
    np.testing.assert_allclose(merged, [np.log((10 - 3 + 0.5) / 3.5 + 1)], rtol=1e-6)
    # Stats are aligned with the query's indices as given (unsorted), not the sorted form.
    s.set(np.array([2]), [([1, 2], [1.0, 1.0])])
    _, both = s.search(([2, 1], [1.0, 1.0]), 1, None, {"idf_stats": (10, np.array([5, 1]))})
    idf = lambda df: np.log((10 - df + 0.5) / (df + 0.5) + 1)
    np.testing.assert_allclose(both, [idf(1) + idf(5)], rtol=1e-6)


def test_sparse_save_load_and_copy(tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    s = make_storage("sparse", {})
    s.set(np.arange(50), random_sparse(rng, 50))
    s.clear(np.array([4, 8]))
    files = s.save(tmp_path, "sp")
    t = load_storage("sparse", tmp_path, "sp", {})
    assert files == ["sp.sparse.npz"]
    assert t.get_json(np.arange(52)) == s.get_json(np.arange(52))
    q = (np.arange(0, 60, 3), np.ones(20, dtype=np.float32))
    for got, want in zip(t.search(q, 7, None, None), s.search(q, 7, None, None)):
        np.testing.assert_array_equal(got, want)
    u = make_storage("sparse", {})
    u.set(np.array([1]), [([3], [3.0])])
    u.copy_from(s, np.array([0, 4]), np.array([0, 1]))
    assert u.get_json(np.array([0, 1])) == [s.get_json(np.array([0]))[0], None]


def test_duplicate_indices_keep_last_value() -> None:
    s = make_storage("sparse", {})
    s.set(np.array([0]), [([3, 1, 3], [1.0, 2.0, 5.0])])
    assert s.get_json(np.array([0])) == [{"indices": [1, 3], "values": [2.0, 5.0]}]
