"""Multivector storage: max_sim vs brute force and local mode, rewrites, compaction, persistence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pydrant.segment.vectors.base import load_storage, make_storage
from pydrant.segment.vectors.multi import MultiDenseStorage

DISTANCES = ["Cosine", "Dot", "Euclid", "Manhattan"]
MULTI = {"comparator": "max_sim"}


def brute_max_sim(docs: dict[int, np.ndarray], q: np.ndarray, distance: str) -> dict[int, float]:
    """Reported score per doc, computed the slow obvious way in float64."""
    q = q.astype(np.float64)
    out = {}
    for off, d in docs.items():
        d = d.astype(np.float64)
        if distance == "Cosine":
            dn = d / np.linalg.norm(d, axis=1, keepdims=True)
            qn = q / np.linalg.norm(q, axis=1, keepdims=True)
            out[off] = sum(max(float(qr @ dr) for dr in dn) for qr in qn)
        elif distance == "Dot":
            out[off] = sum(max(float(qr @ dr) for dr in d) for qr in q)
        elif distance == "Euclid":
            out[off] = np.sqrt(sum(min(float(((qr - dr) ** 2).sum()) for dr in d) for qr in q))
        else:
            out[off] = sum(min(float(np.abs(qr - dr).sum()) for dr in d) for qr in q)
    return out


@pytest.mark.parametrize("distance", DISTANCES)
def test_max_sim_matches_brute_force(distance: str) -> None:
    rng = np.random.default_rng(4)
    s = make_storage("dense", {"size": 5, "distance": distance, "multivector_config": MULTI})
    assert isinstance(s, MultiDenseStorage)
    docs = {}
    for round_ in range(3):  # rewrites leave garbage rows that must not leak into scores
        offs = rng.choice(60, size=40, replace=False)
        mats = [rng.normal(size=(int(rng.integers(1, 5)), 5)).astype(np.float32) for _ in offs]
        s.set(offs, mats)
        docs.update(zip(offs.tolist(), mats))
    s.clear(np.array([1, 2]))
    docs.pop(1, None)
    docs.pop(2, None)
    higher = distance in ("Cosine", "Dot")

    def ranking(ref: dict[int, float]) -> list[int]:
        return sorted(ref, key=lambda o: ((-ref[o] if higher else ref[o]), o))

    for _ in range(3):
        q = rng.normal(size=(3, 5)).astype(np.float32)
        ref = brute_max_sim(docs, q, distance)
        expect = ranking(ref)[:8]
        offsets, scores = s.search(q, 8, None, None)
        assert offsets.tolist() == expect
        np.testing.assert_allclose(scores, [ref[o] for o in expect], rtol=1e-5, atol=1e-4)
        mask = np.zeros(60, dtype=bool)
        mask[::3] = True
        offsets, _ = s.search(q, 8, mask, None)
        assert offsets.tolist() == [o for o in ranking(ref) if o % 3 == 0][:8]
        got = s.score_offsets(q, np.array(expect[:3] + [1]))
        np.testing.assert_allclose(got[:3], [ref[o] for o in expect[:3]], rtol=1e-5, atol=1e-4)
        assert np.isnan(got[3])


@pytest.mark.parametrize("distance", DISTANCES)
def test_max_sim_equals_qdrant_local_mode(distance: str) -> None:
    qdrant_client = pytest.importorskip("qdrant_client")
    from qdrant_client import models

    rng = np.random.default_rng(8)
    mats = [rng.normal(size=(int(rng.integers(1, 4)), 4)).astype(np.float32) for _ in range(30)]
    client = qdrant_client.QdrantClient(":memory:")
    client.create_collection(
        "c",
        vectors_config=models.VectorParams(
            size=4,
            distance=models.Distance(distance),
            multivector_config=models.MultiVectorConfig(comparator=models.MultiVectorComparator.MAX_SIM),
        ),
    )
    client.upsert("c", points=[models.PointStruct(id=i, vector=m.tolist()) for i, m in enumerate(mats)])
    s = make_storage("dense", {"size": 4, "distance": distance, "multivector_config": MULTI})
    s.set(np.arange(30), mats)
    q = rng.normal(size=(2, 4)).astype(np.float32)
    hits = client.query_points("c", query=q.tolist(), limit=6).points
    offsets, scores = s.search(q, 6, None, None)
    assert offsets.tolist() == [h.id for h in hits]
    np.testing.assert_allclose(scores, [h.score for h in hits], atol=1e-4)
    client.close()


def test_get_json_copy_and_save_load(tmp_path: Path) -> None:
    cfg = {"size": 2, "distance": "Dot", "multivector_config": MULTI}
    s = make_storage("dense", cfg)
    s.set(np.array([0, 3]), [np.array([[0.1, 0.2], [1, 2]], np.float32), np.array([[5, 6]], np.float32)])
    assert s.get_json(np.array([3, 1, 0])) == [[[5.0, 6.0]], None, [[0.1, 0.2], [1.0, 2.0]]]
    for _ in range(300):  # enough rewrites to trigger compaction
        s.set(np.array([3]), [np.array([[7, 8], [9, 10]], np.float32)])
    assert s._used < 2 * 4 + 1024 + 2
    assert s.save(tmp_path, "m") == ["m.multi.npz"]
    t = load_storage("dense", tmp_path, "m", cfg)
    assert t.get_json(np.arange(5)) == s.get_json(np.arange(5))
    u = make_storage("dense", cfg)
    u.copy_from(t, np.array([0, 1]), np.array([7, 8]))
    assert u.get_json(np.array([7, 8])) == [[[0.1, 0.2], [1.0, 2.0]], None]
    assert u.has_mask(10).tolist() == [False] * 7 + [True, False, False]
