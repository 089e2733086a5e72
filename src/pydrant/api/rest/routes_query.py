"""Query API endpoints: query, query batch, query groups, distance matrix; and the legacy
search, recommend and discover endpoints Qdrant still serves (collection/legacy_search.py)."""

from __future__ import annotations

from typing import Any, Callable

from pydrant.api.rest.context import RequestContext
from pydrant.collection import legacy_search, query
from pydrant.collection.collection import Collection
from pydrant.collection.query import Resolver
from pydrant.collection.config import decode_model
from pydrant.errors import ValidationFailed, name_validation_paths
from pydrant.models.query import QueryBatchBody


def query_points(ctx: RequestContext) -> Any:
    # A plain `try` (free when nothing is raised): this is the search hot path.
    try:
        return query.query_points(ctx.collection(), ctx.json_object(), ctx.toc.get)
    except ValidationFailed as exc:
        name_validation_paths(exc, "internal")  # as Qdrant's QueryRequest names its fields
        raise


def query_batch(ctx: RequestContext) -> Any:
    body: QueryBatchBody = decode_model(ctx.json_object(), QueryBatchBody)
    try:
        return query.query_batch(ctx.collection(), body.searches, ctx.toc.get)
    except ValidationFailed as exc:
        name_validation_paths(exc, "internal")
        raise


def query_groups(ctx: RequestContext) -> Any:
    return query.query_groups(ctx.collection(), ctx.json_object(), ctx.toc.get)


def matrix_pairs(ctx: RequestContext) -> Any:
    return query.matrix_pairs(ctx.collection(), ctx.json_object())


def matrix_offsets(ctx: RequestContext) -> Any:
    return query.matrix_offsets(ctx.collection(), ctx.json_object())


# ---- legacy endpoints: absent from the 1.19 contract, still served by Qdrant ----------------


def _legacy(run: Callable[[Any, Collection, Any, Resolver], Any], kind: Any) -> Callable[[RequestContext], Any]:
    def handler(ctx: RequestContext) -> Any:
        return run(kind, ctx.collection(), ctx.json_object(), ctx.toc.get)

    return handler


search = _legacy(legacy_search.points, legacy_search.SEARCH)
search_batch = _legacy(legacy_search.batch, legacy_search.SEARCH)
search_groups = _legacy(legacy_search.groups, legacy_search.SEARCH)
recommend = _legacy(legacy_search.points, legacy_search.RECOMMEND)
recommend_batch = _legacy(legacy_search.batch, legacy_search.RECOMMEND)
recommend_groups = _legacy(legacy_search.groups, legacy_search.RECOMMEND)
discover = _legacy(legacy_search.points, legacy_search.DISCOVER)
discover_batch = _legacy(legacy_search.batch, legacy_search.DISCOVER)
