"""Query API bodies parsed into query trees: each node's query form checked for shape (vector
inputs stay raw JSON until they are resolved against the collection's vectors)."""

from __future__ import annotations

from typing import Any

from pydrant.collection.config import DEFAULT_VECTOR, decode_model
from pydrant.collection.convert import all_numbers
from pydrant.collection.formula import parse_formula
from pydrant.collection.mmr import DEFAULT_DIVERSITY, MAX_MMR_CANDIDATES
from pydrant.errors import BadInput, BadRequest, MalformedJson, Unsupported, ValidationFailed
from pydrant.models.ids import parse_point_id
from pydrant.models.query import (
    DEFAULT_LIMIT,
    Context,
    Discover,
    Formula,
    Fusion,
    Mmr,
    Nearest,
    OrderBy,
    PrefetchBody,
    QueryForm,
    QueryNode,
    Recommend,
    RelevanceFeedback,
    Sample,
)
from pydrant.segment.filtering.compile import compile_filter

_VECTOR_QUERY_KEYS = ("nearest", "recommend", "discover", "context", "relevance_feedback")
_UNSUPPORTED_QUERY_KEYS = {
    "text": "inference (Document) queries",
    "image": "inference (Image) queries",
    "object": "inference (InferenceObject) queries",
}

def parse_node(body: PrefetchBody, where: str, default_limit: int = DEFAULT_LIMIT) -> QueryNode:
    node = QueryNode(
        query=parse_query(body.query, f"{where}query"),
        using=body.using if body.using is not None else DEFAULT_VECTOR,
        filter=body.filter,
        limit=body.limit if body.limit is not None else default_limit,
        score_threshold=body.score_threshold,
        params=_params(body, where),
        lookup_from=body.lookup_from,
        where=where,
    )
    node.compiled_filter = compile_filter(body.filter, f"{where}filter")  # a bad filter fails before any work
    raw = body.prefetch
    if raw is not None:
        items = raw if isinstance(raw, list) else [raw]
        for i, item in enumerate(items):
            path = f"{where}prefetch[{i}]" if isinstance(raw, list) else f"{where}prefetch"
            child: PrefetchBody = decode_model(item, PrefetchBody, f"$.{path}")
            node.prefetches.append(parse_node(child, f"{path}."))
    if isinstance(node.query, Formula) and not node.prefetches:
        raise BadInput(f"{where}query: a formula query rescores prefetch results: it needs at least one prefetch")
    if isinstance(node.query, Fusion) and node.query.weights is not None and len(node.query.weights) != len(node.prefetches):
        raise BadInput(f"{where}query.rrf.weights: {len(node.query.weights)} weights for {len(node.prefetches)} prefetches")
    return node


def check_tree(node: QueryNode) -> None:
    """Qdrant's checks of each query node, in its words; it runs them after looking up the
    points a query names, so a missing point or collection is reported first."""
    if node.prefetches and node.query is None:
        raise BadRequest("A query is needed to merge the prefetches. Can't have prefetches without defining a query.")
    if node.score_threshold is not None and node.query is None:
        raise BadRequest("A query is needed to use the score_threshold. Can't have score_threshold without defining a query.")
    if node.score_threshold is not None and isinstance(node.query, OrderBy):
        raise BadRequest("Can't use score_threshold with an order_by query.")
    if isinstance(node.query, Fusion) and node.using != DEFAULT_VECTOR:
        raise BadRequest("Fusion queries cannot be combined with the 'using' field.")
    if isinstance(node.query, Fusion) and not node.prefetches:
        raise BadInput(f"{node.where}query: a fusion query needs at least one prefetch")
    for child in node.prefetches:
        check_tree(child)


