"""Write-ahead log: framed, checksummed byte records in segment files, group-committed fsync."""

from __future__ import annotations

import logging
import re
import struct
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pydrant.errors import StorageFailure
from pydrant.storage.fileio import DEFAULT_FILEIO, AppendHandle, FileIO

if TYPE_CHECKING:  # typing.Self needs 3.11; typing_extensions is not a runtime dependency
    from typing_extensions import Self

log = logging.getLogger("pydrant.wal")

# Frame: magic, payload length, op number, CRC32 of payload then (length, op). The magic
# carries the format version; a new layout gets a new magic and old logs stay readable.
MAGIC = b"PDW1"
_HEADER = struct.Struct("<4sIQI")
_CRC_FIELDS = struct.Struct("<IQ")
HEADER_SIZE = _HEADER.size
MAX_PAYLOAD = 2**32 - 1
# A segment is named after the op number of its first record (or, while empty, the next op
# number), so the log's first op survives truncation and restarts.
_SEGMENT_NAME = re.compile(r"^(\d{20})\.wal$")


def segment_name(start_op: int) -> str:
    return f"{start_op:020d}.wal"


def encode_frame(op: int, payload: bytes, payload_crc: int | None = None) -> bytes:
    """One record as stored; `payload_crc` may be computed ahead, outside any lock."""
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"WAL record of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    crc = zlib.crc32(payload) if payload_crc is None else payload_crc
    crc = zlib.crc32(_CRC_FIELDS.pack(len(payload), op), crc)
    return _HEADER.pack(MAGIC, len(payload), op, crc) + payload


class _TailDamage(Exception):
    def __init__(self, offset: int, op: int, reason: str) -> None:
        super().__init__(reason)
        self.offset, self.op, self.reason = offset, op, reason


def _frames(data: memoryview, first_op: int) -> Iterator[tuple[int, int, int]]:
    """Yield (op, payload start, payload end) per valid record; raise _TailDamage at the first
    torn or corrupt one. Nothing after it can be trusted, so scanning stops there."""
    pos, op, size = 0, first_op, len(data)
    while pos < size:
        if size - pos < HEADER_SIZE:
            raise _TailDamage(pos, op, f"torn record header ({size - pos} bytes)")
        magic, length, rec_op, crc = _HEADER.unpack_from(data, pos)
        if magic != MAGIC:
            raise _TailDamage(pos, op, f"bad record magic {bytes(magic)!r}")
        start, end = pos + HEADER_SIZE, pos + HEADER_SIZE + length
        if end > size:
            raise _TailDamage(pos, op, f"torn record: {length} bytes, {size - start} present")
        if zlib.crc32(_CRC_FIELDS.pack(length, rec_op), zlib.crc32(data[start:end])) != crc:
            raise _TailDamage(pos, op, "checksum mismatch")
        if rec_op != op:
            raise _TailDamage(pos, op, f"op number {rec_op} where {op} was expected")
        yield op, start, end
        pos, op = end, op + 1


@dataclass
class _Segment:
    start: int  # op number of its first record
    path: Path
    size: int  # bytes of whole records


