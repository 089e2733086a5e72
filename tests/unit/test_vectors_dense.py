"""Dense storage: datatypes as Qdrant stores them, growth, clear, copy and save/load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pydrant.errors import BadInput
from pydrant.segment.float_json import json_floats
from pydrant.segment.vectors.base import VectorStorage, load_storage, make_storage


def test_protocol_and_factory() -> None:
    s = make_storage("dense", {"size": 4, "distance": "Dot"})
    assert isinstance(s, VectorStorage)
    with pytest.raises(BadInput, match="distance"):
        make_storage("dense", {"size": 4, "distance": "Hamming"})
    with pytest.raises(BadInput, match="datatype"):
        make_storage("dense", {"size": 4, "distance": "Dot", "datatype": "int4"})


def test_float32_values_come_back_with_shortest_repr() -> None:
    s = make_storage("dense", {"size": 3, "distance": "Dot"})
    s.set(np.array([0]), np.array([[0.1, -2.5, 1e-3]], dtype=np.float32))
    assert s.get_json(np.array([0, 1, 10**6])) == [[0.1, -2.5, 0.001], None, None]


def test_json_floats_round_trip_float32() -> None:
    rng = np.random.default_rng(0)
    x = (rng.normal(size=5000) * np.exp(rng.normal(size=5000) * 4)).astype(np.float32)
    out = json_floats(x)
    assert (np.asarray(out, dtype=np.float32) == x).all()
    assert [float(v) for v in out[:200]] == [float(str(v)) for v in x[:200]]


def test_uint8_stores_truncated_bytes_and_scores_on_bytes() -> None:
    s = make_storage("dense", {"size": 3, "distance": "Cosine", "datatype": "uint8"})
    s.set(np.array([0, 1]), np.array([[1.9, 300.0, -4.0], [0, 0, 0]], dtype=np.float32))
    # Rust `as u8`: truncates toward zero and saturates; Cosine is not normalised for bytes.
    assert s.get_json(np.array([0, 1])) == [[1.0, 255.0, 0.0], [0.0, 0.0, 0.0]]
    offsets, scores = s.search(np.array([1.0, 255.9, 7.0], dtype=np.float32), 2, None, None)
    stored, q = np.array([1, 255, 0.0]), np.array([1, 255, 7.0])
    expect = stored @ q / np.sqrt((stored @ stored) * (q @ q))
    assert offsets.tolist() == [0, 1]
    np.testing.assert_allclose(scores, [expect, 0.0], rtol=1e-6)


def test_uint8_dot_and_euclid_use_byte_values() -> None:
    for distance, expect in (("Dot", 2 * 10 + 3 * 20), ("Euclid", np.sqrt(8**2 + 17**2))):
        s = make_storage("dense", {"size": 2, "distance": distance, "datatype": "uint8"})
        s.set(np.array([0]), np.array([[10.7, 20.2]], dtype=np.float32))
        _, scores = s.search(np.array([2.0, 3.0], dtype=np.float32), 1, None, None)
        np.testing.assert_allclose(scores, [expect], rtol=1e-6)


def test_float16_cosine_normalises_then_rounds_to_half() -> None:
    s = make_storage("dense", {"size": 2, "distance": "Cosine", "datatype": "float16"})
    s.set(np.array([0]), np.array([[3.0, 4.0]], dtype=np.float32))
    s.set(np.array([1]), np.array([[1.0, 1.0]], dtype=np.float32))
    got = s.get_json(np.array([0, 1]))
    # float16 nearest to 0.6 and 0.8, widened to f32 and printed shortest, as Qdrant returns it
    assert got[0] == [0.60009766, 0.7998047]
    h = np.float16(np.float32(1) / np.sqrt(np.float32(2)))
    assert got[1] == [float(np.float32(h))] * 2


def test_growth_is_geometric_and_clear_updates_mask() -> None:
    s = make_storage("dense", {"size": 2, "distance": "Dot"})
    caps = set()
    for i in range(1000):
        s.set(np.array([i]), np.array([[i, i]], dtype=np.float32))
        caps.add(s._data.shape[0])
    assert len(caps) <= 12  # geometric growth (x1.5): log1.5(1000 / 16) ~ 10 resizes
    s.clear(np.array([5, 7, 5000]))
    mask = s.has_mask(1002)
    assert mask.sum() == 998 and not mask[5] and not mask[7] and not mask[1000]


def test_copy_from_keeps_stored_form(tmp_path: Path) -> None:
    a = make_storage("dense", {"size": 2, "distance": "Cosine"})
    a.set(np.array([0, 1]), np.array([[3, 4], [0, 2]], dtype=np.float32))
    a.clear(np.array([1]))
    b = make_storage("dense", {"size": 2, "distance": "Cosine"})
    b.set(np.array([6]), np.array([[1, 0]], dtype=np.float32))
    b.copy_from(a, np.array([0, 1]), np.array([5, 6]))
    assert b.get_json(np.array([5, 6])) == [[0.6, 0.8], None]


@pytest.mark.parametrize("datatype", ["float32", "float16", "uint8"])
def test_save_load_round_trip(tmp_path: Path, datatype: str) -> None:
    cfg = {"size": 5, "distance": "Euclid", "datatype": datatype}
    rng = np.random.default_rng(2)
    s = make_storage("dense", cfg)
    s.set(np.arange(40), (rng.random((40, 5)) * 100).astype(np.float32))
    s.clear(np.array([3, 39]))
    files = s.save(tmp_path, "vec-a")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(files)
    t = load_storage("dense", tmp_path, "vec-a", cfg)
    assert t.get_json(np.arange(45)) == s.get_json(np.arange(45))
    q = np.full(5, 50, dtype=np.float32)
    for got, want in zip(t.search(q, 5, None, None), s.search(q, 5, None, None)):
        np.testing.assert_array_equal(got, want)


def test_on_disk_loads_memory_mapped_and_stays_writable(tmp_path: Path) -> None:
    cfg = {"size": 3, "distance": "Euclid", "on_disk": True}
    s = make_storage("dense", cfg)
    s.set(np.arange(10), np.arange(30, dtype=np.float32).reshape(10, 3))
    s.save(tmp_path, "od")
    t = load_storage("dense", tmp_path, "od", cfg)
    assert isinstance(t._data, np.memmap)
    t.set(np.array([2]), np.array([[100, 100, 100]], dtype=np.float32))  # copy-on-write
    t.set(np.array([20]), np.array([[1, 1, 1]], dtype=np.float32))  # grows into RAM
    assert t.get_json(np.array([2, 20])) == [[100.0, 100.0, 100.0], [1.0, 1.0, 1.0]]
    again = load_storage("dense", tmp_path, "od", cfg)
    assert again.get_json(np.array([2, 20])) == [[6.0, 7.0, 8.0], None]  # file untouched
    offsets, scores = t.search(np.zeros(3, dtype=np.float32), 2, None, None)
    assert offsets.tolist() == [20, 0] and scores[0] == np.float32(np.sqrt(3))


def test_save_goes_through_given_fileio(tmp_path: Path) -> None:
    from pydrant.storage.fileio import DEFAULT_FILEIO

    written: list[str] = []

    class Recording(type(DEFAULT_FILEIO)):  # type: ignore[misc]
        """Counts writes, to prove the storages use the fileio they are given."""

        def write_new(self, path: Path, data: bytes) -> None:
            written.append(path.name)
            super().write_new(path, data)

    for kind, cfg, vec in (
        ("dense", {"size": 2, "distance": "Dot"}, np.ones((1, 2), np.float32)),
        ("dense", {"size": 2, "distance": "Dot", "multivector_config": {"comparator": "max_sim"}},
         [np.ones((2, 2), np.float32)]),
        ("sparse", {}, [([1], [1.0])]),
    ):
        s = make_storage(kind, cfg)
        s.set(np.array([0]), vec)
        written.clear()
        files = s.save(tmp_path, f"f-{len(list(tmp_path.iterdir()))}", Recording())
        assert len(written) == len(files)


@pytest.mark.parametrize("distance", ["Cosine", "Dot", "Euclid", "Manhattan"])
def test_a_repeated_selective_mask_keeps_its_rows_until_a_vector_changes(distance: str) -> None:
    """A few candidates (a selective filter) are gathered once per mask; the copy must follow
    every write to the rows it holds."""
    from pydrant.segment.vectors.base import CandidateMask

    rng = np.random.default_rng(5)
    s = make_storage("dense", {"size": 8, "distance": distance})
    s.set(np.arange(3000), rng.normal(size=(3000, 8)).astype(np.float32))
    mask = np.zeros(3000, dtype=bool)
    mask[rng.choice(3000, 60, replace=False)] = True
    cand = CandidateMask(mask)
    query = rng.normal(size=8).astype(np.float32)

    def expected() -> list[int]:
        offsets = np.flatnonzero(mask)
        scores = s.score_offsets(query, offsets)
        order = np.argsort(-scores if distance in ("Cosine", "Dot") else scores, kind="stable")
        return offsets[order[:5]].tolist()

    first = s.search(query, 5, cand, {"exact": True})
    assert first[0].tolist() == expected()
    assert len(cand.derived) == 1  # the gathered block is kept with the mask
    again = s.search(query, 5, cand, {"exact": True})
    assert again[0].tolist() == first[0].tolist() and again[1].tolist() == first[1].tolist()
    # The worst candidate becomes the query itself: it must come first, scored anew.
    worst = int(np.flatnonzero(mask)[np.argsort(s.score_offsets(query, np.flatnonzero(mask)))[0 if distance in ("Cosine", "Dot") else -1]])
    s.set(np.array([worst]), query.reshape(1, 8) * (3 if distance == "Dot" else 1))
    after = s.search(query, 5, cand, {"exact": True})
    assert after[0][0] == worst and after[0].tolist() == expected()
    np.testing.assert_array_equal(after[1], s.score_offsets(query, after[0]))
