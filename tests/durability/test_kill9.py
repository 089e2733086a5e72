"""kill -9 under concurrent writes: every acknowledged write survives, unacknowledged ones are all-or-nothing."""

from __future__ import annotations

import os
import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import httpx
import numpy as np
import pytest

from durability_support import (
    exact_count,
    only_collection_dir,
    retrieve_all,
    scroll_ids,
    try_keyword_index,
)
from helpers.rest import RestClient
from helpers.server import ServerProcess, wait_until

COLLECTION = "kill9"
DIM = 8
WRITERS = 4
CYCLES = 3
# Each writer owns the ids [w * ID_SPACE + 1, (w + 1) * ID_SPACE), so the last acknowledged
# state of an id is well defined: one thread sends its requests one after another.
ID_SPACE = 1_000_000
TAGS = ("red", "green", "blue", "amber")
# Small WAL segments plus padded payloads: the log rotates during the run, and with a 0.2 s
# flush interval the flushes after a rotation delete old segments while writers are busy.
WAL_CAPACITY_MB = 1
PAD_CHARS = 4000
FLUSH_INTERVAL = "0.2"
KILL_DELAY_S = (0.3, 1.6)
MIN_ACKS_PER_WRITER = 3
# Enough new ids that the appendable segment fills up (1000 points at least) and is sealed:
# the optimizer then indexes, vacuums and swaps segments while writers run and kills land.
MAX_BATCH = 10
OPTIMIZERS = {"indexing_threshold": 1, "deleted_threshold": 0.05, "vacuum_min_vector_number": 100}
REQUEST_TIMEOUT_S = 30.0
# About 1 MB of WAL must be written first: seconds on an idle machine, much more on a busy one.
TRUNCATION_DEADLINE_S = 90.0


@dataclass
class PointState:
    vector: list[float]  # float32-representable values
    payload: dict[str, Any]


State = PointState | None  # None: the id is absent (never written, or deleted)


@dataclass
class Pending:
    """The one request a writer had in flight when the server died: every id it touches
    must afterwards be in its `before` state, or every id in its `after` state."""

    what: str
    before: dict[int, State]
    after: dict[int, State]


@dataclass
class WriterModel:
    """What one writer knows across kill cycles: the acknowledged state of each id it touched."""

    index: int
    acked: dict[int, State] = field(default_factory=dict)
    next_new: int = 1

    def new_id(self) -> int:
        point_id = self.index * ID_SPACE + self.next_new
        self.next_new += 1
        return point_id

    def live_ids(self) -> list[int]:
        return [i for i, s in self.acked.items() if s is not None]


