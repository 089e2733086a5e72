"""Wire models of the Query API bodies and the parsed query forms they carry."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from msgspec import Meta

from pydrant.models.points import Body

PositiveInt = Annotated[int, Meta(ge=1)]
DEFAULT_LIMIT = 10  # Qdrant's limit when a query or prefetch names none
DEFAULT_GROUP_SIZE = 3  # points per group of a groups query
DEFAULT_MATRIX_SAMPLE = 10  # points a distance matrix samples
DEFAULT_MATRIX_LIMIT = 3  # neighbours per sampled point


class SearchParamsBody(Body):
    hnsw_ef: PositiveInt | None = None
    exact: bool = False
    quantization: Any = None
    indexed_only: bool = False
    acorn: Any = None
    idf: Any = None


class LookupLocationBody(Body):
    collection: str
    vector: str | None = None
    shard_key: Any = None


class PrefetchBody(Body):
    prefetch: Any = None
    query: Any = None
    using: str | None = None
    filter: Any = None
    params: SearchParamsBody | None = None
    score_threshold: float | None = None
    limit: PositiveInt | None = None
    lookup_from: LookupLocationBody | None = None


class QueryBody(PrefetchBody):
    offset: Annotated[int, Meta(ge=0)] | None = None
    with_vector: Any = None
    with_vectors: Any = None  # the same setting under Qdrant's alias
    with_payload: Any = None
    shard_key: Any = None

    def __post_init__(self) -> None:
        if self.with_vector is None:
            self.with_vector = self.with_vectors


class WithLookupBody(Body):
    collection: str
    with_payload: Any = True
    with_vectors: Any = None
    with_vector: Any = None  # Qdrant's alias of `with_vectors` here

    def __post_init__(self) -> None:
        if self.with_vectors is None:
            self.with_vectors = self.with_vector


class QueryGroupsBody(QueryBody):
    group_by: Annotated[str, Meta(min_length=1)] = ""
    group_size: PositiveInt | None = None
    with_lookup: str | WithLookupBody | None = None


class QueryBatchBody(Body):
    searches: list[Any]


class SearchMatrixBody(Body):
    filter: Any = None
    sample: Annotated[int, Meta(ge=2)] | None = None
    limit: PositiveInt | None = None
    using: str | None = None
    shard_key: Any = None


# ---- parsed query forms (vector inputs are still raw JSON: list, sparse dict or point id) ----


@dataclass(frozen=True)
class Mmr:
    """Maximal marginal relevance re-ranking of a nearest query's candidates."""

    diversity: float
    candidates_limit: int | None  # None: the query's limit


@dataclass(frozen=True)
class Nearest:
    vector: Any
    mmr: Mmr | None = None


@dataclass(frozen=True)
class Recommend:
    positive: list[Any]
    negative: list[Any]
    strategy: Literal["average_vector", "best_score", "sum_scores"]


@dataclass(frozen=True)
class Discover:
    target: Any
    pairs: list[tuple[Any, Any]]


@dataclass(frozen=True)
class Context:
    pairs: list[tuple[Any, Any]]


@dataclass(frozen=True)
class Fusion:
    method: Literal["rrf", "dbsf"]
    k: int = 2  # Qdrant's default RRF ranking constant
    weights: list[float] | None = None


@dataclass(frozen=True)
class OrderBy:
    raw: Any


@dataclass(frozen=True)
class Sample:
    kind: str = "random"


@dataclass(frozen=True)
class RelevanceFeedback:
    """The naive strategy: a * sim(target) + sum over feedback pairs whose scores differ of
    (score difference)^b * c * (sim(better example) - sim(worse example))."""

    target: Any
    feedback: list[tuple[Any, float]]  # (example vector input, its relevance score)
    a: float
    b: float
    c: float


@dataclass(frozen=True)
class Formula:
    """A score-boosting formula, checked and compiled (collection.formula.ScoreFormula)."""

    compiled: Any


QueryForm = Nearest | Recommend | Discover | Context | RelevanceFeedback | Fusion | OrderBy | Sample | Formula


@dataclass
class QueryNode:
    """One level of a query: its own query, filter and limit, and the prefetches under it."""

    query: QueryForm | None
    using: str
    filter: Any
    limit: int
    score_threshold: float | None
    params: dict[str, Any]
    lookup_from: LookupLocationBody | None
    prefetches: list[QueryNode] = field(default_factory=list)
    where: str = ""
    # `filter` compiled once while parsing (a segment.filtering Filter, or None); reused by
    # each run that searches with exactly this filter.
    compiled_filter: Any = None
