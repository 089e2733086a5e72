"""Float32 values (vectors, scores) as the Python floats that print as Qdrant prints them.

Qdrant writes an f32 with the shortest decimal that reads back as the same f32: 0.1, where a
plain float32 -> float64 cast would print 0.10000000149011612. orjson formats float32 arrays
exactly so (its f32 mode of ryu), in C; msgspec then reads that text back as the double nearest
each decimal, which JSON encoding prints with the same digits again. Per value this is ~40 ns,
where formatting through numpy's repr (Dragon4) cost ~1 us a value.

orjson writes non-finite values as null. They are put back as they were (NaN or +-inf): JSON
encoding prints them as null all the same, and the gRPC conversion needs floats. Stored vectors
are finite except where a float16 store overflowed; scores can be NaN.
"""

from __future__ import annotations

from typing import Any, Sequence

import msgspec
import numpy as np
import orjson

_NUMPY = orjson.OPT_SERIALIZE_NUMPY
_decode = msgspec.json.Decoder().decode


def json_floats(values: np.ndarray) -> list[Any]:
    """Float32 values (an array of one or more dimensions) as nested lists of the same shape."""
    x32 = np.ascontiguousarray(values, dtype=np.float32)  # orjson takes C-contiguous arrays only
    out: list[Any] = _decode(orjson.dumps(x32, option=_NUMPY))
    if x32.ndim == 1:
        if None in out:
            return _restore(out, x32.tolist())
    elif not np.isfinite(x32).all():
        return _restore(out, x32.tolist())
    return out


def json_float_list(values: Sequence[float] | np.ndarray) -> list[float]:
    """`json_floats` of a flat sequence of float32 values (a hit list's scores)."""
    return json_floats(np.asarray(values, dtype=np.float32).reshape(-1))


def _restore(formatted: list[Any], exact: list[Any]) -> list[Any]:
    """`formatted` with each null replaced by the value it came from (nested alike)."""
    out: list[Any] = []
    for value, original in zip(formatted, exact):
        if type(value) is list:
            out.append(_restore(value, original))
        else:
            out.append(original if value is None else value)
    return out
