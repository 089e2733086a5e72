"""json_floats: the per-value path (small arrays) gives the same doubles as the vectorised one."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pydrant.segment.vector_index import distance
from pydrant.segment.vector_index.distance import json_float_list, json_floats


def _same(a: float, b: float) -> bool:
    """Equal as doubles, telling -0.0 from 0.0 (JSON prints them differently); any NaN is NaN."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return np.float64(a).view(np.int64) == np.float64(b).view(np.int64)


def _check_paths_agree(x32: np.ndarray) -> None:
    with np.errstate(invalid="ignore"):  # signalling NaN bit patterns warn when cast
        vectorised = distance._json_floats_vectorised(x32).tolist()
    per_value = distance._json_float_list(x32.tolist())
    for value, a, b in zip(x32.tolist(), vectorised, per_value):
        assert _same(a, b), (value, a, b)


def _neighbours(centres: np.ndarray, ulps: int) -> np.ndarray:
    """Every float32 within `ulps` steps of each centre, both signs."""
    bits = np.abs(centres.astype(np.float32)).view(np.int32).astype(np.int64)
    steps = np.arange(-ulps, ulps + 1)
    near = (bits[:, None] + steps[None, :]).ravel()
    near = near[(near >= 0) & (near < 0x7F800000)].astype(np.int32).view(np.float32)
    return np.concatenate([near, -near])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(width=32), min_size=1, max_size=64))
def test_per_value_path_equals_vectorised_on_any_float32(values: list[float]) -> None:
    _check_paths_agree(np.asarray(values, dtype=np.float32))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=64))
def test_per_value_path_equals_vectorised_on_any_bit_pattern(bits: list[int]) -> None:
    _check_paths_agree(np.asarray(bits, dtype=np.uint32).view(np.float32))


def test_paths_agree_on_edge_values() -> None:
    f32 = np.finfo(np.float32)
    special = np.array(
        [0.0, -0.0, np.inf, -np.inf, np.nan, f32.max, -f32.max, f32.tiny, f32.smallest_subnormal,
         -f32.smallest_subnormal, 0.1, 0.3, 1 / 3, 0.5, 1.0, 16777217.0, 1e-14, 1e14, 9.999999e13],
        dtype=np.float32,
    )
    powers_of_ten = _neighbours(np.power(10.0, np.arange(-16, 17)), 40)
    powers_of_two = _neighbours(np.ldexp(1.0, np.arange(-60, 61)), 4)
    # Values with few significant digits sit on the rounding ties the digit loop meets.
    short_decimals = np.arange(-99999, 100000, 7).astype(np.float64)
    scaled = np.concatenate([short_decimals * 10.0**k for k in range(-12, 9)]).astype(np.float32)
    rng = np.random.default_rng(7)
    random_bits = rng.integers(0, 2**32, size=50_000, dtype=np.uint64).astype(np.uint32).view(np.float32)
    for x32 in (special, powers_of_ten, powers_of_two, scaled, random_bits):
        _check_paths_agree(x32)


def test_powers_of_ten_are_exact() -> None:
    assert distance._POW10 == [float(f"1e{k}") for k in range(23)]


def test_small_and_large_arrays_format_alike() -> None:
    rng = np.random.default_rng(3)
    x = (rng.normal(size=(20, 5)) * np.exp(rng.normal(size=(20, 5)) * 6)).astype(np.float32)
    whole = json_floats(x)  # 100 values: vectorised
    assert whole.shape == x.shape and whole.dtype == np.float64
    for row in range(x.shape[0]):
        part = json_floats(x[row])  # 5 values: per value
        assert part.dtype == np.float64 and part.shape == (5,)
        assert part.tolist() == whole[row].tolist()
    assert json_floats(np.zeros((0, 4), dtype=np.float32)).shape == (0, 4)
    assert json_floats(np.float32(0.1)).tolist() == 0.1
    assert json_floats(np.array([0.1, -0.0, 1e-3], dtype=np.float32)).tolist() == [0.1, -0.0, 0.001]
    for n in (0, 5, 100):  # both sides of the per-value crossover
        assert json_float_list(x.ravel()[:n].tolist()) == json_floats(x.ravel()[:n]).tolist()


@settings(max_examples=300, deadline=None)
@given(st.floats(width=32, allow_nan=False, allow_infinity=False))
def test_every_float32_prints_as_its_shortest_decimal(value: float) -> None:
    """Qdrant prints f32 with the shortest decimal that reads back as the same f32, at every
    magnitude (tiny, subnormal and huge values included), e.g. 3.5635947e-14, not the
    float64 cast 3.5635946640409297e-14."""
    import msgspec

    x32 = np.float32(value)
    for out in (json_floats(np.array([x32]))[0], json_floats(np.full(64, x32))[0]):
        assert np.float32(out) == x32
        printed = msgspec.json.encode(float(out)).decode()
        if x32 != 0:
            assert float(printed) == float(str(x32)), (printed, str(x32))


def test_matrices_with_values_past_the_digit_search_format_on_both_paths() -> None:
    """Rows of vectors (a retrieve or scroll page) go through the vectorised path as one 2-D
    array; values the digit search leaves to the per-value fallback (subnormal, tiny, huge)
    must be put back at their own place. This was an IndexError (a 500) for 2-D input."""
    x = np.full((13, 4), 0.5, dtype=np.float32)
    x[2, 1], x[12, 3], x[7, 0] = 1.4e-45, 3e20, -2.5e-30
    for array in (x, x[:3]):  # 52 values: vectorised; 12: per value
        out = json_floats(array)
        assert out.shape == array.shape
        assert out.tolist() == [[float(str(v)) for v in row] for row in array]
