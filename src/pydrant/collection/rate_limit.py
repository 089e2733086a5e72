"""Strict mode's read and write rate limits: a token bucket per collection and kind.

A limit of N allows N tokens a minute: the bucket holds N, starts full and refills at N/60 a
second. A request costs tokens by its size (strict_mode.py says how much); one that costs more
than the bucket can ever hold is refused outright, one that finds too few tokens is refused
with the seconds until they are there (HTTP 429 with `Retry-After`, as Qdrant answers).
"""

from __future__ import annotations

import math
import threading
import time
from typing import Callable

from pydrant.errors import RateLimited


class TokenBucket:
    def __init__(self, per_minute: int, clock: Callable[[], float] | None = None) -> None:
        self.capacity = float(per_minute)
        self.per_second = per_minute / 60.0
        self._clock = clock or time.monotonic
        self._tokens = self.capacity
        self._at = self._clock()
        self._lock = threading.Lock()

    def take(self, cost: int, kind: str) -> None:
        """Consume `cost` tokens, or raise RateLimited (`kind` is "Read" or "Write")."""
        if cost > self.capacity:
            # Qdrant's words, its doubled "than" included: clients match on them.
            raise RateLimited(f"{kind} rate limit exceeded, request larger than than rate limiter capacity, "
                              "please try to split your request", None)
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._at) * self.per_second)
            self._at = now
            if self._tokens >= cost:
                self._tokens -= cost
                return
            wait = max(1, math.ceil((cost - self._tokens) / self.per_second))
            raise RateLimited(f"{kind} rate limit exceeded: Operation requires {cost} tokens but only "
                              f"{math.floor(self._tokens * 10) / 10:.1f} were available. Retry after {wait}s", wait)

