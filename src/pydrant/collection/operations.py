"""The closed set of write operations as they are logged in the WAL and applied to segments.

Request JSON -> (convert.py) -> Operation -> WAL record (msgpack, versioned) -> update worker.
Vectors travel as raw little-endian float32 bytes per column so that a batch of thousands of
points encodes and decodes without per-number Python work. Filter-selected writes are resolved
to ids *before* logging, so a replay can never touch a different set of points.
"""

from __future__ import annotations

from typing import Any, Union

import msgspec
import numpy as np
from msgspec import Struct

from pydrant.errors import MalformedJson

PointIdWire = Union[int, str]

WAL_FORMAT_VERSION = 1


class DenseColumn(Struct, array_like=True):
    """Dense vectors of one name for some rows (row = position in the operation's ids)."""

    rows: list[int] | None  # None: every row has this vector, in order
    data: bytes  # float32 (n, dim)
    dim: int

    def matrix(self) -> np.ndarray:
        return np.frombuffer(self.data, dtype=np.float32).reshape(-1, self.dim)


class MultiColumn(Struct, array_like=True):
    rows: list[int]
    lengths: list[int]  # number of sub-vectors per row
    data: bytes  # float32 (sum(lengths), dim)
    dim: int

    def matrices(self) -> list[np.ndarray]:
        flat = np.frombuffer(self.data, dtype=np.float32).reshape(-1, self.dim)
        bounds = np.cumsum([0, *self.lengths])
        return [flat[bounds[i] : bounds[i + 1]] for i in range(len(self.lengths))]


class SparseColumn(Struct, array_like=True):
    rows: list[int]
    indptr: list[int]
    indices: bytes  # uint32
    values: bytes  # float32

    def pairs(self) -> list[tuple[np.ndarray, np.ndarray]]:
        indices = np.frombuffer(self.indices, dtype=np.uint32)
        values = np.frombuffer(self.values, dtype=np.float32)
        return [
            (indices[self.indptr[i] : self.indptr[i + 1]], values[self.indptr[i] : self.indptr[i + 1]])
            for i in range(len(self.rows))
        ]


class VectorColumns(Struct, array_like=True):
    dense: dict[str, DenseColumn] = {}
    multi: dict[str, MultiColumn] = {}
    sparse: dict[str, SparseColumn] = {}

    def names(self) -> set[str]:
        return set(self.dense) | set(self.multi) | set(self.sparse)

    def rows_with(self, name: str, n: int) -> list[int]:
        if name in self.dense:
            rows = self.dense[name].rows
            return list(range(n)) if rows is None else rows
        if name in self.multi:
            return self.multi[name].rows
        return self.sparse[name].rows


class Upsert(Struct, tag="upsert"):
    ids: list[PointIdWire]
    vectors: VectorColumns
    payloads: list[dict[str, Any] | None] | None
    mode: str = "upsert"  # upsert | insert_only | update_only
    update_filter: Any = None  # raw JSON filter, evaluated at apply time against existing points


class DeletePoints(Struct, tag="delete"):
    ids: list[PointIdWire]


class SetPayload(Struct, tag="set_payload"):
    ids: list[PointIdWire]
    payload: dict[str, Any]
    key: str | None = None


class OverwritePayload(Struct, tag="overwrite_payload"):
    ids: list[PointIdWire]
    payload: dict[str, Any]


class DeletePayload(Struct, tag="delete_payload"):
    ids: list[PointIdWire]
    keys: list[str]


class ClearPayload(Struct, tag="clear_payload"):
    ids: list[PointIdWire]


class UpdateVectors(Struct, tag="update_vectors"):
    ids: list[PointIdWire]
    vectors: VectorColumns
    update_filter: Any = None


class DeleteVectors(Struct, tag="delete_vectors"):
    ids: list[PointIdWire]
    names: list[str]


class CreateFieldIndex(Struct, tag="create_index"):
    field_name: str
    field_schema: Any


class DeleteFieldIndex(Struct, tag="delete_index"):
    field_name: str


Operation = Union[
    Upsert,
    DeletePoints,
    SetPayload,
    OverwritePayload,
    DeletePayload,
    ClearPayload,
    UpdateVectors,
    DeleteVectors,
    CreateFieldIndex,
    DeleteFieldIndex,
]


class WalRecord(Struct, array_like=True):
    version: int
    operations: list[Operation]  # one request's operations, applied in order
    # True: this record continues the previous record's request (a batch update). If the
    # previous one failed, this one is skipped, live and on replay alike.
    chained: bool = False


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(WalRecord)


def encode_record(operations: list[Operation], chained: bool = False) -> bytes:
    record = WalRecord(WAL_FORMAT_VERSION, operations, chained)
    try:
        return _encoder.encode(record)
    except OverflowError:
        # A JSON integer beyond 64 bits (msgpack's range) somewhere in a payload: it becomes the
        # float Qdrant's JSON parser reads it as, in place, so what is applied is what is logged.
        _widen_wide_ints(operations)
        return _encoder.encode(record)


_INT_MIN, _UINT_MAX = -(2**63), 2**64 - 1


def _widen_wide_ints(value: Any) -> Any:
    """`value` with every int outside [-2^63, 2^64 - 1] turned into a float (containers are
    changed in place); MalformedJson for an integer beyond float range, as Qdrant refuses it."""
    if type(value) is int:
        if _INT_MIN <= value <= _UINT_MAX:
            return value
        try:
            return float(value)
        except OverflowError:
            raise MalformedJson(f"number out of range: {str(value)[:20]}...") from None
    if isinstance(value, dict):
        for key, item in value.items():
            value[key] = _widen_wide_ints(item)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            value[i] = _widen_wide_ints(item)
    elif isinstance(value, Struct):
        for name in value.__struct_fields__:
            setattr(value, name, _widen_wide_ints(getattr(value, name)))
    return value


def decode_record(data: bytes) -> WalRecord:
    record = _decoder.decode(data)
    if record.version != WAL_FORMAT_VERSION:
        raise ValueError(f"unknown WAL record version {record.version}")
    return record
