"""Crash soak: writers and readers on loopback, kill -9 at seeded random moments, full checks after each restart.

Usage: python tools/crasher.py --seconds 1800 --seed 7 [--storage DIR] [--writers 4] [--readers 2]
Exit status 0 only if every check held; a summary goes to stdout.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from qdrant_client import QdrantClient
from qdrant_client import models as m
from server_proc import Server

COLLECTION = "crasher"
DIM = 16
TAGS = ("red", "green", "blue", "amber", "teal")
# Writer w owns the integer ids [w * ID_SPACE, w * ID_SPACE + ids_per_writer) and the UUIDs whose
# top 64 bits are w + 1, so each id has one writer and its "last confirmed" state is well defined.
ID_SPACE = 1 << 40
PAGE = 500
REQUEST_TIMEOUT_S = 30
MAX_PRINTED_FAILURES = 60
# Vectors come back normalised (Cosine); the model normalises in float64, the server in float32.
VEC_RTOL, VEC_ATOL = 1e-5, 1e-6

PointId = Any  # int or canonical UUID str
State = tuple[np.ndarray, dict[str, Any]] | None  # (normalised vector, payload); None = absent


def owner_of(point_id: PointId) -> int:
    if isinstance(point_id, int):
        return point_id // ID_SPACE
    return (uuid.UUID(point_id).int >> 64) - 1


def id_order(point_id: PointId) -> tuple[int, int]:
    return (0, point_id) if isinstance(point_id, int) else (1, uuid.UUID(point_id).int)


def normalised(vector: list[float]) -> np.ndarray:
    v = np.asarray(vector, dtype=np.float64)
    return (v / np.linalg.norm(v)).astype(np.float32)


def same_state(got: State, want: State) -> bool:
    if got is None or want is None:
        return got is None and want is None
    return got[1] == want[1] and got[0].shape == want[0].shape and bool(
        np.allclose(got[0], want[0], rtol=VEC_RTOL, atol=VEC_ATOL))


def describe(state: State) -> str:
    return "absent" if state is None else f"payload={state[1]} vector[:3]={state[0][:3].tolist()}"


def keyword(key: str, value: Any) -> m.FieldCondition:
    return m.FieldCondition(key=key, match=m.MatchValue(value=value))


@dataclass
class Pending:
    """The write a thread had in flight when the server died (or answered with an error):
    afterwards every touched id must be in its `before` state, or every one in its `after` state."""

    kind: str
    before: dict[PointId, State]
    after: dict[PointId, State]


@dataclass
class Writer:
    index: int
    ids_per_writer: int
    rng: random.Random
    confirmed: dict[PointId, State] = field(default_factory=dict)  # present ids only
    pending: Pending | None = None
    seq: int = 0
    done: Counter[str] = field(default_factory=Counter)

    def new_id(self, rng: random.Random | None = None) -> PointId:
        rng = rng or self.rng
        k = rng.randrange(self.ids_per_writer)
        if rng.random() < 0.15:
            return str(uuid.UUID(int=((self.index + 1) << 64) | k))
        return self.index * ID_SPACE + k

    def vector(self) -> list[float]:
        v = np.asarray([self.rng.gauss(0.0, 1.0) for _ in range(DIM)], dtype=np.float32)
        if not v.any():  # Cosine cannot normalise the zero vector
            v[0] = 1.0
        return v.tolist()  # type: ignore[no-any-return]


class Soak:
    def __init__(self, args: argparse.Namespace, server: Server) -> None:
        self.args = args
        self.server = server
        self.rng = random.Random(args.seed)
        self.writers = [Writer(w, args.ids_per_writer, random.Random(f"{args.seed}/w{w}")) for w in range(args.writers)]
        self.crashing = threading.Event()
        self.stop = threading.Event()
        self.failures: list[str] = []
        self._fail_lock = threading.Lock()
        self.stats: Counter[str] = Counter()  # updated by the main thread only
        self.reads = [0] * args.readers  # one slot per reader thread

    # ---- bookkeeping ----------------------------------------------------------------------
    def fail(self, message: str) -> None:
        with self._fail_lock:
            self.failures.append(message)
            shown = len(self.failures) <= MAX_PRINTED_FAILURES
        if shown:  # a broken invariant repeats on every read; the count goes in the summary
            print(f"FAIL: {message}", flush=True)

    def model(self) -> dict[PointId, State]:
        out: dict[PointId, State] = {}
        for writer in self.writers:
            out.update(writer.confirmed)
        return out

    def client(self) -> QdrantClient:
        return QdrantClient(url=self.server.url, prefer_grpc=False, check_compatibility=False, timeout=REQUEST_TIMEOUT_S)

    # ---- setup ------------------------------------------------------------------------------
    def create_collection(self, qc: QdrantClient) -> None:
        if qc.collection_exists(COLLECTION):
            qc.delete_collection(COLLECTION)
        qc.create_collection(
            COLLECTION,
            vectors_config=m.VectorParams(size=DIM, distance=m.Distance.COSINE),
            # Small WAL segments: rotation and truncation happen during the run.
            wal_config=m.WalConfigDiff(wal_capacity_mb=1),
            # A low indexing threshold seals segments early (pydrant: at 1000 points), so the
            # optimizer indexes, vacuums and merges them while writers run and kills land.
            optimizers_config=m.OptimizersConfigDiff(indexing_threshold=self.args.indexing_threshold_kb),
        )
        qc.create_payload_index(COLLECTION, "tag", m.PayloadSchemaType.KEYWORD, wait=True)
        qc.create_payload_index(COLLECTION, "writer", m.PayloadSchemaType.INTEGER, wait=True)
        qc.create_payload_index(COLLECTION, "n", m.PayloadSchemaType.INTEGER, wait=True)

    # ---- writers ----------------------------------------------------------------------------
    def plan_write(self, w: Writer) -> tuple[Pending, Callable[[QdrantClient, bool], Any]]:
        """Choose the next write and what it does to the writer's ids (before -> after)."""
        w.seq += 1
        roll = w.rng.random()
        present = list(w.confirmed)
        if roll < 0.45 or len(present) < 20:
            ids = list(dict.fromkeys(w.new_id() for _ in range(w.rng.randint(1, 48))))
            vectors = {pid: w.vector() for pid in ids}
            payloads = {pid: self.payload(w, w.rng.choice(TAGS)) for pid in ids}
            points = [m.PointStruct(id=pid, vector=vectors[pid], payload=payloads[pid]) for pid in ids]
            after: dict[PointId, State] = {pid: (normalised(vectors[pid]), payloads[pid]) for pid in ids}
            return self._pending(w, "upsert", after), lambda qc, wait: qc.upsert(COLLECTION, points, wait=wait)
        if roll < 0.70:
            ids = w.rng.sample(present, min(len(present), w.rng.randint(1, 32)))
            tag = w.rng.choice(TAGS)
            patch = {"tag": tag, "tag_raw": tag, "n": w.rng.randrange(1000), "seq": w.seq}
            after = {pid: (w.confirmed[pid][0], {**w.confirmed[pid][1], **patch}) for pid in ids}  # type: ignore[index]
            return self._pending(w, "set_payload", after), lambda qc, wait: qc.set_payload(COLLECTION, patch, points=ids, wait=wait)
        if roll < 0.92:
            ids = w.rng.sample(present, min(len(present), w.rng.randint(1, 32)))
            vectors = {pid: w.vector() for pid in ids}
            after = {pid: (normalised(vectors[pid]), w.confirmed[pid][1]) for pid in ids}  # type: ignore[index]
            updates = [m.PointVectors(id=pid, vector=vectors[pid]) for pid in ids]
            return self._pending(w, "update_vectors", after), lambda qc, wait: qc.update_vectors(COLLECTION, updates, wait=wait)
        # Delete by a filter on fields this writer alone controls: the matched ids come from its model.
        tag = w.rng.choice(TAGS)
        flt = m.Filter(must=[keyword("writer", w.index), keyword("tag", tag)])
        matched = [pid for pid, st in w.confirmed.items() if st is not None and st[1]["tag"] == tag]
        after = {pid: None for pid in matched}
        selector = m.FilterSelector(filter=flt)
        return self._pending(w, "delete_filter", after), lambda qc, wait: qc.delete(COLLECTION, selector, wait=wait)

    def payload(self, w: Writer, tag: str) -> dict[str, Any]:
        return {"writer": w.index, "tag": tag, "tag_raw": tag, "n": w.rng.randrange(1000), "seq": w.seq}

    @staticmethod
    def _pending(w: Writer, kind: str, after: dict[PointId, State]) -> Pending:
        return Pending(kind, {pid: w.confirmed.get(pid) for pid in after}, after)

    def run_writer(self, w: Writer) -> None:
        qc = self.client()
        try:
            while not self.stop.is_set() and not self.crashing.is_set():
                pending, call = self.plan_write(w)
                # Acknowledged wait=false writes are in the fsynced WAL: they must survive a kill too.
                wait = w.rng.random() < 0.8
                w.pending = pending
                try:
                    call(qc, wait)
                except Exception as exc:  # noqa: BLE001 - any failure is a finding, reported below
                    if not self.crashing.is_set():
                        self.fail(f"writer {w.index}: {pending.kind} failed while the server was up: {exc!r}")
                    return  # the outcome is unknown; resolved after the restart
                apply_after(w.confirmed, pending.after)
                w.pending = None
                w.done[pending.kind] += 1
        finally:
            qc.close()

    # ---- readers ----------------------------------------------------------------------------
    def run_reader(self, index: int) -> None:
        rng = random.Random(f"{self.args.seed}/r{index}/{self.server.starts}")
        qc = self.client()
        try:
            while not self.stop.is_set() and not self.crashing.is_set():
                try:
                    self.read_once(qc, rng)
                    self.reads[index] += 1
                except AssertionError as exc:
                    self.fail(f"reader {index}: {exc}")
                except Exception as exc:  # noqa: BLE001 - any failure is a finding, reported below
                    if not self.crashing.is_set():
                        self.fail(f"reader {index}: request failed while the server was up: {exc!r}")
                    return
        finally:
            qc.close()

    def read_once(self, qc: QdrantClient, rng: random.Random) -> None:
        """Checks that hold whatever the writers do: each point carries its owner's index,
        which never changes, so a filter on it must be honoured and ids keep their owner."""
        writer = rng.randrange(len(self.writers))
        flt = m.Filter(must=[keyword("writer", writer)]) if rng.random() < 0.5 else None
        op = rng.random()
        if op < 0.4:
            query = [rng.gauss(0.0, 1.0) for _ in range(DIM)]
            hits = qc.query_points(COLLECTION, query=query, query_filter=flt, limit=10, with_payload=True).points
            ids = [h.id for h in hits]
            assert len(ids) == len(set(ids)), f"query returned duplicate ids {ids}"
            scores = [h.score for h in hits]
            assert scores == sorted(scores, reverse=True), f"query scores not descending: {scores}"
            self.check_records(hits, flt, writer)
        elif op < 0.8:
            records, _ = qc.scroll(COLLECTION, scroll_filter=flt, limit=rng.randint(1, 200), with_payload=True)
            ids = [r.id for r in records]
            dupes = sorted((pid for pid, n in Counter(ids).items() if n > 1), key=id_order)
            assert not dupes, f"scroll page holds ids more than once: {dupes[:10]}"
            assert ids == sorted(ids, key=id_order), f"scroll page out of id order: {ids[:20]}"
            self.check_records(records, flt, writer)
        else:
            count = qc.count(COLLECTION, count_filter=flt, exact=True).count
            assert count >= 0, f"negative count {count}"

    @staticmethod
    def check_records(records: list[Any], flt: m.Filter | None, writer: int) -> None:
        for r in records:
            assert r.payload and r.payload.get("writer") == owner_of(r.id), f"point {r.id} has payload {r.payload}"
            if flt is not None:
                assert r.payload["writer"] == writer, f"filter writer={writer} returned {r.id} ({r.payload})"

    # ---- crash cycle ------------------------------------------------------------------------
    def run_cycle(self, seconds: float) -> None:
        threads = [threading.Thread(target=self.run_writer, args=(w,), name=f"writer-{w.index}") for w in self.writers]
        threads += [threading.Thread(target=self.run_reader, args=(r,), name=f"reader-{r}") for r in range(self.args.readers)]
        for t in threads:
            t.start()
        # The crash schedule itself: load runs for a seeded random time, then the server dies.
        self.stop.wait(seconds)
        self.crashing.set()
        self.server.kill()
        self.stats["kills"] += 1
        for t in threads:
            t.join()
        self.server.start()
        self.crashing.clear()

    def resolve_pending(self, qc: QdrantClient) -> None:
        for w in self.writers:
            p, w.pending = w.pending, None
            if p is None:
                continue
            observed = fetch_states(qc, list(p.before))
            if all(same_state(observed[pid], p.after[pid]) for pid in p.after):
                apply_after(w.confirmed, p.after)
                self.stats[f"in-flight {p.kind}: applied"] += 1
            elif all(same_state(observed[pid], p.before[pid]) for pid in p.before):
                self.stats[f"in-flight {p.kind}: not applied"] += 1
            else:
                bad = [pid for pid in p.after
                       if not same_state(observed[pid], p.after[pid]) and not same_state(observed[pid], p.before[pid])]
                mixed = "some ids before, some after" if not bad else f"id {bad[0]}: {describe(observed[bad[0]])}; " \
                    f"before {describe(p.before[bad[0]])}; after {describe(p.after[bad[0]])}"
                self.fail(f"writer {w.index}: in-flight {p.kind} on {len(p.after)} ids half-applied ({mixed})")
                # Adopt what the server holds so later checks report new problems only.
                for pid, state in observed.items():
                    apply_after(w.confirmed, {pid: state})

    # ---- verification -----------------------------------------------------------------------
    def verify(self, qc: QdrantClient, when: str) -> None:
        self.stats["verifications"] += 1
        before = len(self.failures)
        info = qc.get_collection(COLLECTION)
        if info.status == m.CollectionStatus.RED:
            self.fail(f"{when}: collection status is red")
        model = self.model()
        self.verify_full_scroll(qc, model, when)
        self.verify_retrieve(qc, model, when)
        total = qc.count(COLLECTION, exact=True).count
        if total != len(model):
            self.fail(f"{when}: count {total} != {len(model)} confirmed points")
        self.verify_filters(qc, model, when)
        if len(self.failures) == before:
            print(f"[{when}] ok: {len(model)} points verified", flush=True)

    def verify_full_scroll(self, qc: QdrantClient, model: dict[PointId, State], when: str) -> None:
        seen: list[PointId] = []
        offset: Any = None
        wrong = 0
        while True:
            records, offset = qc.scroll(COLLECTION, limit=PAGE, offset=offset, with_payload=True, with_vectors=True)
            for r in records:
                seen.append(r.id)
                want = model.get(r.id)
                got: State = (np.asarray(r.vector, dtype=np.float32), r.payload or {})
                if want is not None and not same_state(got, want):
                    wrong += 1
                    if wrong <= 5:
                        self.fail(f"{when}: point {r.id}: server {describe(got)} != last confirmed {describe(want)}")
            if offset is None:
                break
        if wrong > 5:
            self.fail(f"{when}: {wrong} points differ from their last confirmed state in total")
        if seen != sorted(seen, key=id_order):
            self.fail(f"{when}: full scroll is not in id order")
        dupes = [pid for pid, n in Counter(seen).items() if n > 1]
        if dupes:
            self.fail(f"{when}: full scroll returned {len(dupes)} ids more than once, e.g. {dupes[:5]}")
        lost = set(model) - set(seen)
        phantom = set(seen) - set(model)
        if lost:
            self.fail(f"{when}: {len(lost)} confirmed ids missing, e.g. {sorted(lost, key=id_order)[:5]}")
        if phantom:
            self.fail(f"{when}: {len(phantom)} phantom ids, e.g. {sorted(phantom, key=id_order)[:5]}")

    def verify_retrieve(self, qc: QdrantClient, model: dict[PointId, State], when: str) -> None:
        """Retrieve a sample of present ids plus ids this run deleted or never wrote."""
        present = sorted(model, key=id_order)
        sample = self.rng.sample(present, min(300, len(present)))
        for w in self.writers:
            for _ in range(20):
                pid = w.new_id(self.rng)
                if pid not in model:
                    sample.append(pid)
        observed = fetch_states(qc, sample)
        for pid in sample:
            if not same_state(observed[pid], model.get(pid)):
                self.fail(f"{when}: retrieve {pid}: {describe(observed[pid])} != confirmed {describe(model.get(pid))}")
                return

    def verify_filters(self, qc: QdrantClient, model: dict[PointId, State], when: str) -> None:
        payloads = [st[1] for st in model.values() if st is not None]
        lo = self.rng.randrange(900)
        checks: list[tuple[str, m.Filter, int]] = []
        for tag in TAGS:
            want = sum(p["tag"] == tag for p in payloads)
            checks.append((f"tag={tag} (indexed)", m.Filter(must=[keyword("tag", tag)]), want))
            checks.append((f"tag_raw={tag} (no index)", m.Filter(must=[keyword("tag_raw", tag)]), want))
        for w in self.writers:
            checks.append((f"writer={w.index}", m.Filter(must=[keyword("writer", w.index)]), len(w.confirmed)))
        checks.append((f"n in [{lo}, {lo + 100})", m.Filter(must=[m.FieldCondition(key="n", range=m.Range(gte=lo, lt=lo + 100))]),
                       sum(lo <= p["n"] < lo + 100 for p in payloads)))
        checks.append(("tag=red and not writer=0", m.Filter(must=[keyword("tag", "red")], must_not=[keyword("writer", 0)]),
                       sum(p["tag"] == "red" and p["writer"] != 0 for p in payloads)))
        for what, flt, want in checks:
            counted = qc.count(COLLECTION, count_filter=flt, exact=True).count
            scrolled = scroll_count(qc, flt)
            if not counted == scrolled == want:
                self.fail(f"{when}: filter {what}: count {counted}, scroll {scrolled}, model {want}")

    # ---- main loop --------------------------------------------------------------------------
    def run(self) -> None:
        deadline = time.monotonic() + self.args.seconds
        self.server.start()
        with closing(self.client()) as qc:
            self.create_collection(qc)
        while time.monotonic() < deadline and not self.stop.is_set():
            run_for = min(self.rng.uniform(self.args.kill_min, self.args.kill_max), max(0.5, deadline - time.monotonic()))
            self.run_cycle(run_for)
            with closing(self.client()) as qc:
                self.resolve_pending(qc)
                self.verify(qc, f"after kill {self.stats['kills']}")
        # A clean shutdown and start must keep everything as well.
        code = self.server.stop()
        if code != 0:
            self.fail(f"server exited with {code} on SIGTERM")
        self.server.start()
        with closing(self.client()) as qc:
            self.verify(qc, "after clean restart")
        self.server.stop()

    def summary(self) -> str:
        ops: Counter[str] = Counter()
        for w in self.writers:
            ops.update(w.done)
        lines = [
            f"crasher seed={self.args.seed} seconds={self.args.seconds} writers={self.args.writers} readers={self.args.readers}",
            f"kills: {self.stats['kills']}, verifications: {self.stats['verifications']}, reads: {sum(self.reads)}",
            "confirmed writes: " + ", ".join(f"{k}={v}" for k, v in sorted(ops.items())),
            f"points at the end: {len(self.model())}",
        ]
        lines += [f"{k}: {v}" for k, v in sorted(self.stats.items()) if k.startswith("in-flight")]
        lines.append(f"RESULT: {'FAILED with ' + str(len(self.failures)) + ' problem(s)' if self.failures else 'OK'}")
        lines += [f"  - {f}" for f in self.failures[:30]]
        return "\n".join(lines)


