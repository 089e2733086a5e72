"""Each write endpoint as a prepared write: validated now, turned into Operations under the
collection's submit lock (filters and existence checks then see exactly the state the op follows)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import msgspec

from pydrant.collection.collection import Collection
from pydrant.collection.config import decode_model
from pydrant.collection.convert import parse_ids, update_vectors_from_body, upsert_from_body
from pydrant.collection.operations import (
    ClearPayload,
    CreateFieldIndex,
    DeleteFieldIndex,
    DeletePayload,
    DeletePoints,
    DeleteVectors,
    Operation,
    OverwritePayload,
    SetPayload,
)
from pydrant.errors import BadInput, ValidationFailed
from pydrant.models.ids import PointId
from pydrant.models.nesting import check_nesting
from pydrant.models.points import (
    CreateIndexBody,
    DeletePayloadBody,
    DeleteVectorsBody,
    SelectorBody,
    SetPayloadBody,
)
from pydrant.segment.filtering.compile import compile_filter


@dataclass(frozen=True)
class PreparedWrite:
    build: Callable[[], Sequence[Operation]]
    needs_current_state: bool = False


def _selector(collection: Collection, points: Any, raw_filter: Any, what: str = "points") -> tuple[list[PointId] | None, Any]:
    """Ids or a compiled filter, exactly one of them."""
    if points is not None and raw_filter is not None:
        raise BadInput(f"either `{what}` or `filter` must be given, not both")
    if points is None and raw_filter is None:
        raise BadInput(f"either `{what}` or `filter` must be given")
    strict = collection.config.strict
    if points is not None:
        ids = parse_ids(points, what)
        if strict is not None:
            strict.selection(collection, ids, None)
        return ids, None
    compiled = compile_filter(raw_filter, "filter")
    if strict is not None:
        strict.selection(collection, None, raw_filter, compiled)
    return None, compiled


def _ids_now(collection: Collection, ids: list[PointId] | None, compiled: Any) -> list[PointId]:
    if ids is not None:
        return ids
    return collection.holder.matching_ids(compiled)


def prepare_upsert(collection: Collection, body: bytes) -> PreparedWrite:
    operation, update_filter = upsert_from_body(body, collection.config)
    if update_filter is not None:
        compile_filter(update_filter, "update_filter")  # reject a bad filter before logging
    if collection.config.strict is not None:
        collection.config.strict.upsert(collection, operation)
    return PreparedWrite(lambda: [operation])


def prepare_delete(collection: Collection, body: Any) -> PreparedWrite:
    request = decode_model(body, SelectorBody)
    ids, compiled = _selector(collection, request.points, request.filter)
    if ids is not None:
        return PreparedWrite(lambda: [DeletePoints(ids)])
    return PreparedWrite(lambda: [DeletePoints(_ids_now(collection, None, compiled))], needs_current_state=True)


def _by_selector(collection: Collection, ids: list[PointId] | None, compiled: Any, make: Callable[[list[PointId]], Operation]) -> PreparedWrite:
    """By ids: logged as given (missing ids are reported by the apply, after the others were
    written, as Qdrant does). By filter: resolved to ids against the current state."""
    if ids is not None:
        return PreparedWrite(lambda: [make(ids)])
    return PreparedWrite(lambda: [make(_ids_now(collection, None, compiled))], needs_current_state=True)


def prepare_set_payload(collection: Collection, body: Any, overwrite: bool = False) -> PreparedWrite:
    request = decode_model(body, SetPayloadBody)
    check_nesting(request.payload, "payload")
    ids, compiled = _selector(collection, request.points, request.filter)
    if overwrite:
        return _by_selector(collection, ids, compiled, lambda t: OverwritePayload(t, request.payload))
    if request.key is not None and not request.key:
        raise ValidationFailed("key: must not be empty")
    return _by_selector(collection, ids, compiled, lambda t: SetPayload(t, request.payload, request.key))


def prepare_delete_payload(collection: Collection, body: Any) -> PreparedWrite:
    request = decode_model(body, DeletePayloadBody)
    ids, compiled = _selector(collection, request.points, request.filter)
    return _by_selector(collection, ids, compiled, lambda t: DeletePayload(t, request.keys))


def prepare_clear_payload(collection: Collection, body: Any) -> PreparedWrite:
    request = decode_model(body, SelectorBody)
    ids, compiled = _selector(collection, request.points, request.filter)
    return _by_selector(collection, ids, compiled, lambda t: ClearPayload(t))


def prepare_update_vectors(collection: Collection, body: bytes) -> PreparedWrite:
    operation, update_filter = update_vectors_from_body(body, collection.config)
    if update_filter is not None:
        compile_filter(update_filter, "update_filter")
    if collection.config.strict is not None:
        collection.config.strict.update_vectors(collection, operation)

    return PreparedWrite(lambda: [operation])


def prepare_delete_vectors(collection: Collection, body: Any) -> PreparedWrite:
    request = decode_model(body, DeleteVectorsBody)
    for name in request.vector:
        collection.config.vector(name)
    ids, compiled = _selector(collection, request.points, request.filter)
    return _by_selector(collection, ids, compiled, lambda t: DeleteVectors(t, list(request.vector)))


def prepare_create_index(collection: Collection, body: Any) -> PreparedWrite:
    request = decode_model(body, CreateIndexBody)
    if not request.field_name:
        raise ValidationFailed("field_name: must not be empty")
    if request.field_schema is None:
        raise BadInput("field_schema is required: pydrant does not infer index types from data")
    from pydrant.segment.payload_index import make_field_index

    make_field_index(request.field_name, request.field_schema)  # validates the schema
    if collection.config.strict is not None:
        collection.config.strict.payload_index(collection, request.field_name)
    return PreparedWrite(lambda: [CreateFieldIndex(request.field_name, msgspec.to_builtins(request.field_schema))])


def prepare_delete_index(collection: Collection, field_name: str) -> PreparedWrite:
    return PreparedWrite(lambda: [DeleteFieldIndex(field_name)])
