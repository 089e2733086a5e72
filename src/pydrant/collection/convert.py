"""Request bodies -> Operations, checked against the collection config before anything is logged.

Every 4xx of a write happens here: shapes, id formats, vector names, dimensions, sparse vectors.
"""

from __future__ import annotations

from array import array as CArray
from typing import Any, Callable, Iterator, Sequence, Union

import msgspec
import numpy as np

from pydrant.collection.config import DEFAULT_VECTOR, CollectionConfig, VectorSpec, bound_message, is_constraint_error
from pydrant.collection.operations import (
    DenseColumn,
    MultiColumn,
    SparseColumn,
    Upsert,
    UpdateVectors,
    VectorColumns,
)
from pydrant.errors import BadInput, MalformedJson, ValidationFailed
from pydrant.models.ids import MAX_U64, PointId, parse_point_id
from pydrant.models.nesting import check_nesting

UPDATE_MODES = ("upsert", "insert_only", "update_only")


def decode_json(body: bytes, model: Any = Any) -> Any:
    """Decode a request body; type errors become Qdrant's `Format error in JSON body` (400), broken bounds its validation error (422)."""
    try:
        return msgspec.json.decode(body, type=model)
    except msgspec.ValidationError as exc:
        message = str(exc)
        if is_constraint_error(message):
            raise ValidationFailed(bound_message(message, _untyped(body))) from None
        raise MalformedJson(message) from None
    except msgspec.DecodeError as exc:
        raise MalformedJson(str(exc)) from None
    except UnicodeDecodeError as exc:
        raise MalformedJson(f"invalid UTF-8 in a string: {exc.reason}") from None
    except RecursionError:
        raise MalformedJson("recursion limit exceeded: the body (a filter or a payload) nests too deeply") from None


def _untyped(body: bytes) -> Any:
    """The body as plain JSON values (it decoded once already: only its types were wrong)."""
    try:
        return msgspec.json.decode(body)
    except (msgspec.DecodeError, RecursionError):
        return None


def parse_ids(raw: object, field: str) -> list[PointId]:
    if not isinstance(raw, list):
        raise MalformedJson(f"{field}: expected a list of point ids")
    if raw and _INT_TYPE.issuperset(map(type, raw)) and min(raw) >= 0 and max(raw) <= MAX_U64:
        return list(raw)  # integer ids, already canonical: checked in C, not one call per id
    return [parse_point_id(item, f"{field}[{i}]") for i, item in enumerate(raw)]


_INT_TYPE = frozenset((int,))  # the exact type: a JSON bool is not an id


# ---------------------------------------------------------------------------------------------
# Body shapes. The default vector's type depends on the collection (dense list or multivector),
# so the typed decoders are built per kind and cached.


def _point_struct(vector_type: Any) -> Any:
    """Typed body decoders for one kind of default vector (built with defstruct: the vector type
    is a runtime value)."""
    vector = Union[vector_type, dict[str, Any]]
    point_struct = msgspec.defstruct(
        "PointStruct", [("id", Union[int, str]), ("vector", vector), ("payload", Union[dict[str, Any], None], None)]
    )
    point_vectors = msgspec.defstruct("PointVectors", [("id", Union[int, str]), ("vector", vector)])
    batch = msgspec.defstruct(
        "Batch",
        [
            ("ids", list[Union[int, str]]),
            ("vectors", Union[list[vector_type], dict[str, list[Any]]]),
            ("payloads", Union[list[Union[dict[str, Any], None]], None], None),
        ],
    )
    upsert_body = msgspec.defstruct(
        "UpsertBody",
        [
            ("points", Union[list[point_struct], None], None),  # type: ignore[valid-type]
            ("batch", Union[batch, None], None),
            ("update_filter", Any, None),
            ("update_mode", Union[str, None], None),
            ("shard_key", Any, None),
        ],
    )
    update_vectors_body = msgspec.defstruct(
        "UpdateVectorsBody",
        [("points", list[point_vectors]), ("update_filter", Any, None), ("shard_key", Any, None)],  # type: ignore[valid-type]
    )
    return upsert_body, update_vectors_body


_BODY_TYPES = {
    "dense": _point_struct(list[float]),
    # A multivector, or (as Qdrant accepts) a plain vector for a one-row multivector: checked
    # row by row in _multi_column.
    "multi": _point_struct(list[Any]),
    "none": _point_struct(list[float]),
}


def _body_types(config: CollectionConfig) -> Any:
    default = config.vectors.get(DEFAULT_VECTOR)
    return _BODY_TYPES["none" if default is None else default.kind]


# ---------------------------------------------------------------------------------------------
# Vectors


