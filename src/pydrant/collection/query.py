"""The Query API: resolve a parsed query tree (query_parse.py) against the collection (point ids
to vectors), run prefetches, fuse or re-score them, and format ScoredPoints (also batches,
groups and the distance matrix)."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from pydrant.collection.collection import Collection
from pydrant.collection.config import DEFAULT_VECTOR, VectorSpec, decode_model
from pydrant.collection.convert import all_numbers, finite_vector
from pydrant.collection.formula import ScoreFormula
from pydrant.collection.mmr import rerank as mmr_rerank
from pydrant.collection.order_by import ordered_points
from pydrant.collection.plain_query import answer as plain_answer
from pydrant.collection.query_parse import INT_TYPES, check_tree, parse_node
from pydrant.collection.read import Projection, filter_flat_mask, id_order, scored_points
from pydrant.collection.search import (
    ExampleScorer,
    Hit,
    NearestScorer,
    full_scan_vectors,
    search_segments,
    sparse_idf_stats,
)
from pydrant.collection.strict_mode import query_cost
from pydrant.errors import BadInput, MalformedJson, NotFound, ValidationFailed
from pydrant.models.ids import PointId, id_sort_key, parse_point_id
from pydrant.models.query import (
    DEFAULT_GROUP_SIZE,
    DEFAULT_LIMIT,
    DEFAULT_MATRIX_LIMIT,
    DEFAULT_MATRIX_SAMPLE,
    Context,
    Discover,
    Formula,
    Fusion,
    Nearest,
    OrderBy,
    QueryBody,
    QueryForm,
    QueryGroupsBody,
    QueryNode,
    Recommend,
    RelevanceFeedback,
    Sample,
)
from pydrant.segment.filtering.compile import compile_filter
from pydrant.segment.filtering.paths import checked_path, values_at
from pydrant.segment.segment import Segment
from pydrant.segment.float_json import json_float_list
from pydrant.segment.vectors.sparse import canonical

Resolver = Callable[[str], Collection]
"""Collection name (or alias) -> Collection, for lookup_from and with_lookup."""

# ---- resolving vector inputs -----------------------------------------------------------------


@dataclass
class Resolved:
    """A node's query with every vector input turned into a checked value of its vector."""

    node: QueryNode
    spec: VectorSpec | None
    kind: str  # none | nearest | best_score | sum_scores | discover | context | feedback | fusion | formula | order_by | sample
    vectors: dict[str, Any] = field(default_factory=dict)
    exclude: list[PointId] = field(default_factory=list)
    children: list["Resolved"] = field(default_factory=list)


def _is_id(raw: Any) -> bool:
    return type(raw) is int or isinstance(raw, str)


class _Lookup:
    """Turns point ids into stored vectors of the lookup collection (one read per id). Checks
    in Qdrant's order: the collection, then each point, then the vector's name."""

    def __init__(self, collection: Collection, resolver: Resolver, node: QueryNode, spec: VectorSpec) -> None:
        self.same = node.lookup_from is None
        self.collection = collection if self.same else lookup_collection(resolver, node.lookup_from.collection)  # type: ignore[union-attr]
        self.same = self.same or self.collection is collection
        self.name = node.using if node.lookup_from is None or node.lookup_from.vector is None else node.lookup_from.vector
        self.spec = spec
        self.where = f"{node.where}lookup_from.vector"
        self.checked = False
        self.mentioned: list[PointId] = []

    def _check_source(self) -> None:
        if self.checked:
            return
        try:
            source = self.collection.config.vector(self.name)
        except BadInput:
            raise BadInput(f"Not existing vector name error: {self.name}") from None  # empty for the default, as Qdrant
        spec = self.spec
        if (source.kind == "sparse") != (spec.kind == "sparse") or (spec.kind != "sparse" and source.size != spec.size):
            raise BadInput(f"{self.where}: vector `{self.name}` of collection `{self.collection.name}` does not match the searched vector `{spec.name}`")
        self.checked = True

    def vector(self, raw: Any, where: str) -> Any:
        point_id = parse_point_id(raw, where)
        with self.collection.reading():
            located = self.collection.holder.locate([point_id])[0]
            if located is None:
                raise NotFound(f"No point with id {point_id} found")
            self._check_source()
            segment, offset = located
            storage = segment.vectors.get(self.name)
            value = storage.get_json(np.asarray([offset])) [0] if storage is not None else None
        if value is None:  # Qdrant's words
            raise NotFound(f"Vector with name {json.dumps(self.name)} for point")
        if self.same:
            self.mentioned.append(point_id)
        return value


