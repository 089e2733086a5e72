"""The plain nearest query on a short path.

Most queries are one dense vector (bare, or as `{"nearest": [...]}`) against one vector name
with no filter, prefetch or lookup. `answer` recognises exactly that shape and runs the same search as the general path
(a NearestScorer over every segment, then the same ScoredPoint records) without its body
model, query tree and resolution steps, which cost more Python than the search around them.
Anything else, anything malformed included, gets None and takes the general path in
query.py, which also owns every error message. tests/unit/test_plain_query.py checks that
both paths answer alike.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from pydrant.collection.config import DEFAULT_VECTOR
from pydrant.collection.convert import NUMBER_TYPES, all_numbers, finite_vector
from pydrant.collection.read import Projection, scored_points, segment_scored_points
from pydrant.collection.search import NearestScorer, SegmentTop, full_scan_vectors, search_segments_top
from pydrant.errors import PydrantError
from pydrant.models.query import DEFAULT_LIMIT

if TYPE_CHECKING:
    from pydrant.collection.collection import Collection

_KEYS = frozenset(("query", "limit", "offset", "using", "params", "with_payload", "with_vector", "score_threshold",
                   "filter", "prefetch", "lookup_from", "shard_key"))
_NULL_ONLY = ("filter", "prefetch", "lookup_from", "shard_key")  # present only as null
_PARAM_KEYS = frozenset(("hnsw_ef", "exact"))
_NEAREST_KEYS = frozenset(("nearest", "mmr"))


def answer(collection: Collection, raw: Any) -> dict[str, Any] | None:
    """{"points": [...]} for a plain dense nearest query, or None for any other body."""
    if type(raw) is not dict or not _KEYS.issuperset(raw):
        return None
    for key in _NULL_ONLY:
        if raw.get(key) is not None:
            return None
    vector = raw.get("query")
    if type(vector) is dict and vector.keys() <= _NEAREST_KEYS and vector.get("mmr") is None:
        vector = vector.get("nearest")  # {"nearest": [...]}: how gRPC and qdrant-client's models send it
    limit = raw.get("limit", DEFAULT_LIMIT)
    offset = raw.get("offset")
    offset = 0 if offset is None else offset
    threshold = _threshold(raw.get("score_threshold"))
    params = _params(raw.get("params"))
    if (
        type(vector) is not list
        or not all_numbers(vector)
        or type(limit) is not int or limit < 1
        or type(offset) is not int or offset < 0
        or params is None
        or threshold is _NOT_PLAIN
    ):
        return None
    using = raw.get("using")
    name = DEFAULT_VECTOR if using is None else using
    if type(name) is not str:
        return None
    spec = collection.config.vectors.get(name)
    if spec is None or spec.kind != "dense" or len(vector) != spec.size:
        return None
    try:
        query = finite_vector(vector, "query")
        with_payload, with_vector = raw.get("with_payload"), raw.get("with_vector")
        projection = Projection(collection, False if with_payload is None else with_payload,
                                False if with_vector is None else with_vector)
    except PydrantError:
        return None
    with collection.reading():
        scorer = NearestScorer(spec, query, params, full_scan_vectors(collection.config, spec))
        found = search_segments_top(list(collection.holder.segments), spec.name, scorer, None, limit + offset, threshold)
        if isinstance(found, SegmentTop):
            if not projection.vector_names:
                return {"points": segment_scored_points(projection, found, offset)}
            found = found.hits()
        return {"points": scored_points(projection, found[offset:])}


_NOT_PLAIN = object()


def _threshold(raw: Any) -> Any:
    """score_threshold as a float (None when absent), or _NOT_PLAIN: not a number, or an
    integer literal too large for a float (the general path reports those)."""
    if raw is None:
        return None
    if type(raw) not in NUMBER_TYPES:
        return _NOT_PLAIN
    try:
        value = float(raw)
    except OverflowError:
        return _NOT_PLAIN
    return value if math.isfinite(value) else _NOT_PLAIN


def _params(raw: Any) -> dict[str, Any] | None:
    """Search params as the general path passes them, or None when not plain ones."""
    if raw is None:
        return {}
    if type(raw) is not dict or not _PARAM_KEYS.issuperset(raw):
        return None
    ef, exact = raw.get("hnsw_ef"), raw.get("exact", False)
    if (ef is not None and (type(ef) is not int or ef < 1)) or type(exact) is not bool:
        return None
    return {"hnsw_ef": ef, "exact": exact}
