"""Qdrant's legacy search endpoints (`/points/search`, `/recommend`, `/discover` and their batch
and group forms): deprecated and left out of the 1.19 contract, but still served by Qdrant and
still called by older clients. Each body is checked in its own terms, rewritten as a Query API
body and run by the query engine, so both APIs share one implementation of every search."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any, Callable, Literal

from msgspec import Meta

from pydrant.collection import query
from pydrant.collection.collection import Collection
from pydrant.collection.config import decode_model
from pydrant.collection.convert import all_numbers
from pydrant.errors import BadRequest, MalformedJson, PydrantError, validation_paths_under
from pydrant.models.points import Body
from pydrant.models.query import PositiveInt

NonNegativeInt = Annotated[int, Meta(ge=0)]

# Fields search and recommend bodies share with the Query API, passed through unchanged (the
# query body reads `with_vectors` as Qdrant's alias of `with_vector` itself).
_SHARED = ("filter", "params", "with_payload", "with_vector", "with_vectors", "score_threshold", "shard_key")


class Paged(Body):
    """The page of a plain (ungrouped) search, recommend or discover body."""

    limit: PositiveInt
    offset: NonNegativeInt | None = None


class Grouping(Body):
    """The grouping of a search or recommend groups body (no defaults, unlike the Query API)."""

    group_by: Annotated[str, Meta(min_length=1)]
    group_size: PositiveInt
    limit: PositiveInt


class Examples(Body):
    positive: list[Any] = []
    negative: list[Any] = []
    strategy: Literal["average_vector", "best_score", "sum_scores"] | None = None
    using: str | None = None


class ContextPairBody(Body):
    positive: Any
    negative: Any


class DiscoverBody(Body):
    target: Any = None
    context: list[ContextPairBody] | None = None
    using: str | None = None


class BatchBody(Body):
    searches: list[Any]


_PAGE = ("limit", "offset")
_GROUPS = ("limit", "group_by", "group_size", "with_lookup")


def _object(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise MalformedJson(f"{where.rstrip('.') or 'body'}: expected a JSON object")
    return raw


def _page(raw: dict[str, Any], where: str, grouped: bool) -> tuple[dict[str, Any], tuple[str, ...]]:
    """Check the page or grouping fields; -> (body with `limit` set, fields to pass on)."""
    if grouped:  # Qdrant flattens these from a struct of their own
        decode_model(raw, Grouping, "$.group_request")
        return raw, _GROUPS
    # `top` is Qdrant's old name of `limit` in search, recommend and discover bodies.
    if "limit" not in raw and "top" in raw:
        raw = {**raw, "limit": raw["top"]}
    decode_model(raw, Paged, _path(where))
    return raw, _PAGE


def _path(where: str) -> str:
    return f"$.{where.rstrip('.')}" if where else ""


def _shared(raw: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {key: raw[key] for key in (*_SHARED, *fields) if key in raw}


def _named_vector(raw: Any, where: str) -> tuple[Any, str | None]:
    """A NamedVectorStruct: a bare dense vector (the default vector), or {name, vector} with a
    dense or sparse vector. -> (query vector, vector name)."""
    if isinstance(raw, list):
        if not all_numbers(raw):
            raise MalformedJson(f"{where}: expected an array of numbers (the legacy search takes no multivectors)")
        return raw, None
    if isinstance(raw, dict) and isinstance(raw.get("name"), str) and "vector" in raw:
        vector = raw["vector"]
        if isinstance(vector, list) and all_numbers(vector):
            return vector, raw["name"]
        if isinstance(vector, dict) and "indices" in vector and "values" in vector:
            return {"indices": vector["indices"], "values": vector["values"]}, raw["name"]
    if raw is None:
        raise MalformedJson(f"{where}: missing field `vector`")
    raise MalformedJson(f"{where}: expected an array of numbers, or {{\"name\": ..., \"vector\": ...}} with a dense or sparse vector")


def _search_query(raw: Any, where: str, *, grouped: bool = False) -> dict[str, Any]:
    raw, fields = _page(_object(raw, where), where, grouped)
    vector, using = _named_vector(raw.get("vector"), f"{where}vector")
    body = _shared(raw, fields)
    body.update(query={"nearest": vector}, using=using)
    return body


def _recommend_query(raw: Any, where: str, *, grouped: bool = False) -> dict[str, Any]:
    raw, fields = _page(_object(raw, where), where, grouped)
    examples: Examples = decode_model(raw, Examples, _path(where))
    strategy = examples.strategy or "average_vector"
    # Qdrant's legacy checks, in its words (the Query API words these differently).
    if strategy == "average_vector" and not examples.positive:
        raise BadRequest("At least one positive vector ID required with this strategy")
    if not examples.positive and not examples.negative:
        raise BadRequest("At least one positive or negative vector ID required with this strategy")
    body = _shared(raw, (*fields, "lookup_from"))
    recommend = {"positive": examples.positive, "negative": examples.negative, "strategy": strategy}
    body.update(query={"recommend": recommend}, using=examples.using)
    return body


def _discover_query(raw: Any, where: str) -> dict[str, Any]:
    raw, fields = _page(_object(raw, where), where, grouped=False)  # Qdrant has no discover groups
    discover: DiscoverBody = decode_model(raw, DiscoverBody, _path(where))
    pairs = [{"positive": pair.positive, "negative": pair.negative} for pair in discover.context or []]
    if discover.target is None and not pairs:
        raise BadRequest("target and/or context_pairs must be specified")
    # Discover bodies have no score threshold and no `with_vectors` alias in Qdrant.
    body = {key: raw[key] for key in ("filter", "params", "with_payload", "with_vector", "shard_key", "lookup_from", *fields) if key in raw}
    # With a target: a discovery search; with only context pairs: a context search.
    search = {"context": pairs} if discover.target is None else {"discover": {"target": discover.target, "context": pairs}}
    body.update(query=search, using=discover.using)
    return body


# The query engine names fields by their place in the Query API body; a legacy caller sent
# other names. `query.recommend.positive[0]` is the body's `positive[0]`, `query` of a search
# its `vector`, and so on.
_QUERY_PATH = re.compile(r"(?<![\w.\]`])((?:searches\[\d+\]\.)?)(query\.recommend\.|query\.discover\.|(?:query(?:\.nearest|\.context)?|using)(?=[:.\[]))")


@contextmanager
def _legacy_field_names(flattened: str, search: bool = False) -> Iterator[None]:
    """Errors in the legacy body's terms; validator paths under the struct Qdrant flattens into
    the body (`search_request.limit`)."""

    def legacy(match: re.Match[str]) -> str:
        prefix, name = match.groups()
        if name in ("query", "query.nearest"):
            return prefix + ("vector" if search else "query")
        if name == "using":
            return prefix + ("vector.name" if search else "using")
        return prefix + ("context" if name == "query.context" else "")

    with validation_paths_under(flattened):
        try:
            yield
        except PydrantError as exc:
            exc.message = _QUERY_PATH.sub(legacy, exc.message)
            raise


@dataclass(frozen=True)
class _Kind:
    """One legacy search family: how its bodies become Query API bodies, and the struct names
    Qdrant's validator puts in front of their fields."""

    rewrite: Callable[..., dict[str, Any]]  # (raw body, where, grouped=...) -> Query API body
    flattened: str
    grouped_flattened: str = ""  # discover has no group form
    search: bool = False  # a search body's `vector` is the query API's `query`


