"""Concurrent load on loopback: writers and readers for a bounded time, consistency checks, latency table.

Usage: python tools/load.py [--writers 8] [--readers 8] [--seconds 60] [--seed 1]

Invariant: writer w owns `slots` groups of `batch` consecutive ids. Every write covers one whole
slot (upsert of all its ids, or set_payload on all of them) and stamps the same `seq` on each, so
any read of a slot sees either nothing (never written) or all its ids with one `seq`; that `seq`
is at least the last one acknowledged before the read began and at most the last one issued.
Vectors are a function of (`vseq`, id), so a vector read back is checkable too.
Exit status 0 only with no errors, no violations and no lost writes.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from collections import defaultdict
from contextlib import closing
from pathlib import Path
from typing import Any

import numpy as np
from qdrant_client import QdrantClient
from qdrant_client import models as m
from server_proc import Server

COLLECTION = "load"
DIM = 32
ID_SPACE = 1 << 32
REQUEST_TIMEOUT_S = 60
FINAL_CHUNK = 25  # slots per retrieve in the final check

Slot = tuple[int, int]  # (writer, slot)


def slot_ids(slot: Slot, batch: int) -> list[Any]:
    writer, index = slot
    start = writer * ID_SPACE + index * batch
    return list(range(start, start + batch))


def vector_for(vseq: int, point_id: int) -> list[float]:
    """Deterministic float32 values, so a reader can recompute what it should see."""
    rng = np.random.default_rng([vseq, point_id])
    return rng.standard_normal(DIM).astype(np.float32).tolist()  # type: ignore[no-any-return]


def percentile(sorted_ms: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(sorted_ms), q)) if sorted_ms else float("nan")


class Load:
    def __init__(self, args: argparse.Namespace, url: str) -> None:
        self.args = args
        self.url = url
        self.stop = threading.Event()
        # Written only by the slot's owner thread (plain dict stores are atomic); read by readers.
        self.issued: dict[Slot, int] = {}
        self.acked: dict[Slot, tuple[int, int]] = {}  # slot -> (seq, vseq) of the last acknowledged write
        self.latencies: dict[str, list[list[float]]] = defaultdict(list)
        self.errors: list[str] = []
        self.violations: list[str] = []
        self._lock = threading.Lock()

    def client(self) -> QdrantClient:
        return QdrantClient(url=self.url, prefer_grpc=False, check_compatibility=False, timeout=REQUEST_TIMEOUT_S)

    def note(self, bucket: list[str], message: str) -> None:
        with self._lock:
            bucket.append(message)
            if len(bucket) <= 20:
                print(message, flush=True)

    def timer(self) -> dict[str, list[float]]:
        """Per-thread latency lists (ms), merged at the end."""
        mine: dict[str, list[float]] = defaultdict(list)
        with self._lock:
            for op in ("upsert", "set_payload", "retrieve", "scroll", "count", "query"):
                self.latencies[op].append(mine[op])
        return mine

    def setup(self) -> None:
        with closing(self.client()) as qc:
            if qc.collection_exists(COLLECTION):
                qc.delete_collection(COLLECTION)
            qc.create_collection(COLLECTION, vectors_config=m.VectorParams(size=DIM, distance=m.Distance.DOT))
            qc.create_payload_index(COLLECTION, "writer", m.PayloadSchemaType.INTEGER, wait=True)
            qc.create_payload_index(COLLECTION, "slot", m.PayloadSchemaType.INTEGER, wait=True)

    # ---- writers ----------------------------------------------------------------------------
    def writer(self, w: int) -> None:
        rng = random.Random(f"{self.args.seed}/w{w}")
        lat = self.timer()
        seq = w * ID_SPACE  # seqs are unique across writers: seq identifies one write
        with closing(self.client()) as qc:
            while not self.stop.is_set():
                slot = (w, rng.randrange(self.args.slots))
                ids = slot_ids(slot, self.args.batch)
                seq += 1
                self.issued[slot] = seq
                prior = self.acked.get(slot)
                payload = {"writer": w, "slot": slot[1], "seq": seq}
                try:
                    started = time.perf_counter()
                    if prior is None or rng.random() < 0.5:
                        points = [m.PointStruct(id=pid, vector=vector_for(seq, pid), payload={**payload, "vseq": seq})
                                  for pid in ids]
                        qc.upsert(COLLECTION, points, wait=True)
                        lat["upsert"].append((time.perf_counter() - started) * 1000)
                        self.acked[slot] = (seq, seq)
                    else:
                        qc.set_payload(COLLECTION, {"seq": seq}, points=ids, wait=True)
                        lat["set_payload"].append((time.perf_counter() - started) * 1000)
                        self.acked[slot] = (seq, prior[1])
                except Exception as exc:  # noqa: BLE001 - any failure is a finding, reported below
                    self.note(self.errors, f"writer {w}: {exc!r}")
                    return

    # ---- readers ----------------------------------------------------------------------------
    def reader(self, r: int) -> None:
        rng = random.Random(f"{self.args.seed}/r{r}")
        lat = self.timer()
        with closing(self.client()) as qc:
            while not self.stop.is_set():
                slot = (rng.randrange(self.args.writers), rng.randrange(self.args.slots))
                acked_before = self.acked.get(slot)
                op = rng.random()
                try:
                    started = time.perf_counter()
                    if op < 0.35:
                        with_vectors = rng.random() < 0.5
                        records = qc.retrieve(COLLECTION, slot_ids(slot, self.args.batch), with_vectors=with_vectors)
                        lat["retrieve"].append((time.perf_counter() - started) * 1000)
                        self.check_slot("retrieve", slot, records, acked_before, with_vectors)
                    elif op < 0.6:
                        flt = m.Filter(must=[m.FieldCondition(key="writer", match=m.MatchValue(value=slot[0])),
                                             m.FieldCondition(key="slot", match=m.MatchValue(value=slot[1]))])
                        records, _ = qc.scroll(COLLECTION, scroll_filter=flt, limit=self.args.batch + 5)
                        lat["scroll"].append((time.perf_counter() - started) * 1000)
                        self.check_slot("scroll", slot, records, acked_before, False)
                    elif op < 0.8:
                        written_before = sum(1 for s in range(self.args.slots) if (slot[0], s) in self.acked)
                        started = time.perf_counter()
                        flt = m.Filter(must=[m.FieldCondition(key="writer", match=m.MatchValue(value=slot[0]))])
                        count = qc.count(COLLECTION, count_filter=flt, exact=True).count
                        lat["count"].append((time.perf_counter() - started) * 1000)
                        self.check_count(slot[0], count, written_before)
                    else:
                        query = [rng.gauss(0.0, 1.0) for _ in range(DIM)]
                        flt = m.Filter(must=[m.FieldCondition(key="writer", match=m.MatchValue(value=slot[0]))])
                        hits = qc.query_points(COLLECTION, query=query, query_filter=flt, limit=10).points
                        lat["query"].append((time.perf_counter() - started) * 1000)
                        self.check_query(slot[0], hits)
                except Exception as exc:  # noqa: BLE001 - any failure is a finding, reported below
                    self.note(self.errors, f"reader {r}: {exc!r}")
                    return

    def check_slot(self, how: str, slot: Slot, records: list[Any], acked_before: tuple[int, int] | None, vectors: bool) -> None:
        issued_after = self.issued.get(slot)
        where = f"{how} of slot {slot}"
        if not records:
            if acked_before is not None:
                self.note(self.violations, f"{where}: nothing returned, but seq {acked_before[0]} was acknowledged before the read")
            return
        ids = sorted(r.id for r in records)
        if ids != slot_ids(slot, self.args.batch):
            self.note(self.violations, f"{where}: half a batch visible: {len(ids)} of {self.args.batch} ids")
            return
        stamps = {(r.payload["seq"], r.payload["vseq"]) for r in records}
        if len(stamps) != 1:
            self.note(self.violations, f"{where}: mixed writes visible: (seq, vseq) {sorted(stamps)}")
            return
        seq, vseq = stamps.pop()
        if acked_before is not None and seq < acked_before[0]:
            self.note(self.violations, f"{where}: stale read: seq {seq} < acknowledged {acked_before[0]}")
        if issued_after is None or seq > issued_after:
            self.note(self.violations, f"{where}: seq {seq} was never issued (last issued {issued_after})")
        if vectors:
            for r in records:
                if not np.array_equal(np.asarray(r.vector, dtype=np.float32), np.asarray(vector_for(vseq, r.id), dtype=np.float32)):
                    self.note(self.violations, f"{where}: point {r.id} vector does not belong to vseq {vseq}")
                    return

    def check_count(self, writer: int, count: int, written_before: int) -> None:
        batch, slots = self.args.batch, self.args.slots
        if count % batch or not written_before * batch <= count <= slots * batch:
            self.note(self.violations, f"count writer={writer}: {count} (batch {batch}, "
                                       f"{written_before} slots acknowledged before the read)")

    def check_query(self, writer: int, hits: list[Any]) -> None:
        scores = [h.score for h in hits]
        if scores != sorted(scores, reverse=True) or len({h.id for h in hits}) != len(hits):
            self.note(self.violations, f"query writer={writer}: scores not descending or duplicate ids: {[(h.id, h.score) for h in hits]}")
        for h in hits:
            if h.payload is None or h.payload.get("writer") != writer or h.id // ID_SPACE != writer:
                self.note(self.violations, f"query writer={writer}: hit {h.id} with payload {h.payload}")
                return

    # ---- end check --------------------------------------------------------------------------
    def final_check(self) -> int:
        """Every acknowledged write is there: the last acked seq per slot, and nothing else."""
        with closing(self.client()) as qc:
            slots = sorted(self.acked.items())
            for start in range(0, len(slots), FINAL_CHUNK):
                chunk = slots[start:start + FINAL_CHUNK]
                wanted = [pid for slot, _ in chunk for pid in slot_ids(slot, self.args.batch)]
                by_slot: dict[Slot, list[Any]] = defaultdict(list)
                for r in qc.retrieve(COLLECTION, wanted, with_vectors=True):
                    pid = int(r.id)  # load.py writes integer ids only
                    by_slot[(pid // ID_SPACE, (pid % ID_SPACE) // self.args.batch)].append(r)
                for slot, acked in chunk:
                    self.check_slot("final retrieve", slot, by_slot[slot], acked, True)
                    got = {(r.payload["seq"], r.payload["vseq"]) for r in by_slot[slot]}
                    if got != {acked}:
                        self.note(self.violations, f"lost write: slot {slot} holds {sorted(got)}, last acknowledged {acked}")
            total = qc.count(COLLECTION, exact=True).count
            if total != len(self.acked) * self.args.batch:
                self.note(self.violations, f"final count {total} != {len(self.acked)} slots x {self.args.batch}")
        return len(self.acked)

    def run(self) -> float:
        threads = [threading.Thread(target=self.writer, args=(w,), name=f"writer-{w}") for w in range(self.args.writers)]
        threads += [threading.Thread(target=self.reader, args=(r,), name=f"reader-{r}") for r in range(self.args.readers)]
        started = time.monotonic()
        for t in threads:
            t.start()
        self.stop.wait(self.args.seconds)  # the run's duration, not a synchronisation
        self.stop.set()
        for t in threads:
            t.join()
        return time.monotonic() - started

    def table(self, elapsed: float) -> str:
        rows = ["| operation | requests | req/s | p50 ms | p95 ms | p99 ms | max ms |",
                "|---|---:|---:|---:|---:|---:|---:|"]
        for op in ("upsert", "set_payload", "retrieve", "scroll", "count", "query"):
            values = sorted(v for part in self.latencies[op] for v in part)
            if not values:
                continue
            rows.append(f"| {op} | {len(values)} | {len(values) / elapsed:.1f} | {percentile(values, 50):.1f} | "
                        f"{percentile(values, 95):.1f} | {percentile(values, 99):.1f} | {values[-1]:.1f} |")
        return "\n".join(rows)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--writers", type=int, default=8)
    p.add_argument("--readers", type=int, default=8)
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--slots", type=int, default=200, help="slots per writer")
    p.add_argument("--batch", type=int, default=16, help="points per slot (one write covers a slot)")
    p.add_argument("--storage", type=Path, help="storage dir (default: a temp dir, removed afterwards)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    temp = None if args.storage else Path(tempfile.mkdtemp(prefix="pydrant-load-"))
    storage = args.storage or temp / "storage"  # type: ignore[operator]
    log_path = (temp or storage.parent) / "load-server.log"
    server = Server(storage, log_path)
    try:
        server.start()
        load = Load(args, server.url)
        load.setup()
        elapsed = load.run()
        slots = load.final_check()
        code = server.stop()
        if code != 0:
            load.note(load.errors, f"server exited with {code} on SIGTERM")
    finally:
        server.kill()
    print(f"\nload: {args.writers} writers + {args.readers} readers, {elapsed:.0f} s, batch {args.batch}, dim {DIM}, "
          f"{os.cpu_count()} CPUs, loopback; {slots} slots written ({slots * args.batch} points)\n")
    print(load.table(elapsed))
    print(f"\nerrors: {len(load.errors)}, violations: {len(load.violations)}")
    for line in (load.errors + load.violations)[:30]:
        print(f"  - {line}")
    failed = bool(load.errors or load.violations)
    print(f"RESULT: {'FAILED' if failed else 'OK'}")
    if failed:
        print(f"server log at {log_path}")
        return 1
    if temp is not None:
        shutil.rmtree(temp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
