"""Point endpoints: upsert, retrieve, delete, vectors, payload, scroll, count."""

from __future__ import annotations

from typing import Any

import msgspec

from pydrant.api.rest.context import RequestContext, update_result
from pydrant.collection import read, updates
from pydrant.collection.config import decode_model
from pydrant.collection.convert import decode_json
from pydrant.errors import BadInput, MalformedJson, NotFound, PydrantError
from pydrant.models.ids import parse_path_point_id, parse_point_id
from pydrant.models.points import CountBody, FacetBody, RetrieveBody, ScrollBody, check_min
from pydrant.models.query import DEFAULT_LIMIT
from pydrant.segment.filtering.compile import compile_filter


def _write(ctx: RequestContext, prepare: Any, body: Any) -> Any:
    collection = ctx.collection()
    wait, timeout = ctx.write_params()
    prepared = prepare(collection, body)
    result = collection.write(prepared.build, wait, timeout, prepared.needs_current_state)
    return update_result(result)


def upsert_points(ctx: RequestContext) -> Any:
    return _write(ctx, updates.prepare_upsert, ctx.body)


def delete_points(ctx: RequestContext) -> Any:
    return _write(ctx, updates.prepare_delete, ctx.json_object())


def update_vectors(ctx: RequestContext) -> Any:
    return _write(ctx, updates.prepare_update_vectors, ctx.body)


def delete_vectors(ctx: RequestContext) -> Any:
    return _write(ctx, updates.prepare_delete_vectors, ctx.json_object())


def set_payload(ctx: RequestContext) -> Any:
    return _write(ctx, updates.prepare_set_payload, ctx.json_object())


def overwrite_payload(ctx: RequestContext) -> Any:
    return _write(ctx, lambda c, b: updates.prepare_set_payload(c, b, overwrite=True), ctx.json_object())


def delete_payload(ctx: RequestContext) -> Any:
    return _write(ctx, updates.prepare_delete_payload, ctx.json_object())


def clear_payload(ctx: RequestContext) -> Any:
    return _write(ctx, updates.prepare_clear_payload, ctx.json_object())


def retrieve_points(ctx: RequestContext) -> Any:
    collection = ctx.collection()
    request: RetrieveBody = decode_model(ctx.json_object(), RetrieveBody)
    if collection.config.strict is not None:
        collection.config.strict.charge_read(collection, len(request.ids))
    return read.retrieve(collection, request.ids, request.with_payload, request.with_vector)


def get_point(ctx: RequestContext) -> Any:
    collection = ctx.collection()
    point_id = parse_path_point_id(ctx.path["id"])
    if collection.config.strict is not None:
        collection.config.strict.charge_read(collection, 1)
    records = read.retrieve(collection, [point_id], True, True)
    if not records:
        raise NotFound(f"No point with id {point_id} found")
    return records[0]


def scroll_points(ctx: RequestContext) -> Any:
    collection = ctx.collection()
    request: ScrollBody = decode_model(ctx.json_object(), ScrollBody)
    check_min(request.limit, "limit")
    compiled = compile_filter(request.filter, "filter")
    limit = request.limit or DEFAULT_LIMIT
    if collection.config.strict is not None:
        collection.config.strict.listing(collection, limit, request.filter)
    if request.order_by is not None:
        from pydrant.collection.order_by import scroll_ordered

        if request.offset is not None:
            raise BadInput("Cannot use an `offset` when using `order_by`. The alternative for paging is to use `order_by.start_from` and a filter to exclude the IDs that you've already seen for the `order_by.start_from` value")
        points = scroll_ordered(collection, compiled, request.order_by, limit, request.with_payload, request.with_vector)
        return {"points": points, "next_page_offset": None}
    offset = None if request.offset is None else parse_point_id(request.offset, "offset")
    points, next_offset = read.scroll(collection, compiled, offset, limit, request.with_payload, request.with_vector)
    return {"points": points, "next_page_offset": next_offset}


def count_points(ctx: RequestContext) -> Any:
    collection = ctx.collection()
    request: CountBody = decode_model(ctx.json_object(), CountBody)
    compiled = compile_filter(request.filter, "filter")
    if collection.config.strict is not None:
        collection.config.strict.listing(collection, None, request.filter)
    return {"count": read.count(collection, compiled, request.exact)}


