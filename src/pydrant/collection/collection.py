"""One collection: config, WAL, update worker, segments, flush and recovery.

Write path: a request is validated and turned into Operations (convert.py) -> appended to the
WAL and to the pending queue under the submit lock (which fixes the op number and the apply
order) -> fsynced (group commit, shared by concurrent writers) -> acknowledged, or with
wait=true applied first. Records are applied in op order by whoever holds the apply lock: the
writer itself when the lock is free (no thread hand-off on the usual path), else the update
worker thread, which also flushes. Readers hold the read side of an RW lock over the segments.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence, Union

from pydrant.collection.apply import Applier
from pydrant.collection.config import CollectionConfig
from pydrant.collection.holder import SegmentHolder
from pydrant.collection.manifest import MANIFEST_FILE, Manifest, SegmentEntry, load_manifest, save_manifest
from pydrant.collection.operations import Operation, decode_record, encode_record
from pydrant.collection.rate_limit import TokenBucket
from pydrant.collection.optimizer import Optimizer, has_graph_candidates
from pydrant.collection.rwlock import RWLock
from pydrant.errors import PydrantError, StorageFailure
from pydrant.segment.persist import load_segment, referenced_files, save_segment
from pydrant.storage.atomic import read_json, remove_stale_temp_files, write_atomic_json
from pydrant.storage.fileio import DEFAULT_FILEIO, FileIO
from pydrant.storage.wal import Wal

log = logging.getLogger("pydrant.collection")

CONFIG_FILE = "config.json"
# Records taken off the pending queue and applied under one write-lock acquisition.
APPLY_BATCH = 64
# Writes up to this size (WAL record bytes) are applied by the worker during their fsync.
OVERLAP_MAX_RECORD_BYTES = 256 * 1024

Pending = tuple[int, list[Operation], Union["Future[None]", None], bool]  # op, operations, waiter, chained


@dataclass(frozen=True)
class UpdateResult:
    operation_id: int
    status: str  # acknowledged | completed | wait_timeout


class Collection:
    def __init__(self, name: str, directory: Path, config: CollectionConfig, flush_interval: float, fileio: FileIO = DEFAULT_FILEIO) -> None:
        self.name = name
        self.directory = directory
        self.config = config
        self.flush_interval = flush_interval
        self.fileio = fileio
        self.rw = RWLock()
        self._submit_lock = threading.Lock()
        self._applied_cond = threading.Condition()
        # Logged records not applied yet, in op order. Taken off only under the apply lock, so
        # whoever holds it applies them in order (see _apply_pending).
        self._pending: deque[Pending] = deque()
        self._apply_lock = threading.Lock()
        # Wakes the update worker: records are durable and want applying, a flush is due, or
        # the collection closes.
        self._wakeup = threading.Condition()
        self._worker_called = False
        self._flush_requested = False
        self._stopping = False
        self._closed = False
        self.failure: str | None = None  # set when an apply hit a bug; collection turns red
        self.rate_buckets: dict[str, TokenBucket] = {}  # strict mode's read / write limits
        self.last_write = 0.0  # monotonic time of the last apply (the optimizer waits for a pause)
        self._last_failed: tuple[int, BaseException | None] = (-2, None)  # last failed record

        fileio.makedirs(directory / "segments")
        remove_stale_temp_files(directory, fileio)
        self.manifest = load_manifest(directory, fileio)
        segments = [
            load_segment(e.id, e.appendable, self._segment_dir(e.id), e.files, config.all_vectors(), fileio)
            for e in self.manifest.segments
        ]
        self.holder = SegmentHolder(segments, self.manifest.next_segment_id)
        self.applier = Applier(self.holder, lambda: self.config)
        for key, schema in self.manifest.payload_schema.items():
            self.applier.apply_index_on_load(key, schema)
        self.applied_op = self.manifest.applied_op
        self._flushed_op = self.applied_op
        self._config_dirty = False
        # Segments the optimizer wrote to disk before swapping them in: id -> their file map
        # (empty while being written). A flush starts from that map; GC leaves those dirs alone.
        self._prewritten: dict[int, dict[str, Any]] = {}

        segment_bytes = int(config.raw["wal_config"].get("wal_capacity_mb", 32)) * 1024 * 1024
        self.wal = Wal(directory / "wal", segment_bytes=segment_bytes, fileio=fileio)
        self.wal.open()
        self._replay()
        self._worker = threading.Thread(target=self._run_worker, name=f"update-{name}", daemon=True)
        self._worker.start()
        self.optimizer = Optimizer(self)
        graphs = self.applier.indexing_enabled()
        self.optimizer.indexed.update(
            s.segment_id for s in self.holder.segments if not s.appendable and not (graphs and has_graph_candidates(s))
        )
        self.optimizer.wake()

    # ---- creation / loading -----------------------------------------------------------------
    @classmethod
    def create(cls, name: str, directory: Path, config: CollectionConfig, flush_interval: float, fileio: FileIO = DEFAULT_FILEIO) -> "Collection":
        fileio.makedirs(directory)
        write_atomic_json(directory / CONFIG_FILE, {"name": name, "config": config.to_persisted()}, fileio)
        try:
            return cls(name, directory, config, flush_interval, fileio)
        except BaseException:
            # A config this code cannot open must not stay behind: every restart would fail on it.
            shutil.rmtree(directory, ignore_errors=True)
            raise

    @classmethod
    def open(cls, directory: Path, flush_interval: float, fileio: FileIO = DEFAULT_FILEIO) -> "Collection":
        stored = read_json(directory / CONFIG_FILE, fileio=fileio)
        return cls(stored["name"], directory, CollectionConfig(stored["config"]), flush_interval, fileio)

    def _segment_dir(self, segment_id: int) -> Path:
        return self.directory / "segments" / str(segment_id)

    def _replay(self) -> None:
        replayed = 0
        for op_id, data in self.wal.read_from(self.applied_op + 1):
            try:
                record = decode_record(data)
            except Exception:  # a record that passed its CRC but cannot be decoded: skip it
                log.exception("collection %s: skipping undecodable WAL record %d", self.name, op_id)
                continue
            error = self._apply_record(op_id, record.operations, record.chained)
            if error is not None:
                log.info("collection %s: WAL op %d failed on replay as it did live: %s", self.name, op_id, error)
            self.applied_op = op_id
            replayed += 1
        if replayed:
            log.info("collection %s: replayed %d WAL records up to op %d", self.name, replayed, self.applied_op)

    # ---- writes -----------------------------------------------------------------------------
    def write(
        self,
        build: Callable[[], Sequence[Operation]],
        wait: bool,
        timeout: float | None = None,
        needs_current_state: bool = False,
    ) -> UpdateResult:
        """Log the operations `build` returns and apply them in order.

        `build` runs under the submit lock; with `needs_current_state` every earlier operation is
        applied first, so a filter or an existence check sees exactly the state this op follows.
        It may raise a PydrantError, and then nothing is logged.
        """
        return self.write_chain([build], wait, timeout, needs_current_state)[0]

    def write_chain(
        self,
        builds: Sequence[Callable[[], Sequence[Operation]]],
        wait: bool,
        timeout: float | None = None,
        needs_current_state: bool = False,
    ) -> list[UpdateResult]:
        """Log several requests' operations as consecutive records with one write and one
        fsync (a batch update). Each gets its own op number; when one fails, the ones after it
        are skipped (they are `chained`), live and on replay alike. A waiting caller gets the
        first failure."""
        done: Future[None] | None = Future() if wait else None
        with self._submit_lock:
            self._ensure_open()
            if needs_current_state:
                self._drain()
            operation_lists = [list(build()) for build in builds]
            records = [encode_record(ops, chained=i > 0) for i, ops in enumerate(operation_lists)]
            op_ids = self.wal.append_many(records)
            for i, (op_id, ops) in enumerate(zip(op_ids, operation_lists)):
                last = i == len(op_ids) - 1
                self._pending.append((op_id, ops, done if last else None, i > 0))
        # A small waiting write has the worker apply its records while the writer's fsync
        # runs: the fsync releases the GIL, so the two overlap and the answer comes after the
        # longer of the two instead of their sum. Readers may see the records a moment before
        # they are durable; the writer is answered only after both. A large write applies in
        # the writer's own thread, as the others do: there the fsync is a small part, and
        # applying in the worker measured ~39% more server CPU per point (1,000-point upserts).
        overlap = done is not None and sum(map(len, records)) <= OVERLAP_MAX_RECORD_BYTES
        if overlap:
            self._call_worker()
        try:
            self.wal.sync_through(op_ids[-1])
        except BaseException:
            self._call_worker()  # it fails the records' waiters it has not applied yet
            raise
        # Otherwise the writer applies its own records (and any before them) when nobody else
        # is applying: two thread hand-offs less than leaving them to the worker, and a writer
        # that does not wait does too, so a client's next request (typically a read after an
        # upload) sees what it was told is acknowledged. When the lock is taken, the worker
        # applies them.
        if not overlap and not self._apply_pending(op_ids[-1], blocking=False):
            self._call_worker()
        status = "acknowledged"
        if done is not None:
            try:
                done.result(timeout=timeout)
                status = "completed"
            except TimeoutError:
                status = "wait_timeout"
        return [UpdateResult(op_id, status) for op_id in op_ids]

    def _ensure_open(self) -> None:
        if self._closed:
            raise StorageFailure(f"collection `{self.name}` is closing")

    def _drain(self) -> None:
        target = self.wal.last_op
        if self.applied_op < target and not self._apply_pending(target, blocking=False):
            self._call_worker()
        with self._applied_cond:
            while self.applied_op < target:
                self._applied_cond.wait()

    def wait_applied(self) -> None:
        """Block until every logged operation is applied (tests, reconfiguration)."""
        self._drain()

    def reconfigure(self, change: Callable[[CollectionConfig], CollectionConfig], on_segments: Callable[[SegmentHolder, CollectionConfig], None] | None = None) -> None:
        """Change the collection config (PATCH, named vectors) between two operations."""
        with self._submit_lock:
            self._ensure_open()
            self._drain()
            new_config = change(self.config)
            write_atomic_json(self.directory / CONFIG_FILE, {"name": self.name, "config": new_config.to_persisted()}, self.fileio)
            with self.rw.write():
                self.config = new_config
                if on_segments is not None:
                    on_segments(self.holder, new_config)
                self._config_dirty = True
                if self.applier.indexing_enabled():  # indexing turned (back) on: graphs are owed
                    self.optimizer.indexed.difference_update(s.segment_id for s in self.holder.segments if has_graph_candidates(s))
        self._request_flush()
        self.optimizer.wake()

    def prewrite_segment(self, segment: Any) -> None:
        """Write a segment that is not yet part of the collection (the optimizer's target,
        before its swap) with no lock held, so that the flush after the swap writes only what
        the catch-up changed instead of the whole segment while queries run. The files stay
        unreferenced (and are collected) until a manifest names the segment."""
        segment_id = segment.segment_id
        self._prewritten[segment_id] = {}  # before any file exists: GC must not take the dir
        # Below every future flush generation, so no later flush reuses these file names.
        generation = self.manifest.generation
        self._prewritten[segment_id] = save_segment(segment, self._segment_dir(segment_id), generation, {}, self.fileio)
        segment.dirty = set()  # from here on, only later changes (the swap's catch-up) are dirty

    def discard_prewritten(self, segment_id: int) -> None:
        """The segment will not be swapped in: its files go at the next flush's GC."""
        self._prewritten.pop(segment_id, None)

    def swap_segments(self, sources: list[Any], target: Any, catch_up: Callable[[], None]) -> None:
        """Replace `sources` by `target` between two operations (see optimizer.py)."""
        with self._submit_lock:
            self._ensure_open()
            self._drain()
            with self.rw.write():
                if any(all(s is not current for current in self.holder.segments) for s in sources):
                    raise RuntimeError("optimization sources changed during the build")
                catch_up()
                self.holder.replace(sources, target)
                if not self._prewritten.get(target.segment_id):
                    target.dirty.update({"ids", "payloads", *(f"vec:{n}" for n in target.vectors)})
        self._request_flush()

    # ---- applying and the update worker -------------------------------------------------------
    def _call_worker(self) -> None:
        with self._wakeup:
            self._worker_called = True
            self._wakeup.notify()

    def _request_flush(self) -> None:
        with self._wakeup:
            self._flush_requested = True
            self._wakeup.notify()

    def _apply_pending(self, through: int | None = None, blocking: bool = True) -> bool:
        """Apply pending records in op order, all of them or up to op `through`. Returns False,
        having applied nothing, when `blocking` is off and another thread holds the apply lock
        (it applies in order too, and whoever called the worker gets it to finish)."""
        if not self._apply_lock.acquire(blocking=blocking):
            return False
        try:
            while True:
                batch: list[Pending] = []
                while self._pending and len(batch) < APPLY_BATCH and (through is None or self._pending[0][0] <= through):
                    batch.append(self._pending.popleft())
                if not batch:
                    return True
                self._apply_batch(batch)
        finally:
            self._apply_lock.release()

    def _run_worker(self) -> None:
        """Apply what writers left to it (records of writers that do not wait, or found the
        apply lock taken), flush when asked or every flush interval, and on close apply the
        rest. It is not called for a waiting writer's records: it would take them off the
        queue during the writer's fsync, and the writer would then wait for it."""
        last_flush = time.monotonic()
        while True:
            with self._wakeup:
                if not (self._worker_called or self._flush_requested or self._stopping):
                    self._wakeup.wait(max(0.05, self.flush_interval - (time.monotonic() - last_flush)))
                self._worker_called = False
                stopping = self._stopping
                flush_now, self._flush_requested = self._flush_requested, False
            try:
                self._apply_pending()
                if not stopping and (flush_now or time.monotonic() - last_flush >= self.flush_interval):
                    self._flush_safely()
                    last_flush = time.monotonic()
            except Exception:  # the worker must survive anything, or every writer would hang
                log.exception("collection %s: update worker error", self.name)
            if stopping:
                break

    def _apply_batch(self, batch: list[Pending]) -> None:
        try:
            # Records may be applied while their writer's fsync runs (see write_chain), but not
            # once an fsync has failed: the WAL cannot make them durable.
            self.wal.check_usable()
        except Exception as exc:
            # The WAL could not make these durable (disk full, I/O error): they are not applied
            # and their writers get the error; the WAL refuses further writes until restart.
            log.error("collection %s: WAL sync failed, %d operations not applied: %s", self.name, len(batch), exc)
            self.failure = f"WAL sync failed: {exc}"
            with self._applied_cond:
                self.applied_op = batch[-1][0]
                self._applied_cond.notify_all()
            for _op_id, _operations, done, _chained in batch:
                if done is not None:
                    done.set_exception(exc if isinstance(exc, PydrantError) else StorageFailure(str(exc)))
            return
        results: list[tuple[Future[None] | None, BaseException | None]] = []
        with self.rw.write():
            for op_id, operations, done, chained in batch:
                error = self._apply_record(op_id, operations, chained)
                self.applied_op = op_id
                results.append((done, error))
        self.last_write = time.monotonic()
        with self._applied_cond:
            self._applied_cond.notify_all()
        self.optimizer.wake()
        for done, error in results:
            if done is not None:
                if error is None:
                    done.set_result(None)
                else:
                    done.set_exception(error)

    def _apply_record(self, op_id: int, operations: list[Operation], chained: bool) -> BaseException | None:
        """Apply one record's operations in order, stopping at the first failure; a chained
        record whose predecessor failed is skipped and inherits its error. Same path live and
        on replay, so both reach the same state."""
        if chained and self._last_failed[0] == op_id - 1:
            self._last_failed = (op_id, self._last_failed[1])
            return self._last_failed[1]
        try:
            for operation in operations:
                self.applier.apply(operation, op_id)
        except PydrantError as exc:
            self._last_failed = (op_id, exc)
            return exc
        except Exception as exc:  # our bug: keep serving, report it, turn red
            log.exception("collection %s: applying op %d failed", self.name, op_id)
            self.failure = f"applying operation {op_id} failed: {exc!r}"
            self._last_failed = (op_id, exc)
            return exc
        return None

    def _flush_safely(self) -> None:
        try:
            self.flush()
        except Exception:
            log.exception("collection %s: flush failed; the WAL still holds every operation", self.name)

    def flush(self) -> None:
        """Persist dirty segment components, replace the manifest, truncate the WAL.

        Holds the apply lock, so no apply happens meanwhile; the read lock keeps the optimizer's
        swap and reconfiguration (both take the write lock) out, so the segment list and their
        dirty marks cannot change half-way through."""
        with self._apply_lock, self.rw.read():
            applied = self.applied_op
            segments = list(self.holder.segments)
            # A swap of a prewritten segment leaves nothing dirty, yet changes the segment set.
            same_segments = [s.segment_id for s in segments] == [e.id for e in self.manifest.segments]
            if applied == self._flushed_op and not self._config_dirty and same_segments and not any(s.dirty for s in segments):
                return
            # Records are applied before their fsync ends: the segments must not get ahead of
            # the log, or a crash would lose WAL records that the manifest says it holds and
            # the recovered log would number new records below `applied_op`.
            self.wal.sync_through(applied)
            generation = self.manifest.generation + 1  # new file names every flush: never overwrite live files
            previous = {e.id: e.files for e in self.manifest.segments}
            entries = []
            keep: dict[int, set[str]] = {}
            for segment in segments:
                before = previous.get(segment.segment_id)
                if before is None:
                    before = self._prewritten.get(segment.segment_id) or {}
                files = save_segment(segment, self._segment_dir(segment.segment_id), generation, before, self.fileio)
                entries.append(SegmentEntry(segment.segment_id, segment.appendable, files))
                keep[segment.segment_id] = referenced_files(files)
            manifest = Manifest(
                applied_op=applied,
                next_segment_id=self.holder.next_segment_id,
                segments=entries,
                payload_schema=dict(self.applier.payload_schema),
                generation=generation,
            )
            save_manifest(self.directory, manifest, self.fileio)
            # Only now are the written components safe to forget as dirty.
            for segment in segments:
                segment.dirty = set()
                self._prewritten.pop(segment.segment_id, None)  # the manifest names its files now
            self.manifest = manifest
            self._flushed_op = applied
            self._config_dirty = False
            self._collect_garbage(keep)
        self.wal.truncate_before(applied + 1)

    def _collect_garbage(self, keep: dict[int, set[str]]) -> None:
        root = self.directory / "segments"
        for name in self.fileio.listdir(root):
            seg_dir = root / name
            if name.isdigit() and int(name) in self._prewritten:
                continue  # written by the optimizer, not swapped in yet
            if not name.isdigit() or int(name) not in keep:
                self._remove_tree(seg_dir)
                continue
            for file in self.fileio.listdir(seg_dir):
                if file not in keep[int(name)]:
                    self.fileio.remove(seg_dir / file)

    def _remove_tree(self, path: Path) -> None:
        import shutil

        shutil.rmtree(path, ignore_errors=True)

    # ---- snapshots ----------------------------------------------------------------------------
    def snapshot_files(self, dest: Path) -> int:
        """Hard-link (or copy, across file systems) the files of a consistent image of the
        collection into the empty directory `dest`: its config, its manifest and the segment
        files the manifest names, after every logged operation is applied and flushed. Returns
        the last op the image holds. Writes wait meanwhile; the links cost no copy, and segment
        files are never rewritten in place (each flush writes new names), so the image stays
        as it was while it is archived with no lock held."""
        with self._submit_lock:
            self._ensure_open()
            self._drain()
            self.flush()
            with self._apply_lock:  # no flush (its garbage collection) while linking
                manifest = self.manifest
                if not self.fileio.exists(self.directory / MANIFEST_FILE):  # nothing written yet
                    save_manifest(self.directory, manifest, self.fileio)
                _link_or_copy(self.directory / CONFIG_FILE, dest / CONFIG_FILE)
                _link_or_copy(self.directory / MANIFEST_FILE, dest / MANIFEST_FILE)
                for entry in manifest.segments:
                    segment_dir = Path("segments") / str(entry.id)
                    (dest / segment_dir).mkdir(parents=True, exist_ok=True)
                    for name in sorted(referenced_files(entry.files)):
                        _link_or_copy(self.directory / segment_dir / name, dest / segment_dir / name)
                return manifest.applied_op

    # ---- lifecycle ----------------------------------------------------------------------------
    def close(self) -> None:
        with self._submit_lock:
            if self._closed:
                return
            self._closed = True
        self.optimizer.stop()
        with self._wakeup:
            self._stopping = True
            self._wakeup.notify()
        self._worker.join()
        self._flush_safely()
        self.wal.close()

    # ---- reads --------------------------------------------------------------------------------
    def reading(self) -> Any:
        return self.rw.read()

    def status(self) -> str:
        if self.failure is not None:
            return "red"
        return "yellow" if self.optimizer.pending() else "green"

    def queued_updates(self) -> int:
        """Logged operations not applied yet (Qdrant's `update_queue.length`)."""
        return len(self._pending)

    def segments(self) -> Iterator[Any]:
        return iter(self.holder.segments)


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:  # another file system, or links not supported: a copy is as good
        shutil.copy2(src, dst)