def apply_after(confirmed: dict[PointId, State], after: dict[PointId, State]) -> None:
    for pid, state in after.items():
        if state is None:
            confirmed.pop(pid, None)
        else:
            confirmed[pid] = state


def fetch_states(qc: QdrantClient, ids: list[PointId]) -> dict[PointId, State]:
    out: dict[PointId, State] = {pid: None for pid in ids}
    for start in range(0, len(ids), PAGE):
        for r in qc.retrieve(COLLECTION, ids[start:start + PAGE], with_payload=True, with_vectors=True):
            out[r.id] = (np.asarray(r.vector, dtype=np.float32), r.payload or {})
    return out


def scroll_count(qc: QdrantClient, flt: m.Filter) -> int:
    total, offset = 0, None
    while True:
        records, offset = qc.scroll(COLLECTION, scroll_filter=flt, limit=PAGE, offset=offset, with_payload=False)
        total += len(records)
        if offset is None:
            return total


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=120.0, help="total load time (restarts and checks come on top)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--storage", type=Path, help="storage dir to use (default: a temp dir, removed on success)")
    p.add_argument("--writers", type=int, default=4)
    p.add_argument("--readers", type=int, default=2)
    p.add_argument("--ids-per-writer", type=int, default=3000)
    p.add_argument("--kill-min", type=float, default=1.0, help="shortest run between kills (s)")
    p.add_argument("--kill-max", type=float, default=8.0, help="longest run between kills (s)")
    p.add_argument("--flush-interval", type=float, default=0.5, help="server flush interval (s)")
    p.add_argument("--indexing-threshold-kb", type=int, default=1,
                   help="collection optimizers_config.indexing_threshold (low: the optimizer runs during the soak)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    temp = None if args.storage else Path(tempfile.mkdtemp(prefix="pydrant-crasher-"))
    storage = args.storage or temp / "storage"  # type: ignore[operator]
    log_path = (temp or storage.parent) / "crasher-server.log"
    server = Server(storage, log_path, env={"PYDRANT__STORAGE__FLUSH_INTERVAL_SEC": str(args.flush_interval)})
    soak = Soak(args, server)
    try:
        soak.run()
    except Exception as exc:  # noqa: BLE001 - any failure is a finding, reported below
        soak.fail(f"aborted: {exc!r}\n{server.log_tail()}")
    finally:
        server.kill()
    print(soak.summary())
    if soak.failures:
        print(f"storage kept at {storage}, server log at {log_path}")
        return 1
    if temp is not None:
        shutil.rmtree(temp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
