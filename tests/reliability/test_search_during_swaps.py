"""Search stays correct while the optimizer seals, indexes and swaps segments under writes.

Anchor points keep fixed vectors (only their payload changes, in place); other points are
upserted and re-embedded all the time, which seals segments and moves points between them.
Every exact, filtered search on the anchors must equal numpy brute force at every moment, and
indexed searches must return `limit` anchors."""

from __future__ import annotations

import threading
from typing import Callable

import numpy as np
import pytest
from qdrant_client import QdrantClient
from qdrant_client import models as m

from helpers.server import ServerProcess, wait_until

pytestmark = pytest.mark.slow

DIM = 16
ANCHORS = 1500
ANCHOR_FILTER = m.Filter(must=[m.FieldCondition(key="kind", match=m.MatchValue(value="anchor"))])


def test_search_is_exact_while_segments_swap(server_factory: Callable[..., ServerProcess]) -> None:
    rng = np.random.default_rng(3)
    server = server_factory(env={"PYDRANT__STORAGE__FLUSH_INTERVAL_SEC": "0.3"})
    qc = QdrantClient(url=server.url, prefer_grpc=False, check_compatibility=False, timeout=60)
    anchors = rng.standard_normal((ANCHORS, DIM)).astype(np.float32)
    unit = anchors / np.linalg.norm(anchors, axis=1, keepdims=True)
    try:
        qc.create_collection("swap", vectors_config=m.VectorParams(size=DIM, distance=m.Distance.COSINE),
                             optimizers_config=m.OptimizersConfigDiff(indexing_threshold=1))
        qc.create_payload_index("swap", "kind", m.PayloadSchemaType.KEYWORD, wait=True)
        for start in range(0, ANCHORS, 500):
            qc.upsert("swap", [m.PointStruct(id=i, vector=anchors[i].tolist(), payload={"kind": "anchor", "n": 0})
                               for i in range(start, start + 500)])
        stop = threading.Event()
        errors: list[BaseException] = []

        def churn() -> None:
            wrng = np.random.default_rng(4)
            writer = QdrantClient(url=server.url, prefer_grpc=False, check_compatibility=False, timeout=60)
            step = 0
            written: list[int] = []
            try:
                while not stop.is_set() and step < 400:
                    vectors = wrng.standard_normal((50, DIM)).tolist()
                    if step % 3 == 2:  # re-embed points written before: moves them between segments
                        ids = [written[int(x)] for x in wrng.integers(0, len(written), 50)]
                        writer.update_vectors("swap", [m.PointVectors(id=i, vector=v) for i, v in zip(ids, vectors)])
                    else:
                        ids = [100_000 + int(x) for x in wrng.integers(0, 3000, 50)]
                        writer.upsert("swap", [m.PointStruct(id=i, vector=v, payload={"kind": "churn"}) for i, v in zip(ids, vectors)])
                        written.extend(ids)
                    writer.set_payload("swap", {"n": step}, points=[int(x) for x in wrng.integers(0, ANCHORS, 20)])
                    step += 1
                    if step % 40 == 0:
                        # Load shaping, not synchronisation: the optimizer starts builds when
                        # writes pause, so pause now and then and keep writing through its swap.
                        stop.wait(1.5)
            except BaseException as exc:  # reported by the main thread
                errors.append(RuntimeError(f"writer failed at step {step}: {exc!r} {getattr(exc, 'content', b'')[:300]!r}"))
            finally:
                writer.close()

        thread = threading.Thread(target=churn)
        thread.start()
        checked = 0
        try:
            while thread.is_alive() and checked < 5000:  # the writer is bounded (400 steps)
                q = rng.standard_normal(DIM).astype(np.float32)
                truth = np.argsort(-(unit @ (q / np.linalg.norm(q))), kind="stable")[:10]
                exact = qc.query_points("swap", query=q.tolist(), query_filter=ANCHOR_FILTER, limit=10,
                                        search_params=m.SearchParams(exact=True))
                assert [p.id for p in exact.points] == truth.tolist(), f"exact search wrong after {checked} checks"
                indexed = qc.query_points("swap", query=q.tolist(), query_filter=ANCHOR_FILTER, limit=10)
                assert len(indexed.points) == 10 and all(p.id < ANCHORS for p in indexed.points)
                checked += 1
        finally:
            stop.set()
            thread.join()
        assert not errors, errors
        assert checked > 20, "too few checks ran alongside the writes to prove anything"
        wait_until(lambda: qc.get_collection("swap").status == m.CollectionStatus.GREEN, deadline_s=90, what="optimizer idle")
        swaps = server.log_path.read_text().count("optimized segments")
        assert swaps >= 2, f"only {swaps} optimizer swaps: the searches did not run across swaps"
        assert qc.count("swap", count_filter=ANCHOR_FILTER).count == ANCHORS
    finally:
        qc.close()