class _ColumnBuilder:
    """Collects vectors by name (whole columns, or point by point for named vectors), then packs
    each name into one column. Locations for error messages are only formatted on error."""

    def __init__(self, config: CollectionConfig) -> None:
        self.config = config
        self.rows: dict[str, list[int] | None] = {}  # None: every row, in order
        self.values: dict[str, list[Any]] = {}
        self.where: dict[str, Callable[[int], str]] = {}
        self.typed: set[str] = set()  # columns msgspec already typed as numbers

    def add_column(self, name: str, values: list[Any], where: Callable[[int], str], typed: bool = False) -> None:
        self.rows[name] = None
        self.values[name] = values
        self.where[name] = where
        if typed:
            self.typed.add(name)

    def add(self, row: int, name: str, value: Any, where: Callable[[int], str]) -> None:
        rows = self.rows.setdefault(name, [])
        assert rows is not None  # a name is either a whole column or added point by point
        rows.append(row)
        self.values.setdefault(name, []).append(value)
        self.where.setdefault(name, where)

    def add_point_vectors(self, vectors: list[Any], where: Callable[[int, str], str]) -> None:
        if not any(type(v) is dict for v in vectors):
            self.add_column(DEFAULT_VECTOR, vectors, lambda i: where(i, ""), typed=True)
            return
        for row, vector in enumerate(vectors):
            if type(vector) is dict:
                for name, value in vector.items():
                    self.add(row, name, value, _named_where(where, name))
            else:
                self.add(row, DEFAULT_VECTOR, vector, lambda i: where(i, ""))

    def build(self, n_rows: int) -> VectorColumns:
        columns = VectorColumns(dense={}, multi={}, sparse={})
        for name, rows in self.rows.items():
            spec = self.config.vector(name)
            values = self.values[name]
            if not values:  # an empty request (no points) carries no vectors
                continue
            where = self.where[name]
            if rows is not None and len(set(rows)) != len(rows):
                raise BadInput(f"vector `{name}` given twice for one point")
            positions = range(n_rows) if rows is None else rows
            wheres = _LazyWheres(where, positions)
            if spec.kind == "dense":
                data = _dense_matrix(spec, values, wheres, typed=name in self.typed)
                all_rows = rows is None or rows == list(range(n_rows))
                columns.dense[name] = DenseColumn(None if all_rows else rows, data.tobytes(), spec.size)
            elif spec.kind == "multi":
                columns.multi[name] = _multi_column(spec, list(positions), list(zip(values, wheres)))
            else:
                columns.sparse[name] = _sparse_column(spec, list(positions), list(zip(values, wheres)))
        return columns


class _LazyWheres:
    """`wheres[i]`: the location of the i-th value, formatted on demand."""

    def __init__(self, where: Callable[[int], str], positions: Sequence[int]) -> None:
        self._where = where
        self._positions = positions

    def __getitem__(self, i: int) -> str:
        return self._where(self._positions[i])

    def __len__(self) -> int:
        return len(self._positions)

    def __iter__(self) -> Iterator[str]:
        return (self._where(p) for p in self._positions)


def _check_finite(matrix: np.ndarray, where: str) -> None:
    if not np.isfinite(matrix).all():
        raise MalformedJson(f"{where}: vector values must be finite numbers within float32 range")


def _dense_matrix(spec: VectorSpec, values: list[Any], wheres: Any, typed: bool) -> np.ndarray:
    try:
        with np.errstate(over="ignore"):
            if typed:
                matrix = np.array(values, dtype=np.float32)
            else:  # untyped JSON: refuse strings and booleans instead of letting numpy cast them
                loose = np.array(values)
                matrix = loose.astype(np.float32) if loose.dtype.kind in "fi" else np.zeros((0, 0), np.float32)
        if matrix.ndim == 2 and matrix.shape[1] == spec.size and len(matrix) == len(values):
            if not np.isfinite(matrix).all():
                bad = int(np.flatnonzero(~np.isfinite(matrix).all(axis=1))[0])
                _check_finite(matrix[bad], wheres[bad])
            return matrix
    except (ValueError, TypeError):
        pass
    # Slow path only to name the offending vector precisely.
    for value, where in zip(values, wheres):
        _check_dense(spec, value, where)
    raise MalformedJson(f"{wheres[0]}: dense vectors must be lists of {spec.size} numbers")


