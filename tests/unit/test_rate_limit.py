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
    with pytest.raises(RateLimited, match="request larger than rate limiter capacity") as raised:
        bucket.take(5, "Read")
    assert raised.value.retry_after is None
    bucket.take(4, "Read")  # the refused request took nothing
