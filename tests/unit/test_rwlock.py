"""The collection's readers-writer lock: readers share it, a writer holds it alone, and a
waiting writer is not starved by readers that keep arriving."""

from __future__ import annotations

import threading
import time
from typing import Callable, ContextManager

import pytest

from pydrant.collection.rwlock import RWLock


def wait_for(predicate, what: str, deadline_s: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + deadline_s
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"{what} not reached within {deadline_s}s")
        time.sleep(0.001)  # polling a condition under a deadline


def enters(hold: Callable[[], ContextManager[None]]) -> bool:
    """Whether another thread gets through `with hold():` (waiting at most 5 s)."""
    done = threading.Event()

    def run() -> None:
        with hold():
            done.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    entered = done.wait(5)
    thread.join(5)
    return entered


def test_readers_share_the_lock() -> None:
    lock = RWLock()
    with lock.read():
        assert enters(lock.read), "a second reader must enter while the first holds the lock"


def test_writer_waits_for_readers_and_new_readers_wait_for_the_writer() -> None:
    lock = RWLock()
    order: list[str] = []
    writer_in = threading.Event()

    def writer() -> None:
        with lock.write():
            order.append("writer")
            writer_in.set()

    def late_reader() -> None:
        with lock.read():
            order.append("late reader")

    with lock.read():
        w = threading.Thread(target=writer)
        w.start()
        wait_for(lambda: lock._waiting_writers == 1, "writer waiting")
        r = threading.Thread(target=late_reader)
        r.start()
        # The late reader queues behind the waiting writer instead of slipping in.
        wait_for(lambda: len(lock._cond._waiters) == 2, "late reader waiting")  # type: ignore[attr-defined]
        assert not writer_in.is_set()
        order.append("first reader leaves")
    w.join(5)
    r.join(5)
    assert order == ["first reader leaves", "writer", "late reader"]


def test_an_exception_inside_a_read_releases_it() -> None:
    lock = RWLock()
    with pytest.raises(ValueError):
        with lock.read():
            raise ValueError("boom")
    assert enters(lock.write), "the writer must get the lock once the failed reader left"