SEARCH = _Kind(_search_query, "search_request", "search_group_request", search=True)
RECOMMEND = _Kind(_recommend_query, "recommend_request", "recommend_group_request")
DISCOVER = _Kind(_discover_query, "discover_request")


def points(kind: _Kind, collection: Collection, raw: Any, resolver: query.Resolver) -> list[dict[str, Any]]:
    """POST /points/search (recommend, discover): [ScoredPoint...]."""
    with _legacy_field_names(kind.flattened, kind.search):
        return query.query_points(collection, kind.rewrite(raw, ""), resolver)["points"]  # type: ignore[no-any-return]


def batch(kind: _Kind, collection: Collection, raw: Any, resolver: query.Resolver) -> list[list[dict[str, Any]]]:
    """POST /points/search/batch (...): one [ScoredPoint...] per entry of `searches`."""
    with _legacy_field_names(kind.flattened, kind.search):
        entries: BatchBody = decode_model(raw, BatchBody)
        searches = [kind.rewrite(entry, f"searches[{i}].") for i, entry in enumerate(entries.searches)]
        return [result["points"] for result in query.query_batch(collection, searches, resolver)]


def groups(kind: _Kind, collection: Collection, raw: Any, resolver: query.Resolver) -> dict[str, Any]:
    """POST /points/search/groups (recommend): {"groups": [...]}."""
    with _legacy_field_names(kind.grouped_flattened, kind.search):
        return query.query_groups(collection, kind.rewrite(raw, "", grouped=True), resolver)
