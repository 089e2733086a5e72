"""The optimizer thread runs at a lower CPU priority than the threads serving requests, so a
background index build yields the CPU to them."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from pydrant.collection.optimizer import OPTIMIZER_NICENESS
from pydrant.service.toc import TableOfContents

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread priority is Linux only")


def test_the_optimizer_thread_is_niced_and_the_request_thread_is_not(tmp_path: Path) -> None:
    toc = TableOfContents(tmp_path / "storage", 3600.0)
    try:
        toc.create_collection("c", {"vectors": {"size": 4, "distance": "Dot"}})
        optimizer = toc.get("c").optimizer
        own = os.getpriority(os.PRIO_PROCESS, 0)
        thread_id = optimizer._thread.native_id
        assert thread_id is not None
        # the thread lowers its priority as it starts, which may be just after this point
        for _ in range(10_000):
            nice = int(Path(f"/proc/self/task/{thread_id}/stat").read_text().rsplit(")", 1)[1].split()[16])
            if nice != own:
                break
        assert nice == min(own + OPTIMIZER_NICENESS, 19)
        assert os.getpriority(os.PRIO_PROCESS, 0) == own  # this (request) thread is untouched
    finally:
        toc.close()
