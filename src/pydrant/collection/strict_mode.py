"""Strict mode: a collection whose `strict_mode_config` has `enabled: true` checks each request
against its limits before running it, as Qdrant does. A refused request changes nothing and is
answered 400 `Bad request: <what>. Help: <how to fix it>` (errors.StrictModeViolation).

Enforced: max_query_limit, max_timeout, unindexed_filtering_retrieve / _update (filters,
formula variables and group_by need a payload index able to answer them),
search_max_hnsw_ef, search_allow_exact, search_max_oversampling, search_max_batchsize,
upsert_max_batchsize, max_points_count, max_collection_vector_size_bytes,
max_collection_payload_size_bytes, filter_max_conditions, condition_max_size,
multivector_config.max_vectors, sparse_config.max_length, max_payload_index_count, a graph for
vector searches when search_allow_exact is off (hnsw m > 0, or a tenant filter and payload_m), and the
read / write rate limits (rate_limit.py; HTTP 429). max_resident_memory_percent is refused when
the config is set (config.py).

Checks read raw request JSON that the request's own parsing has accepted, so they never see
malformed input.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np

from pydrant.collection.rate_limit import TokenBucket
from pydrant.errors import StrictModeViolation
from pydrant.models.query import DEFAULT_GROUP_SIZE, DEFAULT_LIMIT, DEFAULT_MATRIX_LIMIT, DEFAULT_MATRIX_SAMPLE
from pydrant.segment.filtering.cardinality import expected_matches
from pydrant.segment.payload_index.factory import parse_field_schema

if TYPE_CHECKING:
    from pydrant.collection.collection import Collection
    from pydrant.collection.operations import Upsert, UpdateVectors

ALL_INDEX_TYPES = ("bool", "datetime", "float", "geo", "integer", "keyword", "text", "uuid")
# What a condition needs an index to be able to do, and what each index type can do.
_CAPABILITIES: dict[str, frozenset[str]] = {
    "keyword": frozenset({"keyword_match"}),
    "integer": frozenset({"int_match", "int_range"}),
    "float": frozenset({"float_range"}),
    "bool": frozenset({"bool_match"}),
    "geo": frozenset({"geo"}),
    "text": frozenset({"text"}),
    "datetime": frozenset({"datetime_range"}),
    "uuid": frozenset({"uuid_match", "uuid_range"}),
}
_SCHEMA_OF_NEED = {
    "keyword_match": "keyword", "int_match": "integer", "int_range": "integer", "float_range": "float",
    "bool_match": "bool", "geo": "geo", "text": "text", "datetime_range": "datetime", "uuid_match": "uuid",
}
_ANY_INDEX = tuple(_SCHEMA_OF_NEED)
_FILTER_CLAUSES = ("must", "should", "must_not")


def _count(value: Any, default: int) -> int:
    return value if type(value) is int else default


class StrictMode:
    """The enabled strict mode of one collection (None where it is off: CollectionConfig.strict)."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

    @classmethod
    def from_config(cls, raw: dict[str, Any] | None) -> StrictMode | None:
        return cls(raw) if raw and raw.get("enabled") else None

    def _get(self, key: str) -> Any:
        return self.config.get(key)

    # -- limits -----------------------------------------------------------------------------
    def limit(self, value: int | None, name: str = "limit", setting: str = "max_query_limit") -> None:
        bound = self._get(setting)
        if bound is not None and value is not None and value > bound:
            raise StrictModeViolation(f'Limit exceeded {value} > {bound} for "{name}"',
                                      f'Reduce the "{name}" parameter to or below {bound}.')

    def timeout(self, value: int | None) -> None:
        self.limit(value, "timeout", "max_timeout")

    def search_batch(self, size: int) -> None:
        self.limit(size, "search batch size", "search_max_batchsize")

    def search_params(self, params: Any) -> None:
        """`params` of a search: exact, hnsw_ef, quantization.oversampling."""
        if not isinstance(params, dict):
            return
        if params.get("exact") is True and self._get("search_allow_exact") is False:
            raise StrictModeViolation("Exact search disabled!", "Set exact=false.")
        quantization = params.get("quantization")
        if isinstance(quantization, dict):
            self.limit(quantization.get("oversampling"), "oversampling", "search_max_oversampling")
        self.limit(params.get("hnsw_ef"), "hnsw_ef", "search_max_hnsw_ef")

    # -- rate limits ----------------------------------------------------------------------------
    def charge_read(self, collection: Collection, cost: int) -> None:
        self._charge(collection, "read_rate_limit", "Read", cost)

    def charge_write(self, collection: Collection, cost: int) -> None:
        self._charge(collection, "write_rate_limit", "Write", cost)

    def _charge(self, collection: Collection, setting: str, kind: str, cost: int) -> None:
        per_minute = self._get(setting)
        if per_minute is None:
            return
        bucket = collection.rate_buckets.get(kind)
        if bucket is None or bucket.capacity != per_minute:  # a new limit starts a full bucket
            bucket = collection.rate_buckets[kind] = TokenBucket(per_minute)
        bucket.take(cost, kind)

    # -- reads -------------------------------------------------------------------------------
    def query(self, collection: Collection, raw: dict[str, Any], charge: bool = True) -> None:
        """A query (or one entry of a batch, which its batch charges): limit, filter, params,
        formula, prefetches."""
        self.limit(_count(raw.get("limit"), DEFAULT_LIMIT))
        self._query_node(collection, raw)
        if charge:
            self.charge_read(collection, query_cost(raw))

    def groups(self, collection: Collection, raw: dict[str, Any]) -> None:
        """A grouped query: it reads up to `limit` groups of `group_size` points."""
        self.limit(_count(raw.get("limit"), DEFAULT_LIMIT) * _count(raw.get("group_size"), DEFAULT_GROUP_SIZE))
        self._query_node(collection, raw)
        if isinstance(raw.get("group_by"), str):
            self.group_by(collection, raw["group_by"])
        self.charge_read(collection, query_cost(raw))

    def matrix(self, collection: Collection, raw: dict[str, Any]) -> None:
        """A distance matrix scores `sample` points against `limit` neighbours each."""
        self.limit(_count(raw.get("sample"), DEFAULT_MATRIX_SAMPLE) * _count(raw.get("limit"), DEFAULT_MATRIX_LIMIT))
        self.read_filter(collection, raw.get("filter"))
        self.charge_read(collection, 1 + _filter_cost(raw.get("filter")))

    def listing(self, collection: Collection, limit: int | None, raw_filter: Any) -> None:
        """Scroll, facet and count (no limit): the page size and the filter."""
        self.limit(limit)
        self.read_filter(collection, raw_filter)
        self.charge_read(collection, 1 + _filter_cost(raw_filter))

    def _query_node(self, collection: Collection, node: dict[str, Any], root: bool = True) -> None:
        prefetches = node.get("prefetch")
        for prefetch in prefetches if isinstance(prefetches, list) else [prefetches]:
            if isinstance(prefetch, dict):
                self.limit(_count(prefetch.get("limit"), DEFAULT_LIMIT))
                self._query_node(collection, prefetch, root=False)
        if not (root and prefetches):  # a root over prefetches only rescores what they found
            self._full_scan(collection, node)
        query = node.get("query")
        if isinstance(query, dict) and "formula" in query:
            self.formula(collection, query["formula"])
        self.read_filter(collection, node.get("filter"))
        self.search_params(node.get("params"))

    def _full_scan(self, collection: Collection, node: dict[str, Any]) -> None:
        """Without exact search allowed, a vector search needs a graph: one over the whole
        collection (hnsw m > 0), or per tenant (payload_m > 0) with a tenant key filtered."""
        query = node.get("query")
        if self._get("search_allow_exact") is not False or query is None:
            return
        if isinstance(query, dict) and not {"nearest", "recommend", "discover", "context"} & set(query):
            return  # fusion, order_by, formula, sample: no vector search of their own
        using = node.get("using")
        name = "" if using is None else str(using)
        spec = collection.config.vectors.get(name)
        if spec is None:
            return  # sparse vectors are always indexed; an unknown name fails elsewhere
        hnsw = collection.config.hnsw_for(spec)
        m = hnsw.get("m", 16)
        if m is None or m > 0:
            return
        label = "" if name == "" else f" on '{name}'"
        raw_filter = node.get("filter")
        schema = _schema(collection)
        tenant = isinstance(raw_filter, dict) and any(_is_tenant(schema.get(key)) for key in _filter_keys(raw_filter))
        if not tenant:
            raise StrictModeViolation(
                f"Request is forbidden{label} because global vector indexing is disabled (hnsw_config.m = 0)",
                "Use tenant-specific filter, enable global vector indexing or enable strict mode `search_allow_exact` option")
        if (hnsw.get("payload_m") if hnsw.get("payload_m") is not None else m) == 0:
            raise StrictModeViolation(
                f"Request is forbidden{label} because vector indexing is disabled (hnsw_config.m = 0 and hnsw_config.payload_m = 0)",
                "Enable vector indexing, use a prefetch query with indexed vectors or enable strict mode `search_allow_exact` option")

    # -- filters -----------------------------------------------------------------------------
    def read_filter(self, collection: Collection, raw: Any) -> None:
        self._filter(collection, raw, self._get("unindexed_filtering_retrieve"))

    def write_filter(self, collection: Collection, raw: Any) -> None:
        self._filter(collection, raw, self._get("unindexed_filtering_update"))

    def _filter(self, collection: Collection, raw: Any, allow_unindexed: Any) -> None:
        if not isinstance(raw, dict):
            return
        max_conditions = self._get("filter_max_conditions")
        if max_conditions is not None:
            count = conditions_count(raw)
            if count > max_conditions:
                raise StrictModeViolation(f"Filter condition limit reached ({count} > {max_conditions})",
                                          "Reduce the amount of conditions of your filter.")
        max_size = self._get("condition_max_size")
        if max_size is not None:
            size = max_condition_size(raw)
            if size > max_size:
                raise StrictModeViolation(f"Condition size limit reached ({size} > {max_size})",
                                          "Reduce the size of your condition.")
        if allow_unindexed is False:
            _require_index(unindexed_key(_schema(collection), raw), "filter")

    def formula(self, collection: Collection, expression: Any) -> None:
        """Payload keys a score formula reads need an index, as filter keys do."""
        if self._get("unindexed_filtering_retrieve") is False:
            _require_index(_unindexed_expression_key(_schema(collection), expression), "formula expression")

    def group_by(self, collection: Collection, key: str) -> None:
        if self._get("unindexed_filtering_retrieve") is not False:
            return
        schema = _schema(collection).get(key)
        if schema is None:
            raise StrictModeViolation(f'Index required but not found for "{key}"',
                                      "Create an index supporting `match` for this key.")
        kind = parse_field_schema(schema)[0]
        if kind not in ("keyword", "integer", "bool", "uuid"):
            raise StrictModeViolation(f'Index of type "{kind.capitalize()}" found for "{key}"',
                                      "Create an index supporting `match` for this key.")

    # -- writes ------------------------------------------------------------------------------
    def upsert(self, collection: Collection, operation: Upsert) -> None:
        self.limit(len(operation.ids), "upsert limit", "upsert_max_batchsize")
        self._vector_shapes(operation)
        self._capacity(collection, payloads=True)
        self.charge_write(collection, len(operation.ids))

    def update_vectors(self, collection: Collection, operation: UpdateVectors) -> None:
        self.limit(len(operation.ids), "update limit", "upsert_max_batchsize")
        self._vector_shapes(operation)
        self._capacity(collection, payloads=False)
        self.charge_write(collection, len(operation.ids))

    def selection(self, collection: Collection, ids: list[Any] | None, raw_filter: Any, compiled: Any = None) -> None:
        """A write on points chosen by ids (one token each) or by a filter (as Qdrant: one
        token per point the filter is expected to match, at least one)."""
        if ids is None:
            self.write_filter(collection, raw_filter)
            if self._get("write_rate_limit") is not None:
                with collection.reading():
                    segments = collection.holder.segments
                    affected = sum(s.live_count if compiled is None else expected_matches(compiled, s) for s in segments)
                self.charge_write(collection, max(1, affected))
        else:
            self.charge_write(collection, len(ids))

    def payload_index(self, collection: Collection, field_name: str) -> None:
        bound = self._get("max_payload_index_count")
        schema = _schema(collection)
        if bound is not None and field_name not in schema and len(schema) >= bound:
            raise StrictModeViolation(f"Max payload index count limit of {bound} reached!",
                                      "Delete an unused payload index first.")

    def _vector_shapes(self, operation: Upsert | UpdateVectors) -> None:
        for name, limits in (self._get("multivector_config") or {}).items():
            column = operation.vectors.multi.get(name)
            bound = (limits or {}).get("max_vectors")
            if column is None or bound is None or not column.lengths:
                continue
            largest = max(column.lengths)
            if largest > bound:
                raise StrictModeViolation(
                    f"Multivector '{name}' has a limit of {bound} vectors, but {largest} were provided!",
                    f"Send at most {bound} vectors for '{name}'.")
        for name, limits in (self._get("sparse_config") or {}).items():
            sparse = operation.vectors.sparse.get(name)
            bound = (limits or {}).get("max_length")
            if sparse is None or bound is None or len(sparse.indptr) < 2:
                continue
            longest = int(np.diff(np.asarray(sparse.indptr)).max())
            if longest > bound:
                raise StrictModeViolation(
                    f"Sparse vector '{name}' has a limit of {bound} indices, but {longest} were provided!",
                    f"Send at most {bound} indices for '{name}'.")

    def _capacity(self, collection: Collection, payloads: bool) -> None:
        """Qdrant refuses writes once the collection holds as much as a limit allows (the write
        that crosses it still goes through)."""
        vector_bound = self._get("max_collection_vector_size_bytes")
        payload_bound = self._get("max_collection_payload_size_bytes") if payloads else None
        points_bound = self._get("max_points_count") if payloads else None
        if vector_bound is None and payload_bound is None and points_bound is None:
            return
        stats = size_estimate(collection)
        if vector_bound is not None and stats.vector_bytes >= vector_bound:
            raise StrictModeViolation(f"Max vector storage size limit of {_megabytes(vector_bound)}MB reached!")
        if payload_bound is not None and stats.payload_bytes >= payload_bound:
            raise StrictModeViolation(f"Max payload storage size limit of {_megabytes(payload_bound)}MB reached!")
        if points_bound is not None and stats.points >= points_bound:
            raise StrictModeViolation(f"Max points count limit of {points_bound} reached!")


