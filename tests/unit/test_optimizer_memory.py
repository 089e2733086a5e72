"""Segments an optimization replaced are freed once it is done: the optimizer thread kept the
last optimization's sources (their vectors and payloads) alive until the next one."""

from __future__ import annotations

import gc
import time
import weakref
from pathlib import Path

import msgspec
import numpy as np

from pydrant.api.rest import routes_points
from pydrant.api.rest.context import RequestContext
from pydrant.service.toc import TableOfContents


def test_replaced_segments_are_freed(tmp_path: Path) -> None:
    toc = TableOfContents(tmp_path / "storage", 3600.0)
    try:
        # 10 KB of 8-dim vectors: segments are sealed past 320 points, then merged and indexed.
        toc.create_collection("c", {"vectors": {"size": 8, "distance": "Cosine"}, "optimizers_config": {"indexing_threshold": 10}})
        collection = toc.get("c")
        rng = np.random.default_rng(0)
        for start in range(0, 3000, 500):
            body = {"points": [{"id": i, "vector": rng.normal(size=8).tolist(), "payload": {"n": i}} for i in range(start, start + 500)]}
            routes_points.upsert_points(RequestContext(toc, {"collection_name": "c"}, b"wait=true", msgspec.json.encode(body)))
        sources = [weakref.ref(segment) for segment in collection.holder.segments]
        deadline = time.monotonic() + 60
        while collection.status() != "green":
            assert time.monotonic() < deadline, "the optimizer never finished"
            collection.optimizer.wake()
            time.sleep(0.02)  # polling the optimizer under a deadline
        gc.collect()
        assert all(ref() is None or ref() in collection.holder.segments for ref in sources)
        assert sum(ref() is None for ref in sources) >= 2  # the merged ones are gone
    finally:
        toc.close()
