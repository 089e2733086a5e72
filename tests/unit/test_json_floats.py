"""json_floats: float32 values come back as the doubles nearest their shortest decimal (numpy's
float32 repr is the oracle), any shape, non-finite values kept as they were."""

from __future__ import annotations

import math

import msgspec
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pydrant.segment.float_json import json_float_list, json_floats


def _same(a: float, b: float) -> bool:
    """Equal as doubles, telling -0.0 from 0.0 (JSON prints them differently); any NaN is NaN."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return bool(np.float64(a).view(np.int64) == np.float64(b).view(np.int64))


def _expected(x: np.float32) -> float:
    """numpy prints a float32 with its shortest round-trip decimal, as Qdrant does."""
    return float(str(x)) if np.isfinite(x) else float(x)


def _check(x32: np.ndarray) -> None:
    out = json_floats(x32)
    assert len(out) == x32.shape[0]
    for value, got in zip(x32.tolist(), out):
        assert type(got) is float
        assert _same(got, _expected(np.float32(value))), (value, got)
    assert json_float_list(x32.tolist()) == out or any(math.isnan(v) for v in out)


def _neighbours(centres: np.ndarray, ulps: int) -> np.ndarray:
    """Every float32 within `ulps` steps of each centre, both signs."""
    bits = np.abs(centres.astype(np.float32)).view(np.int32).astype(np.int64)
    steps = np.arange(-ulps, ulps + 1)
    near = (bits[:, None] + steps[None, :]).ravel()
    near = near[(near >= 0) & (near < 0x7F800000)].astype(np.int32).view(np.float32)
    return np.concatenate([near, -near])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(width=32), min_size=1, max_size=64))
def test_any_float32_list(values: list[float]) -> None:
    _check(np.asarray(values, dtype=np.float32))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=64))
def test_any_bit_pattern(bits: list[int]) -> None:
    _check(np.asarray(bits, dtype=np.uint32).view(np.float32))


def test_edge_values() -> None:
    f32 = np.finfo(np.float32)
    special = np.array(
        [0.0, -0.0, np.inf, -np.inf, np.nan, f32.max, -f32.max, f32.tiny, f32.smallest_subnormal,
         -f32.smallest_subnormal, 0.1, 0.3, 1 / 3, 0.5, 1.0, 16777217.0, 1e-14, 1e14, 9.999999e13],
        dtype=np.float32,
    )
    powers_of_ten = _neighbours(np.power(10.0, np.arange(-45, 39)), 40)
    powers_of_two = _neighbours(np.ldexp(1.0, np.arange(-149, 128)), 4)
    # Values with few significant digits sit on rounding ties.
    short_decimals = np.arange(-99999, 100000, 7).astype(np.float64)
    scaled = np.concatenate([short_decimals * 10.0**k for k in range(-12, 9)]).astype(np.float32)
    rng = np.random.default_rng(7)
    random_bits = rng.integers(0, 2**32, size=50_000, dtype=np.uint64).astype(np.uint32).view(np.float32)
    for x32 in (special, powers_of_ten, powers_of_two, scaled, random_bits):
        _check(x32)


def test_shapes_and_non_finite_values_in_rows() -> None:
    rng = np.random.default_rng(3)
    x = (rng.normal(size=(20, 5)) * np.exp(rng.normal(size=(20, 5)) * 6)).astype(np.float32)
    whole = json_floats(x)
    assert whole == [[_expected(v) for v in row] for row in x]
    assert json_floats(x[:, ::2]) == [row[::2] for row in whole]  # not contiguous
    assert json_floats(np.zeros((0, 4), dtype=np.float32)) == []
    assert json_floats(np.array([0.1, -0.0, 1e-3], dtype=np.float32)) == [0.1, -0.0, 0.001]
    assert json_floats(np.array([[0.5, 1.0], [2.0, 3.0]], dtype=np.float16)) == [[0.5, 1.0], [2.0, 3.0]]
    # A float16 store that overflowed holds inf; it stays a float (gRPC needs one, JSON prints null).
    x[4, 1], x[9, 0] = np.inf, np.nan
    rows = json_floats(x)
    assert rows[4][1] == math.inf and math.isnan(rows[9][0])
    assert rows[4][0] == _expected(x[4, 0]) and rows[0] == whole[0]
    assert msgspec.json.encode(rows[4][:2]) == b"[" + msgspec.json.encode(rows[4][0]) + b",null]"


@settings(max_examples=300, deadline=None)
@given(st.floats(width=32, allow_nan=False, allow_infinity=False))
def test_every_float32_prints_as_its_shortest_decimal(value: float) -> None:
    """Qdrant prints f32 with the shortest decimal that reads back as the same f32, at every
    magnitude (tiny, subnormal and huge values included), e.g. 3.5635947e-14, not the
    float64 cast 3.5635946640409297e-14."""
    x32 = np.float32(value)
    for out in (json_floats(np.array([x32]))[0], json_floats(np.full((3, 4), x32))[2][3]):
        assert np.float32(out) == x32
        printed = msgspec.json.encode(out).decode()
        if x32 != 0:
            assert float(printed) == float(str(x32)), (printed, str(x32))