def _filter_cost(raw: Any) -> int:
    return conditions_count(raw) if isinstance(raw, dict) else 0


def query_cost(node: dict[str, Any], inherited_conditions: int = 0) -> int:
    """Read tokens of a query, as Qdrant plans it: each leaf (a node without prefetches) is one
    search or scroll, costing its query's examples (positive + negative of recommend, pairs of
    discover / context, else one) plus the conditions of its filter and of the filters above
    it; the nodes that combine prefetches (fusion, rescoring, formula) cost nothing more."""
    conditions = inherited_conditions + _filter_cost(node.get("filter"))
    prefetches = node.get("prefetch")
    children = [p for p in (prefetches if isinstance(prefetches, list) else [prefetches]) if isinstance(p, dict)]
    if children:
        return sum(query_cost(child, conditions) for child in children)
    return _search_cost(node.get("query")) + conditions


def _search_cost(query: Any) -> int:
    if isinstance(query, dict):
        recommend = query.get("recommend")
        if isinstance(recommend, dict):
            return len(recommend.get("positive") or []) + len(recommend.get("negative") or [])
        discover = query.get("discover")
        if isinstance(discover, dict):
            return len(discover.get("context") or [])
        context = query.get("context")
        if isinstance(context, list):
            return len(context)
        if isinstance(context, dict):  # a single pair
            return 1
    return 1


