"""The `slice` condition: SipHash-2-4 (zero key) of canonical id bytes, modulo `total`, vectorised."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import numpy as np

from pydrant.models.ids import PointId

_U = np.uint64


def _rotl(x: np.ndarray, b: int) -> np.ndarray:
    return (x << _U(b)) | (x >> _U(64 - b))


def _round(v: list[np.ndarray]) -> None:
    v0, v1, v2, v3 = v
    v0 = v0 + v1
    v1 = _rotl(v1, 13) ^ v0
    v0 = _rotl(v0, 32)
    v2 = v2 + v3
    v3 = _rotl(v3, 16) ^ v2
    v0 = v0 + v3
    v3 = _rotl(v3, 21) ^ v0
    v2 = v2 + v1
    v1 = _rotl(v1, 17) ^ v2
    v2 = _rotl(v2, 32)
    v[:] = [v0, v1, v2, v3]


def siphash24(blocks: list[np.ndarray], length: int) -> np.ndarray:
    """SipHash-2-4 with a zero key over messages of `length` bytes (a multiple of 8), given as
    little-endian uint64 words, one array per word position."""
    n = len(blocks[0])
    v = [
        np.full(n, 0x736F6D6570736575, _U),
        np.full(n, 0x646F72616E646F6D, _U),
        np.full(n, 0x6C7967656E657261, _U),
        np.full(n, 0x7465646279746573, _U),
    ]
    tail = np.full(n, (length & 0xFF) << 56, _U)
    for block in [*blocks, tail]:
        v[3] = v[3] ^ block
        _round(v)
        _round(v)
        v[0] = v[0] ^ block
    v[2] = v[2] ^ _U(0xFF)
    for _ in range(4):
        _round(v)
    return v[0] ^ v[1] ^ v[2] ^ v[3]


def slice_mask(ids: Sequence[PointId], total: int, index: int) -> np.ndarray:
    """Which of `ids` fall into slice `index` of `total`."""
    n = len(ids)
    out = np.zeros(n, dtype=bool)
    is_int = np.fromiter((type(i) is int for i in ids), dtype=bool, count=n)
    with np.errstate(over="ignore"):
        int_pos = np.flatnonzero(is_int)
        if len(int_pos):
            words = np.array([ids[i] for i in int_pos.tolist()], dtype=_U)
            out[int_pos] = siphash24([words], 8) % _U(total) == _U(index)
        uuid_pos = np.flatnonzero(~is_int)
        if len(uuid_pos):
            raw = b"".join(uuid.UUID(str(ids[i])).bytes for i in uuid_pos.tolist())
            words = np.frombuffer(raw, dtype="<u8").reshape(-1, 2)
            hashed = siphash24([words[:, 0].astype(_U), words[:, 1].astype(_U)], 16)
            out[uuid_pos] = hashed % _U(total) == _U(index)
    return out
