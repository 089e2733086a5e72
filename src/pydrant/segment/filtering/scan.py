"""Field conditions answered by scanning payload values (no index), vectorised per key."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pydrant.segment.filtering import geo
from pydrant.segment.filtering import model as m
from pydrant.segment.filtering.columns import Column, RawColumn
from pydrant.segment.filtering.text import word_tokens


def in_bounds(values: np.ndarray, cond: m.Range | m.DatetimeRange | m.ValuesCount) -> np.ndarray:
    """Values within every given bound of `cond`."""
    ok = np.ones(values.shape, dtype=bool)
    if cond.gt is not None:
        ok &= values > cond.gt
    if cond.gte is not None:
        ok &= values >= cond.gte
    if cond.lt is not None:
        ok &= values < cond.lt
    if cond.lte is not None:
        ok &= values <= cond.lte
    return ok


def isin(values: np.ndarray, wanted: list[int] | np.ndarray) -> np.ndarray:
    """np.isin, as one comparison per wanted value when there are few (several times faster)."""
    if len(wanted) > 8:
        return np.isin(values, wanted)
    out = np.zeros(values.shape, dtype=bool)
    for w in wanted:
        out |= values == w
    return out


def match_value(col: Column, cond: m.MatchValue) -> np.ndarray:
    v = cond.value
    # bool, int and str are distinct payload types: true never equals 1
    if isinstance(v, bool):
        pos, arr = col.bools
    elif isinstance(v, int):
        pos, arr = col.ints
    else:
        pos, arr = col.strings
        if col.use_lookup("string_codes"):
            distinct, codes = col.string_codes
            code = distinct.get(v)
            return col.rows_of(pos[:0]) if code is None else col.rows_at(pos, codes == code)
    return col.rows_at(pos, np.asarray(arr == v))


def distinct_where(col: Column, test: Callable[[str], bool]) -> np.ndarray:
    """Which strings pass `test` (a mask aligned with `strings`), run once per distinct string."""
    distinct, codes = col.string_codes
    hits = np.fromiter((test(s) for s in distinct), dtype=bool, count=len(distinct))
    return np.asarray(hits[codes])


def match_any(col: Column, values: tuple[object, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the values of the type of `values`, and which of them equal one of `values`."""
    if not values:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)
    if isinstance(values[0], str):
        pos, arr = col.strings
        if not col.use_lookup("string_codes"):
            listed = set(values)
            return pos, np.fromiter((s in listed for s in arr), dtype=bool, count=len(arr))
        distinct, codes = col.string_codes
        wanted = [distinct[s] for s in values if isinstance(s, str) and s in distinct]
        return pos, isin(codes, wanted)
    pos, iarr = col.ints
    return pos, isin(iarr, np.array(values, dtype=np.int64))


def match_except(col: Column, cond: m.MatchExcept) -> np.ndarray:
    """Some value is not null and not one of the listed ones (a value of another type counts)."""
    hit = np.ones(len(col.values), dtype=bool)
    hit[col.nulls] = False
    pos, listed = match_any(col, cond.values)
    hit[pos[listed]] = False
    return col.rows_of(np.flatnonzero(hit))


def match_text(col: Column, cond: m.MatchText) -> np.ndarray:
    """Without a text index Qdrant compares default word tokens of both sides."""
    pos = col.strings[0]
    query = word_tokens(cond.text)
    if not query:
        return col.rows_of(pos[:0])
    if not col.use_lookup("string_tokens"):
        arr = col.strings[1]
        wanted = set(query)
        if cond.mode == "all":
            hits = [wanted.issubset(word_tokens(s)) for s in arr]
        elif cond.mode == "any":
            hits = [not wanted.isdisjoint(word_tokens(s)) for s in arr]
        else:
            hits = [contains_phrase(word_tokens(s), query) for s in arr]
        return col.rows_at(pos, np.array(hits, dtype=bool))
    distinct, codes = col.string_codes
    tokens, postings = col.string_tokens
    holders = [postings.get(word) for word in dict.fromkeys(query)]
    found_codes = np.zeros(len(distinct), dtype=bool)
    if cond.mode == "any":
        for found in holders:
            if found is not None:
                found_codes[found] = True
    elif all(found is not None for found in holders):
        # strings holding every word: narrow the rarest word's holders by each other word's
        ordered = sorted((found for found in holders if found is not None), key=len)
        common = ordered[0]
        for found in ordered[1:]:
            member = np.zeros(len(distinct), dtype=bool)
            member[found] = True
            common = common[member[common]]
        if cond.mode == "phrase":
            common = np.array([c for c in common.tolist() if contains_phrase(tokens[c], query)], dtype=np.int64)
        found_codes[common] = True
    return col.rows_at(pos, found_codes[codes])


def contains_phrase(tokens: tuple[str, ...] | list[str], phrase: tuple[str, ...] | list[str]) -> bool:
    """`phrase` occurs as consecutive tokens."""
    k = len(phrase)
    if k == 0 or k > len(tokens):
        return False
    first = phrase[0]
    return any(tokens[i] == first and tuple(tokens[i : i + k]) == tuple(phrase) for i in range(len(tokens) - k + 1))


def match_prefix(col: Column, cond: m.MatchPrefix) -> np.ndarray:
    pos, arr = col.strings
    prefix = cond.prefix
    if col.use_lookup("string_codes"):
        return col.rows_at(pos, distinct_where(col, lambda s: s.startswith(prefix)))
    return col.rows_at(pos, np.fromiter((s.startswith(prefix) for s in arr), dtype=bool, count=len(arr)))


def number_range(col: Column, cond: m.Range) -> np.ndarray:
    pos, arr = col.numbers
    return col.rows_at(pos, in_bounds(arr, cond))


def datetime_range(col: Column, cond: m.DatetimeRange) -> np.ndarray:
    pos, arr = col.datetimes
    return col.rows_at(pos, in_bounds(arr, cond))


def geo_condition(col: Column, cond: m.GeoBoundingBox | m.GeoRadius | m.GeoPolygon) -> np.ndarray:
    pos, lat, lon = col.geo
    if isinstance(cond, m.GeoRadius):
        hits = geo.in_radius(lat, lon, cond)
    elif isinstance(cond, m.GeoBoundingBox):
        hits = geo.in_box(lat, lon, cond)
    else:
        hits = geo.in_polygon(lat, lon, cond)
    return col.rows_at(pos, hits)


def values_count(raw: RawColumn, cond: m.ValuesCount) -> np.ndarray:
    """Some single value's count satisfies all bounds at once."""
    owners, counts = raw.counts
    out = np.zeros(len(raw.per_row), dtype=bool)
    out[owners[in_bounds(counts, cond)]] = True
    return out