def lookup_collection(resolver: Resolver, name: str) -> Collection:
    """The collection a `lookup_from` names; a missing one is a 404 in Qdrant's words."""
    try:
        return resolver(name)
    except NotFound:
        raise NotFound(f"Collection {name} not found") from None


def _dimension_error(spec: VectorSpec, got: int) -> str:
    return f"Vector dimension error: expected dim: {spec.size}, got {got}"  # Qdrant's words


def _value(raw: Any, spec: VectorSpec, where: str) -> Any:
    """Check a literal vector against the vector it searches and convert it."""
    if spec.kind == "sparse":
        if not isinstance(raw, dict):
            raise BadInput(f"{where}: vector `{spec.name}` is sparse, expected {{\"indices\": [...], \"values\": [...]}}")
        if not INT_TYPES.issuperset(map(type, raw["indices"])) or not all_numbers(raw["values"]):
            raise ValidationFailed(f"{where}: sparse vector indices must be integers and values numbers")
        if len(set(raw["indices"])) != len(raw["indices"]):
            raise ValidationFailed(f"{where}.indices: must be unique")
        if len(raw["indices"]) != len(raw["values"]):
            raise ValidationFailed(f"{where}.values: must be the same length as indices")
        return canonical(raw["indices"], finite_vector(raw["values"], where))
    if isinstance(raw, dict):
        raise BadInput(f"{where}: vector `{spec.name or '(default vector)'}` is dense, got a sparse vector")
    rows = raw if raw and isinstance(raw[0], list) else None
    if spec.kind == "multi":
        matrix = rows if rows is not None else [raw]
        for row in matrix:
            if len(row) != spec.size:
                raise BadInput(_dimension_error(spec, len(row)))
        if not matrix:
            raise BadInput(f"{where}: multivector must have at least one row")
        return finite_vector(matrix, where)
    if rows is not None:
        raise BadInput(f"{where}: vector `{spec.name or '(default vector)'}` is not a multivector, got an array of arrays")
    if len(raw) != spec.size:
        raise BadInput(_dimension_error(spec, len(raw)))
    return finite_vector(raw, where)


def resolve(node: QueryNode, collection: Collection, resolver: Resolver) -> Resolved:
    """Resolve a node and its prefetches (reads other collections before the search starts)."""
    query = node.query
    children = [resolve(child, collection, resolver) for child in node.prefetches]
    if node.lookup_from is not None:
        lookup_collection(resolver, node.lookup_from.collection)  # as Qdrant: a 404, needed or not
    if query is None:
        return Resolved(node, None, "none", children=children)
    if isinstance(query, Fusion):
        return Resolved(node, None, "fusion", children=children)
    if isinstance(query, Formula):
        return Resolved(node, None, "formula", children=children)
    if isinstance(query, OrderBy):
        return Resolved(node, None, "order_by", children=children)
    if isinstance(query, Sample):
        return Resolved(node, None, "sample", children=children)
    spec = _spec(collection, node)
    lookup = _Lookup(collection, resolver, node, spec) if _mentions_ids(query) else None

    def value(raw: Any, where: str) -> Any:
        if _is_id(raw):
            assert lookup is not None  # _mentions_ids saw this id
            return _value(lookup.vector(raw, where), spec, where)
        return _value(raw, spec, where)

    at = f"{node.where}query"
    out = Resolved(node, spec, "nearest", children=children)
    if isinstance(query, Nearest):
        out.vectors["query"] = value(query.vector, at)
    elif isinstance(query, Recommend):
        pos = [value(v, f"{at}.recommend.positive[{i}]") for i, v in enumerate(query.positive)]
        neg = [value(v, f"{at}.recommend.negative[{i}]") for i, v in enumerate(query.negative)]
        if query.strategy == "average_vector":
            out.vectors["query"] = _average(spec, pos, neg)
        else:
            out.kind = query.strategy
            out.vectors.update(positive=pos, negative=neg)
    elif isinstance(query, Discover):
        out.kind = "discover"
        out.vectors["target"] = value(query.target, f"{at}.discover.target")
        out.vectors["pairs"] = [(value(p, f"{at}.discover.context[{i}].positive"), value(n, f"{at}.discover.context[{i}].negative")) for i, (p, n) in enumerate(query.pairs)]
    elif isinstance(query, Context):
        out.kind = "context"
        if not query.pairs:
            raise BadInput(f"{at}.context: at least one context pair is required")
        out.vectors["pairs"] = [(value(p, f"{at}.context[{i}].positive"), value(n, f"{at}.context[{i}].negative")) for i, (p, n) in enumerate(query.pairs)]
    elif isinstance(query, RelevanceFeedback):
        out.kind = "feedback"
        out.vectors["target"] = value(query.target, f"{at}.relevance_feedback.target")
        examples = [(value(v, f"{at}.relevance_feedback.feedback[{i}].example"), score) for i, (v, score) in enumerate(query.feedback)]
        out.vectors["a"] = query.a
        out.vectors["pairs"] = _feedback_pairs(examples, query.b, query.c)
    if lookup is not None:
        out.exclude = list(dict.fromkeys(lookup.mentioned))
    return out


