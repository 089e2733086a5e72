"""Row blocks of one exact scan spread over the CPU cores.

numpy's matrix-vector product releases the GIL, so blocks scored in a small thread pool use
every core for a single query (the server pins BLAS itself to one thread, see cli.py: BLAS
threads and faiss's OpenMP threads spin against each other). A brute-force scan is bound by
memory bandwidth, and two cores read it nearly twice as fast as one.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, TypeVar

T = TypeVar("T")

# Below this many rows per block the thread hand-off costs more than the block.
MIN_BLOCK_ROWS = 16_384
WORKERS = max(1, os.cpu_count() or 1)

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="pydrant-scan")
    return _pool


def blocks(n: int, workers: int | None = None, min_rows: int | None = None) -> list[tuple[int, int]]:
    """[lo, hi) ranges covering 0..n: one per worker, none shorter than `min_rows` (at least one)."""
    if n <= 0:
        return [(0, 0)]
    workers = WORKERS if workers is None else workers
    min_rows = MIN_BLOCK_ROWS if min_rows is None else min_rows
    parts = max(1, min(workers, n // max(1, min_rows)))
    step = -(-n // parts)
    return [(lo, min(n, lo + step)) for lo in range(0, n, step)]


def map_blocks(fn: Callable[[int, int], T], n: int) -> list[T]:
    """`fn(lo, hi)` for each block of 0..n, the first on the calling thread, the rest in the pool."""
    ranges = blocks(n)
    if len(ranges) == 1:
        return [fn(*ranges[0])]
    futures = [_executor().submit(fn, lo, hi) for lo, hi in ranges[1:]]
    first = fn(*ranges[0])
    return [first, *(f.result() for f in futures)]
