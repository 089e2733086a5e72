"""A waiting writer's records are applied while its WAL fsync runs. A flush in that window must
not let the segments get ahead of the log: if the manifest named an op the log lost in a power
cut, the recovered log would number the next writes below the manifest's `applied_op`, replay
would skip them, and a later crash would lose acknowledged writes."""

from __future__ import annotations

import contextlib
import json
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))

from crash_workload import CREATE_BODY, FLUSH_NEVER, NAME, stored_state
from fileio_double import CrashSimulatingFileIO, SimulatedCrash

from pydrant.collection.collection import Collection
from pydrant.collection.updates import prepare_upsert
from pydrant.service.toc import TableOfContents

GATE_S = 30.0  # bound on every wait below; none is reached when the code is right
FLUSH_GRACE_S = 1.0  # long enough for an unguarded flush to finish (it takes milliseconds)


class _GatedHandle:
    """A WAL handle whose fsync waits at the gate while the FileIO has it armed."""

    def __init__(self, fio: GatedWalFsync, inner: Any) -> None:
        self._fio, self._inner = fio, inner

    def fsync(self) -> None:
        if self._fio.armed:
            self._fio.in_fsync.set()
            assert self._fio.release.wait(GATE_S), "the test never released the WAL fsync"
        self._inner.fsync()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class GatedWalFsync(CrashSimulatingFileIO):
    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.armed = False
        self.in_fsync = threading.Event()
        self.release = threading.Event()

    def open_append(self, path: Path) -> Any:
        handle = super().open_append(path)
        return _GatedHandle(self, handle) if "wal" in Path(path).parts else handle


def _gated_storage(live: Path) -> tuple[GatedWalFsync, TableOfContents, Collection]:
    """A storage in `live` on the gated FileIO, holding one empty collection."""
    live.mkdir()
    fio = GatedWalFsync(live)
    toc = TableOfContents(live, FLUSH_NEVER, fio)
    toc.create_collection(NAME, CREATE_BODY)
    return fio, toc, toc.get(NAME)


def _upsert(collection: Collection, pid: int) -> None:
    body = {"points": [{"id": pid, "vector": [float(pid), 1.0, 0.5, -1.0], "payload": {"n": pid}}]}
    collection.write(prepare_upsert(collection, json.dumps(body).encode()).build, wait=True)


def _in_background(fn: Any) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            fn()
        except BaseException as exc:  # the simulated power cut, expected
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, errors


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_flush_during_a_writers_fsync_keeps_later_acknowledged_writes(tmp_path: Path) -> None:
    fio, toc, collection = _gated_storage(tmp_path / "live")
    try:
        _upsert(collection, 1)  # acknowledged

        fio.armed = True
        writer, writer_errors = _in_background(lambda: _upsert(collection, 2))
        assert fio.in_fsync.wait(GATE_S), "the writer never reached its WAL fsync"
        collection.wait_applied()  # point 2 is applied, its record not durable yet
        assert read_ids(collection) == {1, 2}

        flusher, _ = _in_background(collection.flush)
        flusher.join(FLUSH_GRACE_S)
        # Power cut before the writer's fsync: point 2 was never acknowledged.
        fio.crash()
        fio.release.set()
        writer.join(GATE_S)
        flusher.join(GATE_S)
        assert not writer.is_alive() and not flusher.is_alive()
        assert writer_errors, "the writer was acknowledged without a durable record"
    finally:
        fio.release.set()
        with contextlib.suppress(SimulatedCrash):
            toc.close()

    first = tmp_path / "after-first-crash"
    fio.materialize(first)  # only what was fsynced
    assert _state_ids(first) == {1}

    # A restarted server takes a write and is cut off again before any flush.
    second_fio = CrashSimulatingFileIO(first)
    toc = TableOfContents(first, FLUSH_NEVER, second_fio)
    try:
        _upsert(toc.get(NAME), 3)  # acknowledged
        second_fio.crash()
    finally:
        with contextlib.suppress(SimulatedCrash):
            toc.close()
    second = tmp_path / "after-second-crash"
    second_fio.materialize(second)
    assert _state_ids(second) == {1, 3}


def read_ids(collection: Collection) -> set[Any]:
    return set(stored_state(collection))


def _state_ids(storage: Path) -> set[Any]:
    toc = TableOfContents(storage, FLUSH_NEVER)
    try:
        return read_ids(toc.get(NAME))
    finally:
        toc.close()


def test_a_large_write_is_queued_until_its_fsync_ends(tmp_path: Path) -> None:
    """A write over the overlap size is applied by its writer after the fsync: until then it is
    in the update queue (`update_queue.length` of collection info), and not visible."""
    fio, toc, collection = _gated_storage(tmp_path / "live")
    try:
        points = [{"id": i, "vector": [1.0, 0.0, 0.0, 0.5], "payload": {"text": "x" * 400}} for i in range(1000)]
        fio.armed = True
        writer, errors = _in_background(lambda: collection.write(
            prepare_upsert(collection, json.dumps({"points": points}).encode()).build, wait=True))
        assert fio.in_fsync.wait(GATE_S), "the writer never reached its WAL fsync"
        assert collection.queued_updates() == 1
        assert read_ids(collection) == set()
        fio.armed = False
        fio.release.set()
        writer.join(GATE_S)
        assert not writer.is_alive() and not errors
        assert collection.queued_updates() == 0
        assert len(read_ids(collection)) == 1000
    finally:
        fio.release.set()
        toc.close()
