"""Qdrant's estimate of how many points a filter matches, without evaluating it: field indexes
answer the conditions they can; any other condition is "unknown", expected to match half of
the segment. Independent conditions combine as probabilities (must: product, should: one minus
the product of misses, must_not: the complement). Strict mode charges a filtered write this
many tokens, as Qdrant does."""

from __future__ import annotations

from typing import Any

from pydrant.segment.filtering import model as m


def expected_matches(flt: m.Filter, segment: Any) -> int:
    """The expected number of the segment's live points that `flt` matches (Qdrant's `exp`)."""
    total = segment.live_count
    if total == 0:
        return 0
    return int(_filter(flt, segment, total))


def _filter(flt: m.Filter, segment: Any, total: int) -> float:
    parts = []
    if flt.should:
        parts.append(_should([_condition(c, segment, total) for c in flt.should], total))
    if flt.min_should is not None:
        parts.append(_should([_condition(c, segment, total) for c in flt.min_should.conditions], total))
    if flt.must:
        parts.append(_must([_condition(c, segment, total) for c in flt.must], total))
    if flt.must_not:
        parts.append(total - _should([_condition(c, segment, total) for c in flt.must_not], total))
    return _must(parts, total) if parts else float(total)


def _must(estimates: list[float], total: int) -> float:
    share = 1.0
    for exp in estimates:
        share *= exp / total
    return share * total


def _should(estimates: list[float], total: int) -> float:
    missed = 1.0
    for exp in estimates:
        missed *= 1.0 - exp / total
    return (1.0 - missed) * total


def _condition(cond: m.Condition, segment: Any, total: int) -> float:
    if isinstance(cond, m.Filter):
        return _filter(cond, segment, total)
    if isinstance(cond, m.HasId):
        return float(min(len(cond.ids), total))
    if isinstance(cond, m.AnyOf):
        return _should([_condition(c, segment, total) for c in cond.conditions], total)
    key = getattr(cond, "key", None)
    if key is not None and not isinstance(cond, m.Nested):
        index = segment.field_index(key)
        estimate = None if index is None else index.estimate(cond)
        if estimate is not None:
            return float(min(estimate, total))
    return float(total // 2)  # Qdrant's unknown estimation: half of the segment
