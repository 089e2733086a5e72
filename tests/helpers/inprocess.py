"""Helpers for tests that drive a collection in process (no server)."""

from __future__ import annotations

import time

from pydrant.collection.collection import Collection


def wait_green(collection: Collection, timeout: float = 60.0) -> None:
    """Wake the optimizer until the collection has nothing left to optimize."""
    deadline = time.monotonic() + timeout
    while collection.status() != "green":
        assert time.monotonic() < deadline, "optimizer did not finish"
        collection.optimizer.wake()
        time.sleep(0.02)  # polling the optimizer under a deadline
