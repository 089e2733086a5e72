"""Tests for the write-ahead log: framing, recovery, rotation, group commit, crash safety."""

from __future__ import annotations

import errno
import logging
import random
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fileio_double import CrashSimulatingFileIO, SimulatedCrash
from pydrant.errors import StorageFailure
from pydrant.storage.wal import HEADER_SIZE, Wal, segment_name

HYPOTHESIS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def payload(op: int, size: int = 24) -> bytes:
    return (f"record-{op}-".encode() * (size // 8 + 1))[:size]


def contents(wal: Wal, start: int = 0) -> list[tuple[int, bytes]]:
    return list(wal.read_from(start))


def segment_files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.suffix == ".wal")


def test_empty_log_starts_at_zero(tmp_path: Path) -> None:
    with Wal(tmp_path / "wal") as wal:
        assert (wal.first_op, wal.last_op) == (0, -1)
        assert contents(wal) == []
        assert wal.append_many([]) == []
        assert wal.append(b"") == 0
        assert contents(wal) == [(0, b"")]
        with pytest.raises(RuntimeError, match="already open"):
            wal.open()
    with pytest.raises(RuntimeError, match="not open"):
        wal.append(b"closed")


@HYPOTHESIS
@given(
    sizes=st.lists(st.integers(0, 3000), max_size=40),
    batch=st.integers(1, 5),
    segment_bytes=st.integers(1, 8000),
    start=st.integers(0, 45),
)
def test_round_trip_and_reopen(
    tmp_path_factory: pytest.TempPathFactory,
    sizes: list[int],
    batch: int,
    segment_bytes: int,
    start: int,
) -> None:
    directory = tmp_path_factory.mktemp("wal")
    records = [payload(i, size) for i, size in enumerate(sizes)]
    with Wal(directory, segment_bytes=segment_bytes) as wal:
        for i in range(0, len(records), batch):
            chunk = records[i : i + batch]
            ops = wal.append_many(chunk) if batch > 1 else [wal.append(chunk[0])]
            assert ops == list(range(i, i + len(chunk)))
        expected = list(enumerate(records))
        assert contents(wal) == expected
        assert contents(wal, start) == expected[start:]
        wal.sync_through(wal.last_op)
    with Wal(directory, segment_bytes=segment_bytes) as wal:
        assert wal.last_op == len(records) - 1
        assert contents(wal, start) == expected[start:]


def test_restart_continues_numbering(tmp_path: Path) -> None:
    with Wal(tmp_path) as wal:
        assert wal.append_many([b"a", b"b", b"c"]) == [0, 1, 2]
    with Wal(tmp_path) as wal:
        assert wal.last_op == 2
        assert wal.append(b"d") == 3
    with Wal(tmp_path) as wal:
        assert contents(wal) == [(0, b"a"), (1, b"b"), (2, b"c"), (3, b"d")]


def test_rotation_and_truncate_before(tmp_path: Path) -> None:
    with Wal(tmp_path, segment_bytes=3 * (HEADER_SIZE + 24)) as wal:
        ops = [wal.append(payload(i)) for i in range(10)]
        # Three records fill a segment; the next append opens a new one.
        assert segment_files(tmp_path) == [segment_name(s) for s in (0, 3, 6, 9)]
        wal.truncate_before(7)  # segment 6 holds op 6 < 7: it stays
        assert segment_files(tmp_path) == [segment_name(6), segment_name(9)]
        assert wal.first_op == 6
        assert contents(wal, 6) == [(op, payload(op)) for op in ops[6:]]
        wal.truncate_before(100)  # never the active segment
        assert segment_files(tmp_path) == [segment_name(9)]
    with Wal(tmp_path, segment_bytes=3 * (HEADER_SIZE + 24)) as wal:
        assert (wal.first_op, wal.last_op) == (9, 9)
        assert wal.append(b"x") == 10


def test_numbering_survives_when_every_record_is_gone(tmp_path: Path) -> None:
    with Wal(tmp_path, segment_bytes=1) as wal:
        for i in range(5):
            wal.append(payload(i))
        wal.truncate_before(5)
    # The active segment (op 4) lost its only record, say to a torn write.
    (tmp_path / segment_name(4)).write_bytes(b"")
    with Wal(tmp_path) as wal:
        assert (wal.first_op, wal.last_op) == (4, 3)
        assert contents(wal) == []
        assert wal.append(b"next") == 4


@HYPOTHESIS
@given(data=st.data())
def test_torn_tail_drops_only_the_damaged_record(
    tmp_path_factory: pytest.TempPathFactory, caplog: pytest.LogCaptureFixture, data: st.DataObject
) -> None:
    directory = tmp_path_factory.mktemp("wal")
    sizes = data.draw(st.lists(st.integers(0, 200), min_size=1, max_size=20))
    with Wal(directory) as wal:
        wal.append_many([payload(i, s) for i, s in enumerate(sizes)])
    path = directory / segment_name(0)
    whole = path.read_bytes()
    cut = data.draw(st.integers(0, len(whole)))
    path.write_bytes(whole[:cut])
    ends = [0]
    for size in sizes:
        ends.append(ends[-1] + HEADER_SIZE + size)
    survivors = sum(1 for end in ends[1:] if end <= cut)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="pydrant.wal"), Wal(directory) as wal:
        assert contents(wal) == [(i, payload(i, sizes[i])) for i in range(survivors)]
        assert wal.append(b"after") == survivors
    assert path.stat().st_size == ends[survivors] + HEADER_SIZE + len(b"after")
    warned = [r for r in caplog.records if r.name == "pydrant.wal"]
    assert len(warned) == (cut not in ends)
    if warned:
        assert f"at op {survivors}" in warned[0].getMessage()