def _require_index(found: tuple[str, list[str]] | None, what: str) -> None:
    """Refuse a request that reads a key (`found`: the key and the index types that would
    answer it) without such an index."""
    if found is not None:
        key, schemas = found
        raise StrictModeViolation(
            f'Index required but not found for "{key}" of one of the following types: [{", ".join(schemas)}]',
            f"Create an index for this key or use a different {what}.")


def _megabytes(size: int) -> str:
    """Bytes as MB the way Qdrant prints its f32 (`1`, `0.00022888184`)."""
    return np.format_float_positional(np.float32(size / (1024 * 1024)), trim="-")


def _schema(collection: Collection) -> dict[str, Any]:
    """The collection's payload indexes: field name -> schema as created."""
    return collection.applier.payload_schema


@dataclass(frozen=True)
class SizeEstimate:
    points: int
    vector_bytes: int  # dense vectors of live points, as stored
    payload_bytes: int  # live and deleted payloads as JSON


_ELEMENT_BYTES = {"float32": 4, "float16": 2, "uint8": 1}


def size_estimate(collection: Collection) -> SizeEstimate:
    """What a collection holds, for the capacity limits."""
    config = collection.config
    per_point = sum(spec.size * _ELEMENT_BYTES.get(str(spec.params.get("datatype") or "float32"), 4)
                    for spec in config.vectors.values() if spec.kind == "dense")
    points = payload_bytes = 0
    with collection.reading():
        for segment in collection.holder.segments:
            points += segment.live_count
            payload_bytes += segment.payload_bytes()
    return SizeEstimate(points, points * per_point, payload_bytes)