# Each takes the collection and the operation's body as JSON bytes (the bytes of the batch body
# it came in): the typed decoders of upsert and update_vectors read them directly, the others
# decode them to Python values as their own endpoints do.
_BATCH_PREPARERS: dict[str, Any] = {
    "upsert": updates.prepare_upsert,
    "delete": lambda c, raw: updates.prepare_delete(c, decode_json(raw)),
    "set_payload": lambda c, raw: updates.prepare_set_payload(c, decode_json(raw)),
    "overwrite_payload": lambda c, raw: updates.prepare_set_payload(c, decode_json(raw), overwrite=True),
    "delete_payload": lambda c, raw: updates.prepare_delete_payload(c, decode_json(raw)),
    "clear_payload": lambda c, raw: updates.prepare_clear_payload(c, decode_json(raw)),
    "update_vectors": updates.prepare_update_vectors,
    "delete_vectors": lambda c, raw: updates.prepare_delete_vectors(c, decode_json(raw)),
}


class _BatchBody(msgspec.Struct):
    operations: list[dict[str, msgspec.Raw]]


def _batch_operations(ctx: RequestContext) -> list[tuple[str, Any]]:
    """(kind, body as JSON bytes) per operation, the batch's shape checked first. One pass
    leaves each operation's body as raw bytes: decoding the batch to Python values and
    encoding upserts back for their typed decoder cost more than the rest of a small batch."""
    operations: list[tuple[tuple[str, Any], ...]]
    try:
        operations = [tuple(op.items()) for op in msgspec.json.decode(ctx.body, type=_BatchBody).operations]
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):  # ValidationError included
        # The body has the wrong shape somewhere: the generic decode says where, as before.
        body = ctx.json_object()
        raw_operations = body.get("operations")
        if not isinstance(raw_operations, list):
            raise MalformedJson("operations: expected a list of update operations") from None
        operations = [tuple((k, msgspec.json.encode(v)) for k, v in op.items()) if isinstance(op, dict) else ()
                      for op in raw_operations]
    for i, operation in enumerate(operations):
        if len(operation) != 1 or operation[0][0] not in _BATCH_PREPARERS:
            raise MalformedJson(f"operations[{i}]: expected an object with exactly one of {', '.join(_BATCH_PREPARERS)}")
    return [operation[0] for operation in operations]


def batch_update(ctx: RequestContext) -> Any:
    """Operations run in order: not a transaction. When one fails, the ones before it stay
    applied and the answer is that error (as Qdrant does).

    Consecutive operations that need no look at the current state (everything but filter
    selections) are logged together (`write_chain`): one write and one fsync, each with its own
    operation id, and the ones after a failing one are skipped, live and on replay alike."""
    collection = ctx.collection()
    wait, timeout = ctx.write_params()
    operations = _batch_operations(ctx)
    results: list[dict[str, Any]] = []
    grouped: list[Any] = []

    def write_group() -> None:
        nonlocal grouped
        if grouped:
            builds, grouped = grouped, []
            results.extend(update_result(r) for r in collection.write_chain(builds, wait, timeout))

    for kind, op_body in operations:
        try:
            prepared = _BATCH_PREPARERS[kind](collection, op_body)
        except PydrantError:
            write_group()  # the operations before the bad one stay applied
            raise
        if prepared.needs_current_state:
            write_group()
            results.append(update_result(collection.write(prepared.build, wait, timeout, True)))
        else:
            grouped.append(prepared.build)
    write_group()
    return results


def facet(ctx: RequestContext) -> Any:
    """Counts of the values of an indexed keyword / integer / bool key among filtered points."""
    collection = ctx.collection()
    request: FacetBody = decode_model(ctx.json_object(), FacetBody)
    check_min(request.limit, "limit")
    compiled = compile_filter(request.filter, "filter")
    limit = request.limit or DEFAULT_LIMIT
    if collection.config.strict is not None:
        collection.config.strict.listing(collection, limit, request.filter)
    return {"hits": read.facet(collection, request.key, compiled, limit)}