def _feedback_pairs(examples: list[tuple[Any, float]], b: float, c: float) -> list[tuple[Any, Any, float]]:
    """(better example, worse example, weight) for every ordered pair of examples whose
    relevance scores differ, weighted (difference)^b * c; in the order Qdrant forms them."""
    pairs = []
    for i, (better, better_score) in enumerate(examples):
        for j, (worse, worse_score) in enumerate(examples):
            confidence = better_score - worse_score
            if i != j and confidence > 0.0:
                pairs.append((better, worse, confidence**b * c))
    return pairs


def _spec(collection: Collection, node: QueryNode) -> VectorSpec:
    try:
        return collection.config.vector(node.using)
    except BadInput:
        name = node.using or ""  # Qdrant names the default vector with an empty string
        raise BadInput(f"Not existing vector name error: {name}") from None  # Qdrant's words


def _mentions_ids(query: QueryForm) -> bool:
    if isinstance(query, Nearest):
        return _is_id(query.vector)
    if isinstance(query, Recommend):
        return any(_is_id(v) for v in [*query.positive, *query.negative])
    if isinstance(query, (Discover, Context)):
        targets = [query.target] if isinstance(query, Discover) else []
        return any(_is_id(v) for v in [*targets, *(x for pair in query.pairs for x in pair)])
    if isinstance(query, RelevanceFeedback):
        return any(_is_id(v) for v in [query.target, *(example for example, _ in query.feedback)])
    return False


def _average(spec: VectorSpec, pos: list[Any], neg: list[Any]) -> Any:
    """Qdrant's average_vector: avg(positive) + avg(positive) - avg(negative)."""
    if spec.kind == "multi":
        return np.concatenate([*pos, *(-m for m in neg)]).astype(np.float32)
    if spec.kind == "sparse":
        mean_pos = _sparse_mean(pos)
        if not neg:
            return mean_pos
        mean_neg = _sparse_mean(neg)
        idx = np.union1d(mean_pos[0], mean_neg[0])
        p, n = _densify(mean_pos, idx), _densify(mean_neg, idx)
        return idx, (p + p - n).astype(np.float32)
    mean = np.mean(np.stack(pos), axis=0)
    if neg:
        return (mean + mean - np.mean(np.stack(neg), axis=0)).astype(np.float32)
    return mean.astype(np.float32)


def _densify(vec: tuple[np.ndarray, np.ndarray], idx: np.ndarray) -> np.ndarray:
    out = np.zeros(idx.shape[0], dtype=np.float64)
    out[np.searchsorted(idx, vec[0])] = vec[1]
    return out