def test_corruption_in_the_middle_drops_everything_after(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    frame = HEADER_SIZE + 24
    with Wal(tmp_path, segment_bytes=4 * frame) as wal:
        for i in range(12):
            wal.append(payload(i))  # segments 0, 4, 8
    path = tmp_path / segment_name(4)
    raw = bytearray(path.read_bytes())
    raw[frame + HEADER_SIZE + 5] ^= 0x40  # one bit of op 5's payload
    path.write_bytes(bytes(raw))
    with caplog.at_level(logging.WARNING, logger="pydrant.wal"), Wal(tmp_path) as wal:
        assert contents(wal) == [(i, payload(i)) for i in range(5)]
        assert wal.last_op == 4
    assert segment_files(tmp_path) == [segment_name(0), segment_name(4)]
    message = caplog.records[-1].getMessage()
    assert "checksum mismatch" in message and segment_name(8) in message
    assert "at op 5" in message


def test_group_commit_covers_everything_appended_before_the_fsync(tmp_path: Path) -> None:
    fio = CrashSimulatingFileIO(tmp_path)
    with Wal(tmp_path / "wal", fileio=fio) as wal:
        first, second = wal.append(b"a"), wal.append(b"b")
        before = fio.fsyncs
        wal.sync_through(first)
        wal.sync_through(second)  # already covered by the first fsync
        assert fio.fsyncs == before + 1
        with pytest.raises(ValueError, match="never appended"):
            wal.sync_through(second + 1)


class SignallingLock:
    """A lock that tells the test when a thread starts waiting for it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.attempts = threading.Semaphore(0)

    def __enter__(self) -> None:
        self.attempts.release()
        self._lock.acquire()

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


def test_waiting_syncer_reuses_the_fsync_in_flight(tmp_path: Path) -> None:
    fio = CrashSimulatingFileIO(tmp_path)
    wal = Wal(tmp_path / "wal", fileio=fio).open()
    wal._sync_lock = SignallingLock()  # type: ignore[assignment]
    first, second = wal.append(b"a"), wal.append(b"b")
    in_fsync, release = threading.Event(), threading.Event()

    def gate() -> None:
        fio.on_fsync = None
        in_fsync.set()
        assert release.wait(10)

    fio.on_fsync = gate
    before = fio.fsyncs
    leader = threading.Thread(target=wal.sync_through, args=(first,))
    leader.start()
    assert wal._sync_lock.attempts.acquire(timeout=10) and in_fsync.wait(10)
    follower = threading.Thread(target=wal.sync_through, args=(second,))
    follower.start()
    assert wal._sync_lock.attempts.acquire(timeout=10)  # the follower waits for the leader
    release.set()
    leader.join(10)
    follower.join(10)
    # The leader's fsync covered `second` (appended before it started); no second fsync.
    assert fio.fsyncs == before + 1
    wal.close()


def test_concurrent_appenders_and_syncs(tmp_path: Path) -> None:
    wal = Wal(tmp_path, segment_bytes=4096).open()
    acked: list[tuple[int, bytes]] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def writer(worker: int) -> None:
        try:
            for i in range(60):
                data = f"{worker}:{i}".encode()
                op = wal.append(data) if i % 3 else wal.append_many([data, data])[1]
                wal.sync_through(op)
                with lock:
                    acked.append((op, data))
        except BaseException as err:  # surfaced in the main thread
            errors.append(err)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    wal.close()
    with Wal(tmp_path, segment_bytes=4096) as reopened:
        stored = dict(contents(reopened))
        assert sorted(stored) == list(range(8 * 80))  # 40 singles + 20 pairs per worker
        assert all(stored[op] == data for op, data in acked)


def run_until_crash(wal: Wal, rng: random.Random) -> tuple[dict[int, bytes], set[int], int]:
    """Random appends, syncs and truncations until the double crashes. Returns every
    appended record, the ops whose sync_through returned, and the truncation point."""
    appended: dict[int, bytes] = {}
    acked: set[int] = set()
    truncated = 0
    try:
        while True:
            action = rng.random()
            if action < 0.5:
                data = payload(len(appended), rng.randint(0, 300))
                appended[wal.append(data)] = data
            elif action < 0.65:
                batch = [payload(len(appended) + i, rng.randint(0, 100)) for i in range(3)]
                appended.update(zip(wal.append_many(batch), batch))
            elif action < 0.95 and appended:
                target = wal.last_op
                wal.sync_through(target)
                acked.update(op for op in appended if op <= target)
            elif acked:
                point = rng.randint(0, max(acked) + 1)
                truncated = max(truncated, point)  # records below may go even if we crash
                wal.truncate_before(point)
    except SimulatedCrash:
        return appended, acked, truncated


@pytest.mark.parametrize("seed", range(25))
def test_crash_keeps_every_acknowledged_record(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    (tmp_path / "live").mkdir()
    fio = CrashSimulatingFileIO(tmp_path / "live", crash_after=rng.randint(5, 400))
    wal = Wal(tmp_path / "live" / "wal", segment_bytes=rng.choice([200, 1000, 1 << 20]), fileio=fio)
    try:
        wal.open()
    except SimulatedCrash:
        return  # crashed while creating the log: nothing was acknowledged
    appended, acked, truncated = run_until_crash(wal, rng)
    fio.materialize(tmp_path / "after", rng)
    with Wal(tmp_path / "after" / "wal") as recovered:
        stored = contents(recovered, recovered.first_op)
        ops = [op for op, _ in stored]
        assert ops == list(range(recovered.first_op, recovered.last_op + 1))
        assert all(appended[op] == data for op, data in stored)  # no garbage, no mix-ups
        assert {op for op in acked if op >= truncated} <= set(ops)
        assert recovered.append(b"new") > max(acked, default=-1)


@pytest.mark.parametrize("seed", range(5))
def test_crash_under_concurrent_writers(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    (tmp_path / "live").mkdir()
    fio = CrashSimulatingFileIO(tmp_path / "live")
    wal = Wal(tmp_path / "live" / "wal", segment_bytes=500, fileio=fio).open()
    fio.crash_after = fio.calls + rng.randint(20, 600)
    appended: dict[int, bytes] = {}
    acked: set[int] = set()
    lock = threading.Lock()

    def writer(worker: int) -> None:
        try:
            for i in range(10_000):
                data = f"{worker}:{i}".encode()
                op = wal.append(data)
                with lock:
                    appended[op] = data
                wal.sync_through(op)
                with lock:
                    acked.add(op)
        except SimulatedCrash:
            return

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert fio.crashed
    fio.materialize(tmp_path / "after", rng)
    with Wal(tmp_path / "after" / "wal") as recovered:
        stored = dict(contents(recovered))
        assert acked <= stored.keys()
        assert all(appended[op] == data for op, data in stored.items())


def test_crash_double_loses_what_was_not_made_durable(tmp_path: Path) -> None:
    """The double must not be lenient, or the crash test above proves nothing."""
    (tmp_path / "live").mkdir()
    fio = CrashSimulatingFileIO(tmp_path / "live")
    fio.makedirs(tmp_path / "live" / "dir")
    handle = fio.open_append(tmp_path / "live" / "unlinked")
    handle.write(b"data")
    handle.fsync()  # the bytes are durable, the directory entry is not
    handle.close()
    handle = fio.open_append(tmp_path / "live" / "dir" / "f")
    handle.write(b"synced")
    handle.fsync()
    fio.fsync_dir(tmp_path / "live" / "dir")
    handle.write(b"+pending")
    handle.close()
    fio.materialize(tmp_path / "after")
    assert sorted(p.name for p in (tmp_path / "after").iterdir()) == ["dir"]
    assert (tmp_path / "after" / "dir" / "f").read_bytes() == b"synced"


def test_disk_full_rolls_back_the_partial_record(tmp_path: Path) -> None:
    fio = CrashSimulatingFileIO(tmp_path)
    with Wal(tmp_path / "wal", fileio=fio) as wal:
        wal.append(b"first")
        fio.failures["write"] = errno.ENOSPC
        with pytest.raises(StorageFailure, match="No space left on device"):
            wal.append(b"x" * 100)
        with pytest.raises(StorageFailure, match="ENOSPC"):
            wal.append_many([b"y", b"z"])
        del fio.failures["write"]
        assert wal.append(b"second") == 1  # the failed appends used no op numbers
        wal.sync_through(1)
    with Wal(tmp_path / "wal") as wal:
        assert contents(wal) == [(0, b"first"), (1, b"second")]


def test_unrecoverable_write_failure_makes_the_log_refuse_writes(tmp_path: Path) -> None:
    fio = CrashSimulatingFileIO(tmp_path)
    wal = Wal(tmp_path / "wal", fileio=fio).open()
    wal.append(b"first")
    fio.failures.update(write=errno.EIO, truncate=errno.EIO)
    with pytest.raises(StorageFailure):
        wal.append(b"torn")
    fio.failures.clear()
    with pytest.raises(StorageFailure, match="unusable"):
        wal.append(b"behind the torn frame")
    with pytest.raises(StorageFailure, match="unusable"):
        wal.sync_through(0)
    wal.close()


def test_failed_fsync_is_not_retried_as_success(tmp_path: Path) -> None:
    fio = CrashSimulatingFileIO(tmp_path)
    wal = Wal(tmp_path / "wal", fileio=fio).open()
    op = wal.append(b"data")
    fio.failures["fsync"] = errno.EIO
    with pytest.raises(StorageFailure, match="fsync"):
        wal.sync_through(op)
    fio.failures.clear()
    with pytest.raises(StorageFailure, match="unusable"):
        wal.sync_through(op)
    wal.close()
