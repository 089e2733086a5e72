"""Closing a collection while its optimizer builds a graph stops the build between chunks:
the sources stay as they were, nothing half-built reaches disk, and every point is kept."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import msgspec
import numpy as np
import pytest

from pydrant.api.rest import routes_points
from pydrant.api.rest.context import RequestContext
from pydrant.collection.manifest import load_manifest
from pydrant.segment.vector_index import hnsw
from pydrant.service.toc import TableOfContents

N, DIM = 30_000, 64


def test_close_during_a_graph_build_cancels_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="pydrant.optimizer")
    monkeypatch.setattr(hnsw, "BUILD_CHUNK_ROWS", 256)  # a long build in many small steps
    toc = TableOfContents(tmp_path / "storage", 3600.0)
    toc.create_collection("c", {"vectors": {"size": DIM, "distance": "Dot"},
                                "optimizers_config": {"indexing_threshold": 1}})
    collection = toc.get("c")
    rng = np.random.default_rng(1)
    for start in range(0, N, 5000):
        body = {"batch": {"ids": list(range(start, start + 5000)),
                          "vectors": rng.normal(size=(5000, DIM)).astype(np.float32).tolist()}}
        routes_points.upsert_points(RequestContext(toc, {"collection_name": "c"}, b"wait=true", msgspec.json.encode(body)))
    deadline = time.monotonic() + 60
    while not collection.optimizer.busy:
        assert time.monotonic() < deadline, "the optimizer never started"
        time.sleep(0.001)  # polling for the build to start, under a deadline
    toc.close()
    assert not collection.optimizer._thread.is_alive()
    # Stopped between chunks, not run to the end and then refused at the swap.
    assert any("index build stopped for shutdown" in r.getMessage() for r in caplog.records)
    running, completed = collection.optimizer.log.snapshot()
    assert running is None and "cancelled" in completed[0].status  # the record says so too
    stages = {stage.name: stage for stage in completed[0].root.children}
    assert stages["swapping"].started is None and completed[0].root.finished is not None
    manifest = load_manifest(collection.directory)
    files = [name for entry in manifest.segments for value in entry.files.values()
             for name in (value["files"] if isinstance(value, dict) else [value])]
    assert files and not any(name.endswith(".faiss") for name in files), "no graph may have been swapped in"
    reopened = TableOfContents(tmp_path / "storage", 3600.0)
    try:
        assert sum(s.live_count for s in reopened.get("c").segments()) == N
    finally:
        reopened.close()
