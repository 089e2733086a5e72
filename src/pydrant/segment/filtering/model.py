"""Compiled filter: frozen, validated condition objects that evaluation dispatches on."""

from __future__ import annotations

from dataclasses import dataclass

from pydrant.models.ids import PointId
from pydrant.segment.filtering.paths import Path


@dataclass(frozen=True, slots=True)
class GeoPoint:
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class MatchValue:
    key: str
    path: Path
    value: str | int | bool


@dataclass(frozen=True, slots=True)
class MatchAny:
    key: str
    path: Path
    values: tuple[str, ...] | tuple[int, ...]


@dataclass(frozen=True, slots=True)
class MatchExcept:
    key: str
    path: Path
    values: tuple[str, ...] | tuple[int, ...]


@dataclass(frozen=True, slots=True)
class MatchText:
    """Full-text match; `mode` is "all" (text), "any" (text_any) or "phrase"."""

    key: str
    path: Path
    text: str
    mode: str


@dataclass(frozen=True, slots=True)
class MatchPrefix:
    key: str
    path: Path
    prefix: str


@dataclass(frozen=True, slots=True)
class Range:
    key: str
    path: Path
    gt: float | None = None
    gte: float | None = None
    lt: float | None = None
    lte: float | None = None


@dataclass(frozen=True, slots=True)
class DatetimeRange:
    """Bounds in UTC microseconds since the epoch."""

    key: str
    path: Path
    gt: int | None = None
    gte: int | None = None
    lt: int | None = None
    lte: int | None = None


@dataclass(frozen=True, slots=True)
class GeoBoundingBox:
    key: str
    path: Path
    top_left: GeoPoint
    bottom_right: GeoPoint


@dataclass(frozen=True, slots=True)
class GeoRadius:
    key: str
    path: Path
    center: GeoPoint
    radius: float


@dataclass(frozen=True, slots=True)
class GeoPolygon:
    key: str
    path: Path
    exterior: tuple[GeoPoint, ...]
    interiors: tuple[tuple[GeoPoint, ...], ...]


@dataclass(frozen=True, slots=True)
class ValuesCount:
    key: str
    path: Path
    gt: int | None = None
    gte: int | None = None
    lt: int | None = None
    lte: int | None = None


@dataclass(frozen=True, slots=True)
class IsEmpty:
    """The key has no value, only nulls or only empty arrays; `expected=False` negates."""

    key: str
    path: Path
    expected: bool = True


@dataclass(frozen=True, slots=True)
class IsNull:
    """Some value at the key is null (or an array holding a null); `expected=False` negates."""

    key: str
    path: Path
    expected: bool = True


@dataclass(frozen=True, slots=True)
class AnyOf:
    """A FieldCondition carrying several checks: it holds if any of them does."""

    conditions: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class HasId:
    ids: frozenset[PointId]


@dataclass(frozen=True, slots=True)
class HasVector:
    name: str


@dataclass(frozen=True, slots=True)
class Slice:
    total: int
    index: int


@dataclass(frozen=True, slots=True)
class Nested:
    """`filter` must hold for one single object of the array at `key`."""

    key: str
    path: Path
    filter: Filter


@dataclass(frozen=True, slots=True)
class MinShould:
    conditions: tuple[Condition, ...]
    min_count: int


@dataclass(frozen=True, slots=True)
class Filter:
    must: tuple[Condition, ...] | None = None
    should: tuple[Condition, ...] | None = None
    must_not: tuple[Condition, ...] | None = None
    min_should: MinShould | None = None


FieldCheck = (
    MatchValue
    | MatchAny
    | MatchExcept
    | MatchText
    | MatchPrefix
    | Range
    | DatetimeRange
    | GeoBoundingBox
    | GeoRadius
    | GeoPolygon
    | ValuesCount
    | IsEmpty
    | IsNull
)
"""Conditions on the values of one payload key (the ones a field index may answer)."""

Condition = FieldCheck | AnyOf | HasId | HasVector | Slice | Nested | Filter
