"""Evaluate a compiled filter over a segment to a bool mask, using field indexes where they help.

Planning: in a `must` list, conditions an index answers go first, most selective first; once
they leave few candidates, the remaining conditions are evaluated on those candidate offsets only.

Conditions without an index scan columns of payload values (`columns.py`). Extracting a column
walks the payload dicts in Python, so a context that offers a `ColumnCache` keeps the columns of
its whole key set between filters, valid while its `payload_version` is unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast

import numpy as np

from pydrant.errors import Unsupported
from pydrant.segment.filtering import model as m
from pydrant.segment.filtering import scan
from pydrant.segment.filtering.columns import Column, RawColumn
from pydrant.segment.filtering.context import ColumnCache, ElementContext, FilterContext
from pydrant.segment.filtering.paths import Path, values_at
from pydrant.segment.filtering.slicing import slice_mask

if TYPE_CHECKING:
    from pydrant.models.ids import PointId

# narrow to the surviving candidates once they are at most this share of the current rows
_NARROW_RATIO = 0.5

_T = TypeVar("_T")


def evaluate(filter: m.Filter | None, ctx: FilterContext) -> np.ndarray:
    """Mask of length ctx.size: which offsets satisfy `filter` (liveness is the caller's)."""
    if filter is None:
        return np.ones(ctx.size, dtype=bool)
    return _filter(filter, _View(ctx, None))


def estimate_cardinality(cond: m.Condition, ctx: FilterContext) -> int | None:
    """How many offsets an index expects to satisfy `cond`, or None if no index can tell."""
    if isinstance(cond, m.HasId):
        return len(cond.ids)
    key = getattr(cond, "key", None)
    if key is None or isinstance(cond, m.Nested):
        return None
    index = ctx.field_index(key)
    return None if index is None else index.estimate(cond)


class _View:
    """A subset of a context's offsets (`rows`), with per-key columns kept for that subset.

    A full view takes its columns from the context's `column_cache` when it has one. A subset
    view of such a context scans the full view's columns instead of extracting its own (the
    caller cuts the mask down to the subset, see `scan_view`) once a key is cached or has been
    asked for twice; a one-off extracts just its rows, which is cheaper than the whole column.
    """

    def __init__(self, ctx: Any, rows: np.ndarray | None, whole: _View | None = None) -> None:
        self.ctx = ctx
        self.rows = rows  # None: every offset, in order
        self.full = rows is None
        self.size: int = ctx.size if rows is None else len(rows)
        self.whole = self if rows is None else whole  # the full view this one was cut from
        self.cache: ColumnCache | None = getattr(ctx, "column_cache", None)
        self._row_list: list[int] | None = None
        self._columns: dict[Path, Column] = {}
        self._raw: dict[Path, RawColumn] = {}
        self._nested: dict[Path, tuple[ElementContext, np.ndarray]] = {}

    def __len__(self) -> int:
        return self.size

    @property
    def row_list(self) -> list[int]:
        if self._row_list is None:
            self._row_list = list(range(self.size)) if self.rows is None else self.rows.tolist()
        return self._row_list

    def column(self, path: Path) -> Column:
        col = self._columns.get(path)
        if col is None:
            col = self._columns[path] = self.extract(
                ("column", path), lambda rows: Column(self.ctx.payloads, rows, path, shared=rows is None and self.cache is not None)
            )
        return col

    def raw(self, path: Path) -> RawColumn:
        col = self._raw.get(path)
        if col is None:
            col = self._raw[path] = self.extract(("raw", path), lambda rows: RawColumn(self.ctx.payloads, rows, path))
        return col

    def nested(self, path: Path) -> tuple[ElementContext, np.ndarray]:
        """The objects in the arrays at `path` as a context, and the row owning each."""
        found = self._nested.get(path)
        if found is None:
            found = self._nested[path] = self.extract(("nested", path), lambda rows: self._elements(rows, path))
        return found

    def _elements(self, rows: list[int] | None, path: Path) -> tuple[ElementContext, np.ndarray]:
        elements: list[dict[str, Any]] = []
        owners: list[int] = []
        payloads = self.ctx.payloads
        for r, payload in enumerate(payloads if rows is None else (payloads[off] for off in rows)):
            if not payload:
                continue
            for value in values_at(payload, path, flat=False):
                if type(value) is list:
                    for element in value:
                        if type(element) is dict:
                            elements.append(element)
                            owners.append(r)
        # elements kept in the cache keep the columns of their own keys too
        cached = rows is None and self.cache is not None
        return ElementContext(elements, cached=cached), np.asarray(owners, dtype=np.int64)

    def extract(self, key: Hashable, build: Callable[[list[int] | None], _T]) -> _T:
        """build(rows) for this view's rows (None: every offset), through the context's cache
        under `key` for a full view. What comes from the cache is shared: never write to it."""
        if not self.full:
            return build(self.row_list)
        if self.cache is None:
            return build(None)
        # read before building: a value built from older payloads is stored under their version
        version = self.ctx.payload_version
        value: _T | None = self.cache.get(key, version)
        if value is None:
            value = build(None)
            self.cache.put(key, version, value)
        return value

    def scan_view(self, key: Hashable) -> _View:
        """The view in which to extract `key`: this one, or the full view when the context's
        cache holds (or should now hold) it whole. A mask from the full view is cut down with
        `restrict`."""
        if self.full or self.cache is None or self.whole is None:
            return self
        version = self.ctx.payload_version
        if self.cache.get(key, version) is not None or self.cache.wanted_before(key, version):
            return self.whole
        return self

    def take(self, positions: np.ndarray) -> _View:
        return _View(self.ctx, positions if self.rows is None else self.rows[positions], whole=self.whole)

    def restrict(self, full_mask: np.ndarray) -> np.ndarray:
        """A mask over the whole context, cut down to this view's rows."""
        return full_mask if self.rows is None else full_mask[self.rows]


def _filter(f: m.Filter, view: _View) -> np.ndarray:
    n = len(view)
    if f.must:
        result = _must(f.must, view)
    else:
        result = np.ones(n, dtype=bool)
    if f.must_not and result.any():
        for cond in f.must_not:
            result &= ~_condition(cond, view)
    if f.should and result.any():
        # an empty `should` list is no constraint at all, not an unsatisfiable one
        any_true = np.zeros(n, dtype=bool)
        for cond in f.should:
            any_true |= _condition(cond, view)
        result &= any_true
    if f.min_should is not None and result.any():
        hits = np.zeros(n, dtype=np.int64)
        for cond in f.min_should.conditions:
            hits += _condition(cond, view)
        result &= hits >= f.min_should.min_count
    return result


def _must(conditions: tuple[m.Condition, ...], view: _View) -> np.ndarray:
    order = sorted(range(len(conditions)), key=lambda i: _cost(conditions[i], view))
    current = view
    # positions of `current`'s rows inside `view`; None while `current` is `view`
    positions: np.ndarray | None = None
    mask = np.ones(len(view), dtype=bool)
    for k, i in enumerate(order):
        hit = _condition(conditions[i], current)
        if positions is None:
            mask &= hit
        else:
            mask[positions[~hit]] = False
        if k == len(order) - 1:
            break
        if positions is None:
            alive_count = int(np.count_nonzero(mask))
            if alive_count == 0:
                break
            if alive_count > _NARROW_RATIO * len(view):
                continue
            alive = np.flatnonzero(mask)
        else:
            alive = positions[mask[positions]]
            if not len(alive):
                break
            if len(alive) > _NARROW_RATIO * len(positions):
                continue
        current = view.take(alive)
        positions = alive
    return mask


def _cost(cond: m.Condition, view: _View) -> tuple[int, int]:
    """Sort key: index-answered conditions by their estimate, then everything else as given."""
    if not view.full:
        return (1, 0)
    est = estimate_cardinality(cond, view.ctx)
    return (0, est) if est is not None else (1, 0)


def _condition(cond: m.Condition, view: _View) -> np.ndarray:
    match cond:
        case m.Filter():
            return _filter(cond, view)
        case m.HasId():
            full = np.zeros(view.ctx.size, dtype=bool)
            offsets = view.ctx.offsets_of_ids(cond.ids)
            full[np.asarray(offsets, dtype=np.int64)] = True
            return view.restrict(full)
        case m.HasVector():
            return view.restrict(np.asarray(view.ctx.vector_mask(cond.name), dtype=bool))
        case m.Slice():
            return _slice(cond, view)
        case m.Nested():
            return _nested(cond, view)
        case m.AnyOf():
            out = np.zeros(len(view), dtype=bool)
            for sub in cond.conditions:
                out |= _condition(sub, view)
            return out
        case _:
            return _field(cond, view)


def _field(cond: Any, view: _View) -> np.ndarray:
    index = view.ctx.field_index(cond.key)
    if index is not None:
        full = index.mask(cond, view.ctx.size)
        if full is not None:
            return view.restrict(full)
    kind = "raw" if isinstance(cond, (m.ValuesCount, m.IsEmpty, m.IsNull)) else "column"
    source = view.scan_view((kind, cond.path))
    mask = _scan(cond, source)
    return mask if source is view else view.restrict(mask)


def _scan(cond: Any, view: _View) -> np.ndarray:
    match cond:
        case m.MatchValue():
            return scan.match_value(view.column(cond.path), cond)
        case m.MatchAny():
            col = view.column(cond.path)
            return col.rows_at(*scan.match_any(col, cond.values))
        case m.MatchExcept():
            return scan.match_except(view.column(cond.path), cond)
        case m.MatchText():
            return scan.match_text(view.column(cond.path), cond)
        case m.MatchPrefix():
            return scan.match_prefix(view.column(cond.path), cond)
        case m.Range():
            return scan.number_range(view.column(cond.path), cond)
        case m.DatetimeRange():
            return scan.datetime_range(view.column(cond.path), cond)
        case m.GeoBoundingBox() | m.GeoRadius() | m.GeoPolygon():
            return scan.geo_condition(view.column(cond.path), cond)
        case m.ValuesCount():
            return scan.values_count(view.raw(cond.path), cond)
        case m.IsEmpty():
            empty = view.raw(cond.path).empty
            return empty.copy() if cond.expected else ~empty
        case m.IsNull():
            null = view.raw(cond.path).null
            return null.copy() if cond.expected else ~null
    raise TypeError(f"not a filter condition: {cond!r}")


def _slice(cond: m.Slice, view: _View) -> np.ndarray:
    if isinstance(view.ctx, ElementContext):
        return np.zeros(len(view), dtype=bool)  # nested objects belong to no slice
    ids = getattr(view.ctx, "external_ids", None)
    if ids is None:
        raise Unsupported("the slice condition on this segment")
    key = ("slice", cond.total, cond.index)
    source = view.scan_view(key)
    # ids change only with inserts and deletes, which move the payload version too
    mask = source.extract(key, lambda rows: _slice_rows(ids, range(len(ids)) if rows is None else rows, cond))
    return mask.copy() if source is view else view.restrict(mask)


def _slice_rows(ids: Sequence[PointId | None], rows: Sequence[int], cond: m.Slice) -> np.ndarray:
    """Which of `rows` fall into the slice; a deleted offset (id None) into none."""
    at = [ids[r] for r in rows]
    present = [i for i, point_id in enumerate(at) if point_id is not None]
    out = np.zeros(len(at), dtype=bool)
    if len(present) == len(at):
        out[:] = slice_mask(cast("list[PointId]", at), cond.total, cond.index)
    elif present:
        out[present] = slice_mask([cast("PointId", at[i]) for i in present], cond.total, cond.index)
    return out


def _nested(cond: m.Nested, view: _View) -> np.ndarray:
    """Apply the inner filter to each object of the arrays at `key`; a row matches if one does."""
    path = cond.path
    if path and path[-1] is None and len(path) > 1:
        path = path[:-1]  # `data[]` and `data` name the same array
    source = view.scan_view(("nested", path))
    elements, owners = source.nested(path)
    out = np.zeros(len(source), dtype=bool)
    if elements.size:
        inner = _filter(cond.filter, _View(elements, None))
        out[owners[inner]] = True
    return out if source is view else view.restrict(out)
