"""The strict-mode token bucket: refill rate, capacity, the retry wait, with a fake clock."""

from __future__ import annotations

import pytest

from pydrant.collection.rate_limit import TokenBucket
from pydrant.errors import RateLimited


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_refills_at_the_limit_per_minute_up_to_its_capacity() -> None:
    clock = Clock()
    bucket = TokenBucket(6, clock)  # one token every 10 s
    bucket.take(6, "Write")
    with pytest.raises(RateLimited) as raised:
        bucket.take(1, "Write")
    assert raised.value.retry_after == 10
    assert str(raised.value) == ("Rate limiting exceeded: Write rate limit exceeded: Operation requires 1 tokens "
                                 "but only 0.0 were available. Retry after 10s")
    clock.now += 25  # 2.5 tokens back
    with pytest.raises(RateLimited, match="requires 3 tokens but only 2.5 were available. Retry after 5s"):
        bucket.take(3, "Write")
    bucket.take(2, "Write")
    clock.now += 3600  # never more than the capacity
    bucket.take(6, "Write")
    with pytest.raises(RateLimited):
        bucket.take(1, "Write")


def test_a_request_larger_than_the_capacity_can_never_pass() -> None:
    bucket = TokenBucket(4, Clock())
    with pytest.raises(RateLimited, match="request larger than than rate limiter capacity") as raised:
        bucket.take(5, "Read")
    assert raised.value.retry_after is None
    bucket.take(4, "Read")  # the refused request took nothing


def test_query_cost_counts_leaf_searches_as_qdrant_plans_them() -> None:
    from pydrant.collection.strict_mode import query_cost

    two = {"must": [{"key": "a", "match": {"value": 1}}, {"key": "b", "match": {"value": 2}}]}
    assert query_cost({"query": [0.1, 0.2]}) == 1
    assert query_cost({"query": [0.1, 0.2], "filter": two}) == 3
    # A query over a prefetch is a rescoring of it: only the prefetch's search costs.
    assert query_cost({"query": [0.1], "prefetch": {"query": [0.2], "limit": 5}}) == 1
    # Fusion of two prefetches: two searches, each with the filter above it.
    assert query_cost({"query": {"fusion": "rrf"}, "filter": two,
                       "prefetch": [{"query": [0.1]}, {"query": [0.2], "filter": {"must": [two]}}]}) == 3 + 5
    assert query_cost({"query": {"recommend": {"positive": [1, 2], "negative": [3]}}}) == 3
    assert query_cost({"query": {"discover": {"target": 1, "context": [{"positive": 2, "negative": 3}]}}}) == 1
    assert query_cost({"query": {"context": [{"positive": 2, "negative": 3}, {"positive": 4, "negative": 5}]}}) == 2
    assert query_cost({"query": {"order_by": "n"}}) == 1  # a scroll