class Wal:
    """Append-only log of opaque records numbered 0, 1, 2, ... across restarts and truncation.

    `append` only writes; a record is durable once `sync_through(op)` returns. Concurrent
    `sync_through` callers share one fsync (group commit)."""

    def __init__(
        self, directory: Path, segment_bytes: int = 32 * 2**20, fileio: FileIO = DEFAULT_FILEIO
    ) -> None:
        self.directory = Path(directory)
        self.segment_bytes = segment_bytes
        self._fileio = fileio
        self._lock = threading.Lock()  # appends, rotation, segment list
        self._sync_lock = threading.Lock()  # one fsync at a time; taken before _lock
        self._truncate_lock = threading.Lock()
        self._segments: list[_Segment] = []
        self._handle: AppendHandle | None = None
        self._retired: list[AppendHandle] = []  # rotated out, maybe not yet fsynced
        self._next_op = 0
        self._synced_op = -1
        self._broken: StorageFailure | None = None

    @property
    def first_op(self) -> int:
        """The oldest op number still stored (equals `last_op + 1` when the log is empty)."""
        return self._segments[0].start

    @property
    def last_op(self) -> int:
        return self._next_op - 1

    def __enter__(self) -> Self:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> Self:
        """Recover the log: keep the valid prefix of records, drop any damaged tail."""
        if self._handle is not None:
            raise RuntimeError(f"WAL {self.directory} is already open")
        self._segments, self._retired, self._broken = [], [], None
        fio, directory = self._fileio, self.directory
        fio.makedirs(directory)
        starts = sorted(
            int(m.group(1)) for m in map(_SEGMENT_NAME.match, fio.listdir(directory)) if m
        )
        if not starts:
            starts = [0]
            fio.open_append(directory / segment_name(0)).close()
            fio.fsync_dir(directory)
        expected = starts[0]
        for index, start in enumerate(starts):
            path = directory / segment_name(start)
            if start != expected:
                gap = f"{path.name} starts at op {start}, previous segment ends before {expected}"
                self._drop_tail(starts[index:], None, expected, gap)
                break
            data = memoryview(fio.read_bytes(path))
            try:
                expected = start + sum(1 for _ in _frames(data, start))
            except _TailDamage as damage:
                self._segments.append(_Segment(start, path, damage.offset))
                expected = damage.op
                self._drop_tail(starts[index + 1 :], (path, len(data), damage), expected, "")
                break
            self._segments.append(_Segment(start, path, len(data)))
        # What we found may sit only in the page cache (the process, not the OS, crashed).
        for segment in self._segments:
            fio.fsync_file(segment.path)
        self._next_op = expected
        self._synced_op = expected - 1
        self._handle = fio.open_append(self._segments[-1].path)
        return self

    def _drop_tail(
        self,
        later: list[int],
        damaged: tuple[Path, int, _TailDamage] | None,
        next_op: int,
        reason: str,
    ) -> None:
        what = []
        if damaged is not None:
            path, size, damage = damaged
            self._fileio.truncate(path, damage.offset)
            reason = damage.reason
            what.append(f"{size - damage.offset} bytes of {path.name} from byte {damage.offset}")
        for start in later:
            self._fileio.remove(self.directory / segment_name(start))
        if later:
            what.append("segment files " + ", ".join(segment_name(s) for s in later))
            self._fileio.fsync_dir(self.directory)
        log.warning(
            "WAL %s: dropped damaged tail (%s) at op %d: %s",
            self.directory, reason, next_op, "; ".join(what),
        )

    def append(self, payload: bytes) -> int:
        """Write one record and return its op number; not durable until `sync_through`."""
        crc = zlib.crc32(payload)
        with self._lock:
            self._check_writable()
            self._maybe_rotate()
            op = self._next_op
            self._write(encode_frame(op, payload, crc))
            self._next_op = op + 1
            return op

    def append_many(self, payloads: list[bytes]) -> list[int]:
        """Write records with consecutive op numbers in one write: all of them or none."""
        if not payloads:
            return []
        crcs = [zlib.crc32(p) for p in payloads]
        with self._lock:
            self._check_writable()
            self._maybe_rotate()  # one segment per batch, so a failure rolls back all of it
            first = self._next_op
            frames = [encode_frame(first + i, p, crcs[i]) for i, p in enumerate(payloads)]
            self._write(b"".join(frames))
            self._next_op = first + len(frames)
            return list(range(first, self._next_op))

    def check_usable(self) -> None:
        """Raise StorageFailure once a failed write or fsync has made the log refuse records."""
        self._check_writable()

    def _check_writable(self) -> None:
        if self._broken is not None:
            raise StorageFailure(f"WAL {self.directory} is unusable after: {self._broken.message}")
        if self._handle is None:
            raise RuntimeError(f"WAL {self.directory} is not open")

    def _maybe_rotate(self) -> None:
        active = self._segments[-1]
        if active.size < self.segment_bytes or active.size == 0:
            return
        path = self.directory / segment_name(self._next_op)
        handle = self._fileio.open_append(path)
        try:
            # The new file must be durable before records in it can be acknowledged.
            self._fileio.fsync_dir(self.directory)
        except BaseException:
            handle.close()
            raise
        assert self._handle is not None
        self._retired.append(self._handle)
        self._handle = handle
        self._segments.append(_Segment(self._next_op, path, 0))

    def _write(self, data: bytes) -> None:
        assert self._handle is not None
        active = self._segments[-1]
        try:
            self._handle.write(data)
        except StorageFailure:
            # Cut off the partial frame, or later records would hide behind it at recovery.
            try:
                self._handle.truncate(active.size)
            except StorageFailure as err:
                self._broken = err
            raise
        active.size += len(data)

    def sync_through(self, op: int) -> None:
        """Return once every record up to `op` is on stable storage."""
        if op <= self._synced_op:
            return
        with self._sync_lock:
            if op <= self._synced_op:  # another caller's fsync covered us meanwhile
                return
            with self._lock:
                self._check_writable()
                if op >= self._next_op:
                    raise ValueError(f"op {op} was never appended (last op {self.last_op})")
                target = self._next_op - 1
                retired, self._retired = self._retired, []
                assert self._handle is not None
                handles = [*retired, self._handle]
            try:
                for handle in handles:
                    handle.fsync()
            except StorageFailure as err:
                # After a failed fsync the kernel may have dropped the dirty pages; a retry
                # could "succeed" without them, so nothing more is acknowledged.
                self._broken = err
                raise
            for handle in retired:
                handle.close()
            self._synced_op = target

    def read_from(self, op: int) -> Iterator[tuple[int, bytes]]:
        """Yield (op, payload) for every stored record with op number >= `op`, in order."""
        with self._lock:
            segments = [(s.start, s.path, s.size) for s in self._segments]
            end_op = self._next_op
        for index, (start, path, size) in enumerate(segments):
            stop = segments[index + 1][0] if index + 1 < len(segments) else end_op
            if stop <= op or start == stop:
                continue
            data = memoryview(self._fileio.read_bytes(path))[:size]
            last = start - 1
            try:
                for last, begin, end in _frames(data, start):
                    if last >= op:
                        yield last, bytes(data[begin:end])
            except _TailDamage as damage:
                raise StorageFailure(f"WAL segment {path} damaged: {damage.reason}") from damage
            if last != stop - 1:
                raise StorageFailure(f"WAL segment {path} ends at op {last}, expected {stop - 1}")

    def truncate_before(self, op: int) -> None:
        """Delete segment files holding only records below `op` (never the active one)."""
        with self._truncate_lock:
            with self._lock:
                victims = [
                    s for s, after in zip(self._segments, self._segments[1:]) if after.start <= op
                ]
            # Oldest first, each removal durable before the next: a crash leaves a contiguous
            # run of segments, which recovery would otherwise mistake for a damaged tail.
            for segment in victims:
                self._fileio.remove(segment.path)
                self._fileio.fsync_dir(self.directory)
                with self._lock:
                    self._segments.pop(0)

    def close(self) -> None:
        """Fsync what was appended (unless the log is broken) and release the files."""
        with self._sync_lock, self._lock:
            handles = [*self._retired, *([self._handle] if self._handle else [])]
            self._retired, self._handle = [], None
        try:
            if self._broken is None:
                for handle in handles:
                    handle.fsync()
                self._synced_op = self._next_op - 1
        finally:
            for handle in handles:
                handle.close()