def _check_dense(spec: VectorSpec, value: Any, where: str) -> None:
    if isinstance(value, dict):
        if "indices" in value or "values" in value:
            raise BadInput(f"Conversion between sparse and regular vectors failed: vector `{spec.name or 'default'}` is dense")
        if "text" in value or "image" in value or "object" in value:
            raise BadInput("inference (Document, Image, InferenceObject) is not supported by pydrant: send vectors")
    if not isinstance(value, list):
        raise MalformedJson(f"{where}: expected a list of numbers")
    if value and isinstance(value[0], list):
        raise BadInput(f"Conversion between multi and regular vectors failed: vector `{spec.name or 'default'}` is not a multivector")
    for i, x in enumerate(value):
        if type(x) not in (float, int):
            raise MalformedJson(f"{where}[{i}]: expected a number, got {type(x).__name__}")
    if len(value) != spec.size:
        raise BadInput(f"Vector dimension error: expected dim: {spec.size}, got {len(value)}")
    _check_finite(np.asarray(value, dtype=np.float64).astype(np.float32), where)


def _validator_path(where: str, spec: VectorSpec) -> str:
    """Qdrant's validator names a point's named vector `?` (`points[0].vector.?`)."""
    return where.removesuffix(f".{spec.name}") + ".?" if spec.name and where.endswith(f".{spec.name}") else where


def _multi_column(spec: VectorSpec, rows: list[int], values: list[tuple[Any, str]]) -> MultiColumn:
    blocks = []
    lengths = []
    for value, where in values:
        if isinstance(value, list) and value and not isinstance(value[0], list):
            value = [value]  # as Qdrant: a plain vector is a multivector of one row
        if not isinstance(value, list) or not all(isinstance(r, list) for r in value):
            raise MalformedJson(f"{where}: a multivector must be a list of vectors")
        if not value:  # Qdrant reads `[]` as a plain vector of no dimensions
            raise BadInput(f"Vector dimension error: expected dim: {spec.size}, got 0")
        data_path = _validator_path(where, spec) + ".data"
        if any(not row for row in value):
            raise ValidationFailed(f"{data_path}: all vectors must be non-empty")
        if any(len(row) != len(value[0]) for row in value):
            odd = next(len(row) for row in value if len(row) != len(value[0]))
            raise ValidationFailed(f"{data_path}: all vectors must have the same dimension, found vector with dimension {odd}")
        for i, row in enumerate(value):
            _check_dense(spec, row, f"{where}[{i}]")
        blocks.append(np.asarray(value, dtype=np.float32))
        lengths.append(len(value))
    data = np.concatenate(blocks).astype(np.float32).tobytes()
    return MultiColumn(rows, lengths, data, spec.size)


def _sparse_column(spec: VectorSpec, rows: list[int], values: list[tuple[Any, str]]) -> SparseColumn:
    indptr = [0]
    all_indices: list[np.ndarray] = []
    all_values: list[np.ndarray] = []
    for value, where in values:
        if not isinstance(value, dict) or set(value) - {"indices", "values"} or "indices" not in value or "values" not in value:
            raise BadInput(f"Conversion between sparse and regular vectors failed: vector `{spec.name}` is sparse; expected {{indices, values}} at {where}")
        indices, vals = value["indices"], value["values"]
        if not isinstance(indices, list) or not all(type(i) is int and 0 <= i < 2**32 for i in indices):
            raise MalformedJson(f"{where}.indices: expected a list of unsigned 32-bit integers")
        if not isinstance(vals, list) or not all(type(v) in (float, int) for v in vals):
            raise MalformedJson(f"{where}.values: expected a list of numbers")
        # Qdrant's validator path and wording, `[{}]` included.
        if len(indices) != len(vals):
            raise ValidationFailed(f"{_validator_path(where, spec)}.values: Validation error: must be the same length as indices [{{}}]")
        if len(set(indices)) != len(indices):
            raise ValidationFailed(f"{_validator_path(where, spec)}.indices: Validation error: must be unique [{{}}]")
        idx = np.asarray(indices, dtype=np.uint32)
        val = np.asarray(vals, dtype=np.float64).astype(np.float32)
        _check_finite(val, f"{where}.values")
        order = np.argsort(idx, kind="stable")
        all_indices.append(idx[order])
        all_values.append(val[order])
        indptr.append(indptr[-1] + len(indices))
    cat_i = np.concatenate(all_indices) if all_indices else np.zeros(0, np.uint32)
    cat_v = np.concatenate(all_values) if all_values else np.zeros(0, np.float32)
    return SparseColumn(rows, indptr, cat_i.astype(np.uint32).tobytes(), cat_v.astype(np.float32).tobytes())


# ---------------------------------------------------------------------------------------------
# Operations


def _named_where(where: Callable[[int, str], str], name: str) -> Callable[[int], str]:
    return lambda i: where(i, name)


