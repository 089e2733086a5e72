"""Float32-exact vector comparisons: the server stores float32 and may print either repr."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np


def as_f32(values: Sequence[Any]) -> np.ndarray:
    return np.asarray(values, dtype=np.float32)


def assert_vec_equal(actual: Any, expected: Sequence[Any]) -> None:
    """Same float32 values, element by element (0.9 and 0.8999999761581421 are one float32)."""
    assert actual is not None, "vector missing"
    a, e = as_f32(actual), as_f32(expected)
    assert a.shape == e.shape, f"shape {a.shape} != {e.shape}: {actual!r}"
    assert np.array_equal(a, e), f"{actual!r} != {expected!r}"


def normalized(values: Sequence[float]) -> list[float]:
    v = as_f32(values)
    return (v / np.linalg.norm(v)).tolist()  # type: ignore[no-any-return]


def assert_vec_close(actual: Any, expected: Sequence[Any]) -> None:
    """Equal up to float32 rounding of a normalisation (a few ulps)."""
    assert actual is not None, "vector missing"
    a, e = as_f32(actual), as_f32(expected)
    assert a.shape == e.shape, f"shape {a.shape} != {e.shape}: {actual!r}"
    assert np.allclose(a, e, rtol=1e-6, atol=1e-7), f"{actual!r} != {expected!r}"


def sparse_as_dict(sparse: dict[str, Any]) -> dict[int, np.float32]:
    """Order-free view: Qdrant may sort indices, so compare index -> value."""
    assert len(sparse["indices"]) == len(sparse["values"]), sparse
    return {int(i): np.float32(v) for i, v in zip(sparse["indices"], sparse["values"])}