# -- filter walks ------------------------------------------------------------------------------
def _conditions(raw: dict[str, Any]) -> Iterator[Any]:
    """Every top-level condition of a filter: must, should, must_not, min_should."""
    for clause in _FILTER_CLAUSES:
        value = raw.get(clause)
        if isinstance(value, list):
            yield from value
        elif isinstance(value, dict):
            yield value
    min_should = raw.get("min_should")
    if isinstance(min_should, dict) and isinstance(min_should.get("conditions"), list):
        yield from min_should["conditions"]


def _leaves(raw: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """(key prefix, condition) for every condition of a filter that is not a filter itself:
    filter conditions are walked into, and nested ones with their key as `key[]` prefix."""
    for condition in _conditions(raw):
        if not isinstance(condition, dict):
            continue
        nested = condition.get("nested")
        if isinstance(nested, dict) and isinstance(nested.get("filter"), dict):
            yield from _leaves(nested["filter"], _join(prefix, f"{nested.get('key')}[]"))
        elif any(clause in condition for clause in (*_FILTER_CLAUSES, "min_should")):
            yield from _leaves(condition, prefix)
        else:
            yield prefix, condition


def conditions_count(raw: dict[str, Any]) -> int:
    """Conditions in a filter, nested filters' own conditions counted in."""
    return sum(1 for _ in _leaves(raw))


def max_condition_size(raw: dict[str, Any]) -> int:
    """The largest input of one condition: values of `any`/`except`, ids of `has_id`, points of
    a polygon."""
    return max((_condition_size(condition) for _, condition in _leaves(raw)), default=0)


def _condition_size(condition: dict[str, Any]) -> int:
    if isinstance(condition.get("has_id"), list):
        return len(condition["has_id"])
    match = condition.get("match")
    if isinstance(match, dict):
        for key in ("any", "except"):
            if isinstance(match.get(key), list):
                return len(match[key])
        return 1
    polygon = condition.get("geo_polygon")
    if isinstance(polygon, dict):
        rings = [polygon.get("exterior")] + list(polygon.get("interiors") or [])
        return sum(len(ring.get("points") or []) for ring in rings if isinstance(ring, dict))
    return 1


def unindexed_key(schema: dict[str, Any], raw: dict[str, Any]) -> tuple[str, list[str]] | None:
    """The first payload key of a filter whose condition no index of the collection answers,
    with the index types that would (sorted), or None."""
    for prefix, condition in _leaves(raw):
        found = _unindexed_condition(schema, condition, prefix)
        if found is not None:
            return found
    return None


def _filter_keys(raw: dict[str, Any]) -> Iterator[str]:
    """The payload keys a filter's conditions name (nested ones by their full path)."""
    for prefix, condition in _leaves(raw):
        if isinstance(condition.get("key"), str):
            yield _join(prefix, condition["key"])


def _is_tenant(field_schema: Any) -> bool:
    return isinstance(field_schema, dict) and field_schema.get("is_tenant") is True


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _unindexed_condition(schema: dict[str, Any], condition: dict[str, Any], prefix: str) -> tuple[str, list[str]] | None:
    for wrapper in ("is_empty", "is_null"):
        inner = condition.get(wrapper)
        if isinstance(inner, dict) and "key" in inner:
            return _needs(schema, _join(prefix, str(inner["key"])), _ANY_INDEX)
    if "key" not in condition:
        return None  # has_id, has_vector: no index involved
    return _needs(schema, _join(prefix, str(condition["key"])), _needed_capabilities(condition))


def _needs(schema: dict[str, Any], key: str, needed: tuple[str, ...]) -> tuple[str, list[str]] | None:
    if not needed:
        return None
    existing = schema.get(key)
    if existing is not None and _capabilities(existing) & set(needed):
        return None
    return key, sorted({_SCHEMA_OF_NEED[need] for need in needed})


def _capabilities(field_schema: Any) -> frozenset[str]:
    kind, params = parse_field_schema(field_schema)
    capabilities = _CAPABILITIES.get(kind, frozenset())
    if kind == "integer" and params:
        capabilities = frozenset(
            c for c in capabilities
            if (c != "int_match" or params.get("lookup") is not False) and (c != "int_range" or params.get("range") is not False))
    return capabilities


def _needed_capabilities(condition: dict[str, Any]) -> tuple[str, ...]:
    needed: list[str] = []
    match = condition.get("match")
    if isinstance(match, dict):
        if "value" in match:
            needed += _value_needs([match["value"]])
        elif "text" in match or "text_any" in match or "phrase" in match:
            needed.append("text")
        else:
            for key in ("any", "except"):
                if isinstance(match.get(key), list):
                    needed += _value_needs(match[key])
    range_ = condition.get("range")
    if isinstance(range_, dict):
        bounds = [v for v in range_.values() if v is not None]
        if any(isinstance(v, str) for v in bounds):
            needed.append("datetime_range")
        else:
            needed += ["float_range", "int_range"]
    if any(k in condition for k in ("geo_bounding_box", "geo_radius", "geo_polygon")):
        needed.append("geo")
    if any(condition.get(k) is not None for k in ("values_count", "is_empty", "is_null")):
        needed += _ANY_INDEX
    return tuple(needed)


def _value_needs(values: list[Any]) -> list[str]:
    if not values:
        return []  # `any: []` matches nothing, `except: []` excludes nothing: no index needed
    first = values[0]
    if isinstance(first, bool):
        return ["bool_match"]
    if isinstance(first, int):
        return ["int_match"]
    needs = ["keyword_match"]
    if all(isinstance(v, str) and _is_uuid(v) for v in values):
        needs.append("uuid_match")
    return needs


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _unindexed_expression_key(schema: dict[str, Any], expression: Any) -> tuple[str, list[str]] | None:
    """The first payload key a formula reads without a suitable index."""
    if isinstance(expression, str):
        if expression.startswith("$score"):
            return None
        return _needs(schema, expression, ("int_match", "int_range", "float_range"))
    if isinstance(expression, list):
        for item in expression:
            found = _unindexed_expression_key(schema, item)
            if found is not None:
                return found
        return None
    if not isinstance(expression, dict):
        return None
    if "key" in expression or "is_empty" in expression or "is_null" in expression:
        return _unindexed_condition(schema, expression, "")  # a condition used as a value
    if any(clause in expression for clause in (*_FILTER_CLAUSES, "min_should")):
        return unindexed_key(schema, expression)
    geo = expression.get("geo_distance")
    if isinstance(geo, dict) and isinstance(geo.get("to"), str):
        return _needs(schema, geo["to"], ("geo",))
    if isinstance(expression.get("datetime_key"), str):
        return _needs(schema, expression["datetime_key"], ("datetime_range",))
    if "datetime" in expression:
        return None  # a date literal, not a key
    for value in expression.values():
        if isinstance(value, (dict, list, str)):
            found = _unindexed_expression_key(schema, value)
            if found is not None:
                return found
    return None