def _mmr(raw: Any, where: str) -> Mmr | None:
    """A nearest query's `mmr` object (None when absent or null)."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise MalformedJson(f"{where}: expected an object with `diversity` and `candidates_limit`")
    unknown = sorted(set(raw) - {"diversity", "candidates_limit"})
    if unknown:
        raise MalformedJson(f"{where}: unknown field `{unknown[0]}`, expected `diversity` or `candidates_limit`")
    diversity, limit = raw.get("diversity"), raw.get("candidates_limit")
    if diversity is not None:
        if type(diversity) not in (int, float):
            raise MalformedJson(f"{where}.diversity: expected a number")
        if not 0.0 <= diversity <= 1.0:
            raise ValidationFailed(f"{where}.diversity: value {diversity} invalid, must be from 0 to 1")
    if limit is not None:
        if type(limit) is not int or limit < 0:
            raise MalformedJson(f"{where}.candidates_limit: expected a non-negative integer")
        if limit > MAX_MMR_CANDIDATES:
            raise ValidationFailed(f"{where}.candidates_limit: value {limit} invalid, must be {MAX_MMR_CANDIDATES} or less")
    return Mmr(DEFAULT_DIVERSITY if diversity is None else float(diversity), limit)


def _params(body: PrefetchBody, where: str) -> dict[str, Any]:
    if body.params is None:
        return {}
    params = {"hnsw_ef": body.params.hnsw_ef, "exact": body.params.exact}
    corpus = _idf_corpus(body.params.idf, f"{where}params.idf")
    if corpus is not None:
        params["idf_corpus"] = corpus
    return params


def _idf_corpus(raw: Any, where: str) -> Any:
    """The compiled corpus filter of `params.idf` (IDF statistics over the points it matches),
    or None for collection-wide statistics (absent, null or "global"; a null corpus filter
    selects every point too)."""
    if raw is None or raw == "global":
        return None
    if not isinstance(raw, dict) or "corpus" not in raw:
        raise MalformedJson(f'{where}: expected "global" or an object with a "corpus" filter')
    return compile_filter(raw["corpus"], f"{where}.corpus")


def parse_query(raw: Any, where: str) -> QueryForm | None:
    """One QueryInterface value: a bare vector input or one of the query objects."""
    if raw is None:
        return None
    if isinstance(raw, dict):
        if len(raw) == 1 or "nearest" in raw or "formula" in raw:
            # `formula` comes with an optional `defaults` map beside it
            key = next(iter(k for k in raw if k in _VECTOR_QUERY_KEYS or k in _UNSUPPORTED_QUERY_KEYS or k in ("order_by", "fusion", "rrf", "sample", "formula")), None)
        else:
            key = None
        if key is None:
            if "indices" in raw and "values" in raw:
                return Nearest(raw)
            if "nearest" in raw:
                key = "nearest"
            else:
                for name, what in _UNSUPPORTED_QUERY_KEYS.items():
                    if name in raw:  # e.g. a Document: {"text": ..., "model": ...}
                        raise Unsupported(f"{where}: {what}")
                raise ValidationFailed(f"{where}: unknown query variant, keys {sorted(raw)}")
        value = raw[key]
        if key in _UNSUPPORTED_QUERY_KEYS:
            raise Unsupported(f"{where}: {_UNSUPPORTED_QUERY_KEYS[key]}")
        if key == "nearest":
            _check_input(value, f"{where}.nearest")
            return Nearest(value, _mmr(raw.get("mmr"), f"{where}.mmr"))
        if key == "recommend":
            return _recommend(value, f"{where}.recommend")
        if key == "discover":
            if not isinstance(value, dict) or "target" not in value or "context" not in value:
                raise ValidationFailed(f"{where}.discover: expected an object with `target` and `context`")
            _check_input(value["target"], f"{where}.discover.target")
            return Discover(value["target"], _pairs(value["context"], f"{where}.discover.context"))
        if key == "context":
            return Context(_pairs(value, f"{where}.context"))
        if key == "relevance_feedback":
            return _relevance_feedback(value, f"{where}.relevance_feedback")
        if key == "order_by":
            return OrderBy(value)
        if key == "formula":
            return Formula(parse_formula(raw, where))
        if key == "fusion":
            if value not in ("rrf", "dbsf"):
                raise ValidationFailed(f"{where}.fusion: unknown variant `{value}`, expected `rrf` or `dbsf`")
            return Fusion(value)
        if key == "rrf":
            if not isinstance(value, dict):
                raise ValidationFailed(f"{where}.rrf: expected an object")
            k = value.get("k")
            if k is not None and (type(k) is not int or k < 1):
                raise ValidationFailed(f"{where}.rrf.k: expected a positive integer")
            weights = value.get("weights")
            if weights is not None and (not isinstance(weights, list) or not all_numbers(weights)):
                raise ValidationFailed(f"{where}.rrf.weights: expected an array of numbers")
            return Fusion("rrf", 2 if k is None else k, weights)
        if key == "sample":
            if value != "random":
                raise ValidationFailed(f"{where}.sample: unknown variant `{value}`, expected `random`")
            return Sample()
    _check_input(raw, where)
    return Nearest(raw)


INT_TYPES = frozenset((int,))


def _check_input(raw: Any, where: str) -> None:
    """Shape check of a VectorInput (kind and dimension are checked against the vector later)."""
    if type(raw) is int or isinstance(raw, str):
        parse_point_id(raw, where)
        return
    if isinstance(raw, list):
        if raw and isinstance(raw[0], list):
            if not all(isinstance(r, list) and all_numbers(r) for r in raw):
                raise ValidationFailed(f"{where}: expected a multivector (array of arrays of numbers)")
        elif not all_numbers(raw):
            raise ValidationFailed(f"{where}: expected a vector (array of numbers)")
        return  # an empty one fails the dimension check, a 400 as in Qdrant
    if isinstance(raw, dict):
        if "indices" in raw and "values" in raw:
            if not isinstance(raw["indices"], list) or not isinstance(raw["values"], list):
                raise ValidationFailed(f"{where}: sparse vector indices and values must be arrays")
            return
        for key, what in _UNSUPPORTED_QUERY_KEYS.items():
            if key in raw:
                raise Unsupported(f"{where}: {what}")
    raise ValidationFailed(f"{where}: expected a vector, a sparse vector, a multivector or a point id")


def _recommend(value: Any, where: str) -> Recommend:
    if not isinstance(value, dict):
        raise ValidationFailed(f"{where}: expected an object")
    positive = value.get("positive") or []
    negative = value.get("negative") or []
    if not isinstance(positive, list) or not isinstance(negative, list):
        raise ValidationFailed(f"{where}: positive and negative must be arrays")
    for i, v in enumerate(positive):
        _check_input(v, f"{where}.positive[{i}]")
    for i, v in enumerate(negative):
        _check_input(v, f"{where}.negative[{i}]")
    strategy = value.get("strategy") or "average_vector"
    if strategy not in ("average_vector", "best_score", "sum_scores"):
        raise ValidationFailed(f"{where}.strategy: unknown variant `{strategy}`, expected one of average_vector, best_score, sum_scores")
    if strategy == "average_vector" and not positive:
        raise BadInput(f"{where}.positive: at least one positive example is required for the average_vector strategy")
    if not positive and not negative:
        raise BadInput(f"{where}: no positive or negative examples given")
    return Recommend(positive, negative, strategy)  # type: ignore[arg-type]  # checked against STRATEGIES above


def _pairs(raw: Any, where: str) -> list[tuple[Any, Any]]:
    if raw is None:
        return []
    items = raw if isinstance(raw, list) else [raw]
    out = []
    for i, pair in enumerate(items):
        at = f"{where}[{i}]" if isinstance(raw, list) else where
        if not isinstance(pair, dict) or "positive" not in pair or "negative" not in pair:
            raise ValidationFailed(f"{at}: expected an object with `positive` and `negative`")
        _check_input(pair["positive"], f"{at}.positive")
        _check_input(pair["negative"], f"{at}.negative")
        out.append((pair["positive"], pair["negative"]))
    return out


def _relevance_feedback(raw: Any, where: str) -> RelevanceFeedback:
    if not isinstance(raw, dict) or not {"target", "feedback", "strategy"} <= set(raw):
        raise MalformedJson(f"{where}: expected an object with `target`, `feedback` and `strategy`")
    _check_input(raw["target"], f"{where}.target")
    feedback = raw["feedback"]
    if not isinstance(feedback, list):
        raise MalformedJson(f"{where}.feedback: expected an array of {{\"example\": ..., \"score\": ...}}")
    if not feedback:
        raise ValidationFailed(f"{where}.feedback: feedback elements must be non-empty")
    items = []
    for i, item in enumerate(feedback):
        at = f"{where}.feedback[{i}]"
        if not isinstance(item, dict) or "example" not in item or type(item.get("score")) not in (int, float):
            raise MalformedJson(f"{at}: expected an object with `example` and a numeric `score`")
        _check_input(item["example"], f"{at}.example")
        items.append((item["example"], float(item["score"])))
    strategy = raw["strategy"]
    naive = strategy.get("naive") if isinstance(strategy, dict) and set(strategy) == {"naive"} else None
    if not isinstance(naive, dict) or not {"a", "b", "c"} <= set(naive) or not all(type(naive[k]) in (int, float) for k in "abc"):
        raise MalformedJson(f"{where}.strategy: expected {{\"naive\": {{\"a\": <number>, \"b\": <number>, \"c\": <number>}}}}")
    if naive["b"] < 0:  # Qdrant's validator prints both as floats
        raise ValidationFailed(f"{where}.strategy.naive.b: value {float(naive['b'])!r} invalid, must be 0.0 or larger")
    return RelevanceFeedback(raw["target"], items, float(naive["a"]), float(naive["b"]), float(naive["c"]))