class Writer(threading.Thread):
    """Sends upserts, set_payloads and deletes for its own ids until the server is killed."""

    def __init__(self, model: WriterModel, url: str, seed: int, killed: threading.Event) -> None:
        super().__init__(name=f"writer-{model.index}", daemon=True)
        self.model = model
        self.url = url
        self.rng = random.Random(seed)
        self.killed = killed
        self.pending: Pending | None = None
        self.acks = 0
        self.errors: list[str] = []
        self.seq = 0

    # ---- request builders: (description, method, path, body, after-states) ------------------
    def _vector(self) -> list[float]:
        values = np.asarray([self.rng.uniform(-1.0, 1.0) for _ in range(DIM)], dtype=np.float32)
        return [float(v) for v in values]

    def _req_upsert(self) -> tuple[str, str, str, dict[str, Any], dict[int, State]]:
        known = list(self.model.acked)
        ids: list[int] = []
        for _ in range(self.rng.randint(1, MAX_BATCH)):
            if known and self.rng.random() < 0.4:
                candidate = self.rng.choice(known)
                if candidate not in ids:
                    ids.append(candidate)
                    continue
            ids.append(self.model.new_id())
        after: dict[int, State] = {}
        points = []
        for point_id in ids:
            self.seq += 1
            payload: dict[str, Any] = {"writer": self.model.index, "seq": self.seq, "tag": self.rng.choice(TAGS)}
            if self.rng.random() < 0.5:
                payload["pad"] = f"{self.seq:08d}" * (PAD_CHARS // 8)
            vector = self._vector()
            points.append({"id": point_id, "vector": vector, "payload": payload})
            after[point_id] = PointState(vector, payload)
        return "upsert", "PUT", "/points", {"points": points}, after

    def _req_set_payload(self, live: list[int]) -> tuple[str, str, str, dict[str, Any], dict[int, State]]:
        ids = self.rng.sample(live, min(len(live), self.rng.randint(1, 3)))
        self.seq += 1
        update = {"seq": self.seq, "tag": self.rng.choice(TAGS), "touched": [self.seq, "set"]}
        after: dict[int, State] = {}
        for point_id in ids:
            old = self.model.acked[point_id]
            assert old is not None
            after[point_id] = PointState(old.vector, {**old.payload, **update})
        return "set_payload", "POST", "/points/payload", {"payload": update, "points": ids}, after

    def _req_delete(self, live: list[int]) -> tuple[str, str, str, dict[str, Any], dict[int, State]]:
        ids = self.rng.sample(live, min(len(live), self.rng.randint(1, 3)))
        return "delete", "POST", "/points/delete", {"points": ids}, {i: None for i in ids}

    def _next_request(self) -> tuple[str, str, str, dict[str, Any], dict[int, State]]:
        live = self.model.live_ids()
        roll = self.rng.random()
        if live and roll < 0.25:
            return self._req_set_payload(live)
        if len(live) > 5 and roll < 0.40:
            return self._req_delete(live)
        return self._req_upsert()

    # ---- loop ---------------------------------------------------------------------------------
    def run(self) -> None:
        try:
            self._loop()
        except BaseException as exc:  # a bug in this test must fail it, not vanish with the thread
            self.errors.append(f"writer crashed: {exc!r}")
            raise

    def _loop(self) -> None:
        with httpx.Client(base_url=f"{self.url}/collections/{COLLECTION}", timeout=REQUEST_TIMEOUT_S) as http:
            while True:
                what, method, path, body, after = self._next_request()
                wait = self.rng.random() < 0.5
                before = {i: self.model.acked.get(i) for i in after}
                self.pending = Pending(f"{what} wait={wait} ids={sorted(after)}", before, after)
                try:
                    resp = http.request(method, path, params={"wait": str(wait).lower()}, json=body)
                except httpx.TransportError as exc:
                    if not self.killed.is_set():
                        self.errors.append(f"{self.pending.what}: {type(exc).__name__} before the kill: {exc}")
                    return  # the server is gone: this request stays pending (maybe applied)
                if resp.status_code != 200:
                    self.errors.append(f"{self.pending.what} -> {resp.status_code}: {resp.text[:300]}")
                    return
                status = resp.json()["result"]["status"]
                expected = ("completed",) if wait else ("acknowledged", "completed")
                if status not in expected:
                    self.errors.append(f"{self.pending.what}: result status {status!r}")
                    return
                self.model.acked.update(after)
                self.pending = None
                self.acks += 1


# ---- checking -------------------------------------------------------------------------------
def _matches(record: dict[str, Any] | None, state: State) -> bool:
    if state is None:
        return record is None
    if record is None or record.get("payload") != state.payload:
        return False
    stored = np.asarray(record.get("vector"), dtype=np.float32)
    return stored.shape == (DIM,) and bool(np.array_equal(stored, np.asarray(state.vector, dtype=np.float32)))


def _describe(record: dict[str, Any] | None) -> str:
    if record is None:
        return "absent"
    payload = {k: v for k, v in (record.get("payload") or {}).items() if k != "pad"}
    return f"payload(without pad)={payload} vector={record.get('vector')}"


def _check_after_restart(rest: RestClient, writers: list[Writer], indexed: bool, where: str) -> None:
    """Compare the recovered collection with the writers' models; then adopt what was recovered
    for in-flight requests, so the next cycle starts from the server's real state."""
    every_id = [i for w in writers for i in w.model.acked] + [
        i for w in writers if w.pending is not None for i in w.pending.after if i not in w.model.acked
    ]
    records = retrieve_all(rest, COLLECTION, every_id)
    problems: list[str] = []
    for writer in writers:
        pending = writer.pending
        for point_id, state in writer.model.acked.items():
            if pending is not None and point_id in pending.after:
                continue
            if not _matches(records.get(point_id), state):
                expected = "absent" if state is None else f"payload(without pad)={ {k: v for k, v in state.payload.items() if k != 'pad'} } vector={state.vector}"
                problems.append(f"id {point_id}: acknowledged state lost: expected {expected}, got {_describe(records.get(point_id))}")
        if pending is None:
            continue
        as_before = all(_matches(records.get(i), s) for i, s in pending.before.items())
        as_after = all(_matches(records.get(i), s) for i, s in pending.after.items())
        if not (as_before or as_after):
            detail = "; ".join(f"id {i}: {_describe(records.get(i))}" for i in sorted(pending.after))
            problems.append(f"in-flight {pending.what} is half applied (neither all-before nor all-after): {detail}")
            continue
        writer.model.acked.update(pending.after if as_after else pending.before)
        writer.pending = None
    assert not problems, f"{where}: {len(problems)} problems, first ones:\n" + "\n".join(problems[:20])

    live = {i for w in writers for i, s in w.model.acked.items() if s is not None}
    assert exact_count(rest, COLLECTION) == len(live), f"{where}: count differs from the {len(live)} live ids"
    scrolled = scroll_ids(rest, COLLECTION)
    duplicates = sorted({i for i in scrolled if scrolled.count(i) > 1}) if len(scrolled) != len(set(scrolled)) else []
    assert not duplicates, f"{where}: scroll returned ids more than once: {duplicates[:20]}"
    assert set(scrolled) == live, (
        f"{where}: scroll missing {sorted(live - set(scrolled))[:20]}, extra {sorted(set(scrolled) - live)[:20]}"
    )
    if indexed:
        for tag in TAGS:
            expected = sum(1 for w in writers for s in w.model.acked.values() if s is not None and s.payload["tag"] == tag)
            flt = {"must": [{"key": "tag", "match": {"value": tag}}]}
            assert exact_count(rest, COLLECTION, flt) == expected, f"{where}: filtered count for tag={tag} (indexed field)"


def _wal_truncated(wal_dir: Path) -> bool:
    """True once the oldest WAL segment no longer starts at op 0 (names are first op numbers)."""
    names = sorted(p.name for p in wal_dir.glob("*.wal"))
    return bool(names) and int(names[0].split(".")[0]) > 0


@pytest.mark.slow
def test_acknowledged_writes_survive_repeated_kill9(server_factory: Callable[..., ServerProcess]) -> None:
    seed = int(os.environ.get("PYDRANT_DURABILITY_SEED", random.randrange(2**32)))
    print(f"kill9 seed {seed} (set PYDRANT_DURABILITY_SEED to repeat the random choices)")
    rng = random.Random(seed)
    server = server_factory(env={"PYDRANT__STORAGE__FLUSH_INTERVAL_SEC": FLUSH_INTERVAL})
    rest = RestClient(server.url)
    rest.ok("PUT", f"/collections/{COLLECTION}", json={
        "vectors": {"size": DIM, "distance": "Euclid"},
        "wal_config": {"wal_capacity_mb": WAL_CAPACITY_MB},
        "optimizers_config": OPTIMIZERS,
    })
    index_problem = try_keyword_index(rest, COLLECTION, "tag")
    assert index_problem is None, index_problem
    indexed = True
    rest.close()
    wal_dir = only_collection_dir(server.storage_dir) / "wal"

    models = [WriterModel(w) for w in range(WRITERS)]
    for cycle in range(CYCLES):
        where = f"seed {seed}, cycle {cycle}"
        killed = threading.Event()
        writers = [Writer(m, server.url, rng.randrange(2**32), killed) for m in models]
        for writer in writers:
            writer.start()
        wait_until(lambda: all(w.acks >= MIN_ACKS_PER_WRITER or not w.is_alive() for w in writers),
                   deadline_s=30, what="every writer has some acknowledged writes")
        if cycle == 0:
            # Kill only once a flush has deleted a WAL segment: every later recovery then starts
            # from a truncated log, and the cycles below may kill in the middle of a truncation.
            wait_until(lambda: _wal_truncated(wal_dir) or not all(w.is_alive() for w in writers),
                       deadline_s=TRUNCATION_DEADLINE_S, what="a WAL segment deleted by a flush")
        time.sleep(rng.uniform(*KILL_DELAY_S))  # a random kill moment under load, not synchronisation
        killed.set()
        server.kill()
        for writer in writers:
            writer.join(timeout=REQUEST_TIMEOUT_S + 5)
            assert not writer.is_alive(), f"{where}: {writer.name} still running after the kill"
        errors = [e for w in writers for e in w.errors]
        assert not errors, f"{where}: writes failed while the server was up:\n" + "\n".join(errors[:20])
        in_flight = sum(w.pending is not None for w in writers)
        acked = sum(w.acks for w in writers)
        print(f"cycle {cycle}: {acked} acknowledged requests, {in_flight} in flight at the kill")

        server.start()
        rest = RestClient(server.url)
        try:
            _check_after_restart(rest, writers, indexed, where)
        finally:
            rest.close()