def _batch_where(name: str) -> Callable[[int], str]:
    return lambda i: f"batch.vectors.{name}[{i}]"


def _point_where(field: str) -> Callable[[int, str], str]:
    return lambda i, name: f"{field}[{i}].vector" + (f".{name}" if name else "")


def upsert_from_body(body: bytes, config: CollectionConfig) -> tuple[Upsert, Any]:
    """Returns the operation and the raw update_filter (checked by the caller)."""
    upsert_type, _ = _body_types(config)
    request = decode_json(body, upsert_type)
    if request.update_mode is not None and request.update_mode not in UPDATE_MODES:
        raise MalformedJson(f"update_mode: unknown variant `{request.update_mode}`, expected one of {', '.join(UPDATE_MODES)}")
    mode = request.update_mode or "upsert"
    if (request.points is None) == (request.batch is None):
        raise MalformedJson("data did not match any variant of untagged enum PointInsertOperations: expected `points` or `batch`")
    builder = _ColumnBuilder(config)
    if request.points is not None:
        ids = [parse_point_id(p.id, f"points[{i}].id") for i, p in enumerate(request.points)]
        payloads: list[dict[str, Any] | None] | None = [p.payload for p in request.points]
        builder.add_point_vectors([p.vector for p in request.points], _point_where("points"))
    else:
        batch = request.batch
        ids = [parse_point_id(x, f"batch.ids[{i}]") for i, x in enumerate(batch.ids)]
        payloads = batch.payloads
        if payloads is not None and len(payloads) != len(ids):
            raise BadInput(f"number of payloads ({len(payloads)}) does not match number of ids ({len(ids)})")
        if isinstance(batch.vectors, dict):
            for name, column in batch.vectors.items():
                if not isinstance(column, list) or len(column) != len(ids):
                    raise BadInput(f"number of vectors for `{name}` does not match number of ids ({len(ids)})")
                builder.add_column(name, column, _batch_where(name))
        else:
            if len(batch.vectors) != len(ids):
                raise BadInput(f"number of vectors ({len(batch.vectors)}) does not match number of ids ({len(ids)})")
            builder.add_column(DEFAULT_VECTOR, batch.vectors, lambda i: f"batch.vectors[{i}]", typed=True)
    columns = builder.build(len(ids))
    if payloads is not None:
        for i, payload in enumerate(payloads):
            if payload:
                check_nesting(payload, f"payload of point {i}")
    if payloads is not None and all(p is None for p in payloads):
        payloads = None
    return Upsert(ids, columns, payloads, mode, request.update_filter), request.update_filter


def update_vectors_from_body(body: bytes, config: CollectionConfig) -> tuple[UpdateVectors, Any]:
    _, update_type = _body_types(config)
    request = decode_json(body, update_type)
    if not request.points:
        raise ValidationFailed("points: must contain at least 1 item")
    for i, point in enumerate(request.points):
        if type(point.vector) is dict and not point.vector:
            raise ValidationFailed(f"points[{i}].vector: must specify vectors to update for point")
    builder = _ColumnBuilder(config)
    ids = [parse_point_id(p.id, f"points[{i}].id") for i, p in enumerate(request.points)]
    builder.add_point_vectors([p.vector for p in request.points], _point_where("points"))
    return UpdateVectors(ids, builder.build(len(ids)), request.update_filter), request.update_filter


def finite_vector(values: Any, where: str) -> np.ndarray:
    """A query vector as float32, refusing what float32 cannot hold (as upsert does)."""
    array: np.ndarray | None = None
    if type(values) is list:
        # A flat list of numbers (the usual query) converts in one C loop, without numpy's
        # shape and dtype discovery: the same C double -> float cast, inf past float32 range.
        # Anything else in the list (nesting, strings, None) takes numpy's way below.
        try:
            array = np.frombuffer(CArray("f", values), dtype=np.float32)
        except TypeError:
            pass
        except OverflowError:  # an integer literal too large even for float64
            array = np.array([np.inf], dtype=np.float32)
    if array is None:
        try:
            with np.errstate(over="ignore"):
                array = np.asarray(values, dtype=np.float32)
        except OverflowError:
            array = np.array([np.inf], dtype=np.float32)
    if not np.isfinite(array).all():
        raise MalformedJson(f"{where}: vector values must be finite numbers within float32 range")
    return array


NUMBER_TYPES = frozenset((int, float))  # exact types: a JSON bool is not a number


def all_numbers(values: list[Any]) -> bool:
    """Every element is an int or a float. One pass in C (map(type) + a set lookup), not a
    Python call per element: a 128-dim query costs ~3 us instead of ~10 us."""
    return NUMBER_TYPES.issuperset(map(type, values))