def _sparse_mean(vectors: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    idx = np.unique(np.concatenate([v[0] for v in vectors])) if vectors else np.zeros(0, np.uint32)
    total = np.zeros(idx.shape[0], dtype=np.float64)
    for v in vectors:
        total += _densify(v, idx)
    return idx, (total / len(vectors)).astype(np.float32)


# ---- execution (under the collection's read lock) ---------------------------------------------


def merge_filters(outer: Any, inner: Any) -> Any:
    """Qdrant's Filter::merge_opts: clauses concatenated field-wise."""
    if outer is None:
        return inner
    if inner is None:
        return outer

    def clause(value: Any) -> list[Any]:
        if value is None:
            return []
        return value if isinstance(value, list) else [value]

    merged: dict[str, Any] = {}
    for key in ("must", "must_not", "should"):
        items = clause(outer.get(key)) + clause(inner.get(key))
        if items or outer.get(key) is not None or inner.get(key) is not None:
            merged[key] = items
    a, b = outer.get("min_should"), inner.get("min_should")
    if a is not None or b is not None:
        if a is None or b is None:
            merged["min_should"] = a if a is not None else b
        else:
            merged["min_should"] = {"conditions": [*a["conditions"], *b["conditions"]], "min_count": max(a["min_count"], b["min_count"])}
    return merged


def _excluding(raw_filter: Any, ids: list[PointId]) -> Any:
    if not ids:
        return raw_filter
    return merge_filters(raw_filter, {"must_not": [{"has_id": ids}]})


class Executor:
    """Runs resolved nodes against one collection; call `run` under its read lock."""

    def __init__(self, collection: Collection) -> None:
        self.collection = collection
        self.segments = list(collection.holder.segments)

    def run(self, res: Resolved, outer_filter: Any, k: int) -> list[Hit]:
        if res.kind == "order_by":
            return [Hit(1.0, segment, offset, segment.ids_at([offset])[0]) for _value, segment, offset in self.ordered(res, outer_filter, k)]
        node = res.node
        raw_filter = _excluding(merge_filters(outer_filter, node.filter), res.exclude)
        if not res.children:
            return self._leaf(res, raw_filter, k, None)
        sources = [self.run(child, raw_filter, child.node.limit) for child in res.children]
        if res.kind == "fusion":
            fused = fuse(node.query, sources, k)  # type: ignore[arg-type]
            if node.score_threshold is not None:
                fused = [h for h in fused if h.score >= node.score_threshold]
            return fused
        if res.kind == "formula":
            formula: ScoreFormula = node.query.compiled  # type: ignore[union-attr]
            return formula.rescore(sources, k, node.score_threshold)
        restrict = _points_of(sources)
        if not restrict:
            return []
        return self._leaf(res, raw_filter, k, restrict)

    def ordered(self, res: Resolved, outer_filter: Any, k: int) -> list[tuple[Any, Segment, int]]:
        """An order_by node's first k (order value, segment, offset): the matching points
        ordered by the payload key, or, with prefetches, the points they found (as Qdrant, the
        node's score_threshold does not apply: every point scores the same)."""
        node = res.node
        raw_filter = _excluding(merge_filters(outer_filter, node.filter), res.exclude)
        restrict = None
        if res.children:
            restrict = _points_of([self.run(child, raw_filter, child.node.limit) for child in res.children])
            if not restrict:
                return []
        compiled = self._compiled(node, raw_filter)
        return ordered_points(self.collection, compiled, node.query.raw, k, restrict)  # type: ignore[union-attr]

    @staticmethod
    def _compiled(node: QueryNode, raw_filter: Any) -> Any:
        # Without an outer filter or excluded ids this is the node's own filter, compiled once.
        return node.compiled_filter if raw_filter is node.filter else compile_filter(raw_filter, f"{node.where}filter")

    def _leaf(self, res: Resolved, raw_filter: Any, k: int, restrict: dict[int, np.ndarray] | None) -> list[Hit]:
        node = res.node
        compiled = self._compiled(node, raw_filter)
        if res.kind == "none":
            return self._by_id(compiled, k, restrict)
        if res.kind == "sample":
            return self._sample(compiled, k, restrict)
        if res.kind == "fusion":
            raise BadInput(f"{node.where}query: a fusion query needs at least one prefetch")
        spec = res.spec
        assert spec is not None  # every vector kind resolved one
        scorer: Any
        if res.kind == "nearest":
            query = res.vectors["query"]
            stats = sparse_idf_stats(self.segments, spec.name, query[0], node.params.get("idf_corpus")) if spec.uses_idf else None
            full_scan = full_scan_vectors(self.collection.config, spec) if spec.kind == "dense" else 0
            scorer = NearestScorer(spec, query, node.params, full_scan, stats)
            mmr = node.query.mmr if isinstance(node.query, Nearest) else None
            if mmr is not None:
                # As Qdrant: candidates_limit (or the node's own limit) nearest points, of
                # which MMR picks k (the caller drops a query's offset from them).
                wanted = node.limit if mmr.candidates_limit is None else mmr.candidates_limit
                found = search_segments(self.segments, spec.name, scorer, compiled, wanted, node.score_threshold, restrict)
                return mmr_rerank(spec, query, found, mmr.diversity, k)
        else:
            sparse_params = None
            if spec.uses_idf:
                corpus = node.params.get("idf_corpus")
                sparse_params = lambda vec: {"idf_stats": sparse_idf_stats(self.segments, spec.name, vec[0], corpus)}  # noqa: E731
            scorer = ExampleScorer(spec, res.kind, res.vectors, sparse_params)
        return search_segments(self.segments, spec.name, scorer, compiled, k, node.score_threshold, restrict)

    def _matching(self, compiled: Any, restrict: dict[int, np.ndarray] | None) -> list[tuple[Any, np.ndarray]]:
        from pydrant.collection.search import candidates_in

        out = []
        for segment in self.segments:
            allowed = None
            if restrict is not None:
                allowed = restrict.get(segment.segment_id)
                if allowed is None:
                    continue
            out.append((segment, candidates_in(segment, compiled, allowed)))
        return out

    def _by_id(self, compiled: Any, k: int, restrict: dict[int, np.ndarray] | None) -> list[Hit]:
        """No query: points in id order, score 1 (as Qdrant's scroll-backed query)."""
        if restrict is None:
            order = id_order(self.collection)
            order.locate_all(self.collection.holder)
            mask = filter_flat_mask(self.collection, order, compiled)
            picked = np.flatnonzero(mask[order.flat])[:k]
            return [
                Hit(1.0, order.segments[int(order.seg[p])], int(order.off[p]), order.id_at(int(p)))
                for p in picked.tolist()
            ]
        hits: list[Hit] = []
        for segment, offsets in self._matching(compiled, restrict):
            hits.extend(Hit(1.0, segment, o, i) for o, i in zip(offsets.tolist(), segment.ids_at(offsets.tolist())))
        hits.sort(key=lambda h: id_sort_key(h.point_id))
        return hits[:k]

    def _sample(self, compiled: Any, k: int, restrict: dict[int, np.ndarray] | None) -> list[Hit]:
        pool = [(segment, o) for segment, offsets in self._matching(compiled, restrict) for o in offsets.tolist()] if restrict is not None else None
        if pool is None:
            parts = self._matching(compiled, None)
            sizes = [offsets.shape[0] for _, offsets in parts]
            total = sum(sizes)
            picks = sorted(random.sample(range(total), min(k, total)))
            bounds = np.cumsum([0] + sizes)
            chosen = []
            for p in picks:
                seg_index = int(np.searchsorted(bounds, p, side="right") - 1)
                segment, offsets = parts[seg_index]
                chosen.append((segment, int(offsets[p - bounds[seg_index]])))
        else:
            chosen = random.sample(pool, min(k, len(pool)))
        random.shuffle(chosen)
        return [Hit(1.0, segment, o, segment.ids_at([o])[0]) for segment, o in chosen]


def _points_of(sources: list[list[Hit]]) -> dict[int, np.ndarray]:
    """The prefetched points, as segment id -> offsets."""
    by_segment: dict[int, list[int]] = {}
    for source in sources:
        for hit in source:
            by_segment.setdefault(hit.segment.segment_id, []).append(hit.offset)
    return {sid: np.asarray(offsets, dtype=np.int64) for sid, offsets in by_segment.items()}


def fuse(query: Fusion, sources: list[list[Hit]], k: int) -> list[Hit]:
    """RRF or DBSF over prefetch results; ties keep first-seen order."""
    scores: dict[PointId, float] = {}
    first: dict[PointId, Hit] = {}
    if query.method == "rrf":
        for i, source in enumerate(sources):
            weight = query.weights[i] if query.weights is not None else 1.0
            for rank, hit in enumerate(source):
                contribution = 0.0 if weight <= 0 else 1.0 / ((rank + 1.0) / weight + query.k - 1.0)
                scores[hit.point_id] = scores.get(hit.point_id, 0.0) + contribution
                first.setdefault(hit.point_id, hit)
    else:
        for source in sources:
            if not source:
                continue
            values = np.asarray([h.score for h in source], dtype=np.float64)
            if len(source) == 1:
                normalised = np.full(1, 0.5)
            else:
                mean = values.mean()
                std = np.sqrt(((values - mean) ** 2).sum() / (len(source) - 1))
                normalised = np.full(len(source), 0.5) if std == 0 else (values - (mean - 3 * std)) / (6 * std)
            for hit, value in zip(source, normalised.tolist()):
                scores[hit.point_id] = scores.get(hit.point_id, 0.0) + value
                first.setdefault(hit.point_id, hit)
    ranked = sorted(scores.items(), key=lambda item: -item[1])[:k]
    return [Hit(score, first[pid].segment, first[pid].offset, pid) for pid, score in ranked]


# ---- public entry points ---------------------------------------------------------------------


def _projection(collection: Collection, with_payload: Any, with_vector: Any) -> Projection:
    return Projection(collection, False if with_payload is None else with_payload, False if with_vector is None else with_vector)


def prepare(collection: Collection, body: QueryBody, resolver: Resolver, where: str = "") -> tuple[Resolved, Projection]:
    node = parse_node(body, where)
    resolved = resolve(node, collection, resolver)
    check_tree(node)
    return resolved, _projection(collection, body.with_payload, body.with_vector)


def query_points(collection: Collection, raw: Any, resolver: Resolver, where: str = "") -> dict[str, Any]:
    """POST /points/query: {"points": [ScoredPoint...]}."""
    # Batch entries too: the short path answers only well-formed plain bodies, so the
    # general path (which names `searches[i]` in its errors) still owns every error.
    strict = collection.config.strict
    if strict is None:
        plain = plain_answer(collection, raw)
        if plain is not None:
            return plain
    prepared = _prepared_query(collection, raw, resolver, where)
    if strict is not None:
        strict.query(collection, raw)
    return _run_query(collection, *prepared)


def _prepared_query(collection: Collection, raw: Any, resolver: Resolver, where: str) -> tuple[Resolved, Projection, int]:
    """A query body parsed and resolved: (tree, projection, offset)."""
    body: QueryBody = decode_model(raw, QueryBody, f"$.{where.rstrip('.')}" if where else "")
    res, projection = prepare(collection, body, resolver, where)
    offset = body.offset or 0
    if res.kind == "sample" and not res.node.prefetches:
        offset = 0  # as Qdrant: a random sample of the collection has no pages to skip
    elif res.kind == "sample":
        # As Qdrant: a sample of prefetched points draws from `offset` more of them, so the
        # page after the skipped points is not empty.
        for child in res.children:
            child.node.limit += offset
    return res, projection, offset


def _run_query(collection: Collection, res: Resolved, projection: Projection, offset: int) -> dict[str, Any]:
    with collection.reading():
        if res.kind == "order_by":
            ordered = Executor(collection).ordered(res, None, res.node.limit + offset)[offset:]
            return {"points": _ordered_points(projection, ordered)}
        hits = Executor(collection).run(res, None, res.node.limit + offset)[offset:]
        return {"points": scored_points(projection, hits)}


def query_batch(collection: Collection, searches: list[Any], resolver: Resolver) -> list[dict[str, Any]]:
    strict = collection.config.strict
    if strict is None:
        return [query_points(collection, raw, resolver, f"searches[{i}].") for i, raw in enumerate(searches)]
    # Under strict mode every entry is checked, then the batch is charged as one read, before
    # any runs: a refused batch neither runs part of itself nor spends tokens.
    strict.search_batch(len(searches))
    prepared = []
    for i, raw in enumerate(searches):
        prepared.append(_prepared_query(collection, raw, resolver, f"searches[{i}]."))
        strict.query(collection, raw, charge=False)
    strict.charge_read(collection, sum(query_cost(raw) for raw in searches))
    return [_run_query(collection, *entry) for entry in prepared]


def _ordered_points(projection: Projection, ordered: list[tuple[Any, Segment, int]]) -> list[dict[str, Any]]:
    """ScoredPoints of an order_by query: each with its order value; all score 1 (as
    qdrant-client's local mode)."""
    out = []
    for value, segment, offset in ordered:
        version = int(segment.tracker.versions[offset])
        out.extend(projection.records(segment, [offset], [{"order_value": value, "score": 1.0, "version": version}]))
    return out


# ---- groups -----------------------------------------------------------------------------------


def _group_ids(payload: Any, path: Any) -> list[Any] | None:
    """Group values of a point: strings and integers; one value of another type drops it."""
    values = values_at(payload, path)
    if not values:
        return None
    if any(type(v) not in (str, int) for v in values):
        return None
    return list(dict.fromkeys(values))


def _widen_prefetch_limits(res: Resolved, limit: int) -> None:
    for child in res.children:
        child.node.limit = limit
        _widen_prefetch_limits(child, limit)


def query_groups(collection: Collection, raw: Any, resolver: Resolver) -> dict[str, Any]:
    """POST /points/query/groups: {"groups": [{id, hits, lookup?}...]}."""
    body: QueryGroupsBody = decode_model(raw, QueryGroupsBody)
    if not body.group_by:
        raise ValidationFailed("group_by: must not be empty")
    path = checked_path(body.group_by, "group_by")
    group_size = body.group_size or DEFAULT_GROUP_SIZE
    n_groups = body.limit or DEFAULT_LIMIT
    res, projection = prepare(collection, body, resolver)
    if collection.config.strict is not None:
        collection.config.strict.groups(collection, raw)
    # An order_by query's groups come in payload order; its points carry their order value.
    order_values: dict[tuple[int, int], Any] | None = {} if res.kind == "order_by" else None
    with collection.reading():
        total = collection.holder.live_count()
        _widen_prefetch_limits(res, max(total, 1))
        k = max(n_groups * group_size * 4, 64)
        while True:
            if order_values is None:
                hits = Executor(collection).run(res, None, k)
            else:
                ordered = Executor(collection).ordered(res, None, k)
                order_values = {(id(segment), offset): value for value, segment, offset in ordered}
                hits = [Hit(1.0, segment, offset, segment.ids_at([offset])[0]) for _, segment, offset in ordered]
            groups = _collect_groups(hits, path, group_size)
            first = list(groups.values())[:n_groups]
            complete = len(first) == n_groups and all(len(g) == group_size for g in first)
            if complete or len(hits) < k or k >= total:
                break
            k = min(k * 4, total)
        out = []
        for group_id, group_hits in list(groups.items())[:n_groups]:
            if order_values is None:
                points = scored_points(projection, group_hits)
            else:
                points = _ordered_points(projection, [(order_values[(id(h.segment), h.offset)], h.segment, h.offset) for h in group_hits])
            out.append({"id": group_id, "hits": points})
    if body.with_lookup is not None:
        _add_lookups(out, body, resolver)
    return {"groups": out}


def _collect_groups(hits: list[Hit], path: Any, group_size: int) -> dict[Any, list[Hit]]:
    groups: dict[Any, list[Hit]] = {}
    for hit in hits:
        values = _group_ids(hit.segment.payloads[hit.offset], path)
        if values is None:
            continue
        for value in values:
            # bool is an int subclass but not a group id; type() keeps 1 and "1" apart too
            key = (type(value).__name__, value)
            members = groups.setdefault(key, [])
            if len(members) < group_size:
                members.append(hit)
    return {key[1]: members for key, members in groups.items()}


def _add_lookups(groups: list[dict[str, Any]], body: QueryGroupsBody, resolver: Resolver) -> None:
    from pydrant.collection.read import retrieve

    lookup = body.with_lookup
    if isinstance(lookup, str):
        name, with_payload, with_vectors = lookup, True, False
    else:
        assert lookup is not None
        name = lookup.collection
        with_payload = True if lookup.with_payload is None else lookup.with_payload
        with_vectors = False if lookup.with_vectors is None else lookup.with_vectors
    target = lookup_collection(resolver, name)
    for group in groups:
        try:
            point_id = parse_point_id(group["id"], "group id")
        except (ValidationFailed, MalformedJson):
            continue  # no point can have this id (a word, a negative number): no `lookup` (Qdrant leaves the field out)
        records = retrieve(target, [point_id], with_payload, with_vectors)
        if records:
            group["lookup"] = records[0]


# ---- distance matrix -------------------------------------------------------------------------


def search_matrix(collection: Collection, raw: Any) -> tuple[list[PointId], list[list[Hit]]]:
    """Sample points matching the filter, then each one's nearest among the other samples.

    Returns the sampled ids (in id order) and, per sample, its hits best first."""
    from pydrant.collection.search import candidates_in
    from pydrant.models.query import SearchMatrixBody

    body: SearchMatrixBody = decode_model(raw, SearchMatrixBody)
    sample, limit = body.sample or DEFAULT_MATRIX_SAMPLE, body.limit or DEFAULT_MATRIX_LIMIT
    using = body.using if body.using is not None else DEFAULT_VECTOR
    spec = _spec(collection, QueryNode(None, using, None, limit, None, {}, None))
    compiled = compile_filter(body.filter, "filter")
    if collection.config.strict is not None:
        collection.config.strict.matrix(collection, raw)
    with collection.reading():
        segments = list(collection.holder.segments)
        pool: list[tuple[Any, int]] = []
        for segment in segments:
            storage = segment.vectors.get(using)
            if storage is None:
                continue
            offsets = candidates_in(segment, compiled, None)
            offsets = offsets[storage.has_mask(segment.size)[offsets]]
            pool.extend((segment, o) for o in offsets.tolist())
        chosen = random.sample(pool, min(sample, len(pool)))
        if len(chosen) < 2:
            return [], []
        points = sorted(((segment.ids_at([o])[0], segment, o) for segment, o in chosen), key=lambda t: id_sort_key(t[0]))
        rows: list[list[Hit]] = []
        for i, (_, segment, offset) in enumerate(points):
            restrict: dict[int, list[int]] = {}
            for j, (_, other, other_offset) in enumerate(points):
                if j != i:
                    restrict.setdefault(other.segment_id, []).append(other_offset)
            vector = _value(segment.vectors[using].get_json(np.asarray([offset]))[0], spec, "sample")
            stats = sparse_idf_stats(segments, using, vector[0]) if spec.uses_idf else None
            scorer = NearestScorer(spec, vector, {"exact": True}, 0, stats)
            rows.append(search_segments(segments, using, scorer, None, limit, None, {k: np.asarray(v) for k, v in restrict.items()}))
        return [p[0] for p in points], rows


def matrix_pairs(collection: Collection, raw: Any) -> dict[str, Any]:
    ids, rows = search_matrix(collection, raw)
    pairs: list[dict[str, Any]] = []
    for point_id, hits in zip(ids, rows):
        scores = json_float_list([h.score for h in hits])
        pairs.extend({"a": point_id, "b": h.point_id, "score": s} for h, s in zip(hits, scores))
    return {"pairs": pairs}


def matrix_offsets(collection: Collection, raw: Any) -> dict[str, Any]:
    ids, rows = search_matrix(collection, raw)
    position = {point_id: i for i, point_id in enumerate(ids)}
    flat = [(r, position[h.point_id], h.score) for r, hits in enumerate(rows) for h in hits]
    return {
        "offsets_row": [f[0] for f in flat],
        "offsets_col": [f[1] for f in flat],
        "scores": json_float_list([f[2] for f in flat]),
        "ids": ids,
    }
