"""Writes to a sealed segment while the optimizer indexes it must not leave an id in two segments.

Found by tools/crasher.py: during and after an optimization, scroll/count/retrieve returned some
ids twice (one copy with a stale vector); after a kill -9 the stale copies were persisted and
later deletes left them behind as phantoms.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from helpers.server import ServerProcess, wait_until
from qdrant_client import QdrantClient
from qdrant_client import models as m

pytestmark = pytest.mark.slow

DIM = 16
SEALED = 1000  # pydrant seals an appendable segment at 1000 points when indexing_threshold is tiny
WRITE_WINDOW_S = 4.0


def all_ids(qc: QdrantClient, name: str) -> list[Any]:
    ids: list[Any] = []
    offset: Any = None
    while True:
        records, offset = qc.scroll(name, limit=500, offset=offset, with_payload=False)
        ids.extend(r.id for r in records)
        if offset is None:
            return ids


@pytest.mark.parametrize("seed", [1, 2])
def test_writes_during_optimization_leave_each_id_once(server_factory: Callable[..., ServerProcess], seed: int) -> None:
    rng = random.Random(seed)
    server = server_factory()
    qc = QdrantClient(url=server.url, prefer_grpc=False, check_compatibility=False, timeout=60)
    try:
        qc.create_collection(
            "opt", vectors_config=m.VectorParams(size=DIM, distance=m.Distance.COSINE),
            optimizers_config=m.OptimizersConfigDiff(indexing_threshold=1),
        )

        def vec() -> list[float]:
            return [rng.gauss(0.0, 1.0) for _ in range(DIM)]

        for start in range(0, SEALED, 100):
            qc.upsert("opt", [m.PointStruct(id=i, vector=vec(), payload={"g": i % 5}) for i in range(start, start + 100)])
        qc.upsert("opt", [m.PointStruct(id=SEALED * 5, vector=vec())])  # seals segment 0, wakes the optimizer
        # Keep writing to points of the sealed segment for a while: some of these writes land
        # between the optimizer's snapshot and its swap (the window the catch-up must cover).
        end = time.monotonic() + WRITE_WINDOW_S
        writes = 0
        while time.monotonic() < end:
            ids = rng.sample(range(SEALED), 20)
            roll = rng.random()
            if roll < 0.5:
                qc.update_vectors("opt", [m.PointVectors(id=i, vector=vec()) for i in ids])
            elif roll < 0.8:
                qc.set_payload("opt", {"x": writes}, points=ids)
            else:
                qc.upsert("opt", [m.PointStruct(id=i, vector=vec(), payload={"g": 1}) for i in ids])
            writes += 1
        wait_until(lambda: qc.get_collection("opt").status == m.CollectionStatus.GREEN, deadline_s=60,
                   what="optimizer idle")
        assert "optimized segments" in server.log_path.read_text(), "the optimizer never ran; the test proves nothing"

        ids = all_ids(qc, "opt")
        dupes = sorted(pid for pid, n in Counter(ids).items() if n > 1)
        assert not dupes, f"seed {seed}: {len(dupes)} ids returned twice by scroll after {writes} writes, e.g. {dupes[:10]}"
        assert qc.count("opt", exact=True).count == SEALED + 1
    finally:
        qc.close()
