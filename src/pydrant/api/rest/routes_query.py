"""Query API endpoints: query, query batch, query groups, distance matrix."""

from __future__ import annotations

from typing import Any

from pydrant.api.rest.context import RequestContext
from pydrant.collection import query
from pydrant.collection.config import decode_model
from pydrant.models.query import QueryBatchBody


def query_points(ctx: RequestContext) -> Any:
    return query.query_points(ctx.collection(), ctx.json_object(), ctx.toc.get)


def query_batch(ctx: RequestContext) -> Any:
    body: QueryBatchBody = decode_model(ctx.json_object(), QueryBatchBody)
    return query.query_batch(ctx.collection(), body.searches, ctx.toc.get)


def query_groups(ctx: RequestContext) -> Any:
    return query.query_groups(ctx.collection(), ctx.json_object(), ctx.toc.get)


def matrix_pairs(ctx: RequestContext) -> Any:
    return query.matrix_pairs(ctx.collection(), ctx.json_object())


def matrix_offsets(ctx: RequestContext) -> Any:
    return query.matrix_offsets(ctx.collection(), ctx.json_object())
