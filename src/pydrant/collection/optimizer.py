"""The segment optimizer: turns sealed segments into compact, HNSW-indexed ones (indexing),
rebuilds segments with many deleted points (vacuum) and merges small sealed segments (merge).

Every optimization has the same three steps:
1. copy the live points of the source segments into a new segment (under the read lock, so the
   copy is a consistent snapshot; sources are sealed, so only deletes, payload changes and
   vector clears can still reach them), grouped by a k-means cluster of their first
   graph-indexable dense vector, computed before with no lock held (locality.py): near vectors
   at near offsets make graph searches touch fewer cache lines and pages;
2. build vector indexes on the copy with no lock held (faiss releases the GIL), then write the
   copy's files, still unreferenced by the manifest (so the flush after the swap writes only
   what the catch-up changed, not the whole segment while queries run);
3. swap, between two operations (submit lock + drained queue) under the write lock: every point
   the sources changed after the snapshot (its version moved) is re-copied from the source into
   the appendable segment (or dropped if deleted), then the new segment replaces the sources.
Readers see either the sources or the new segment, never a mix; writes wait only for step 3.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable

import numpy as np

from pydrant.collection.config import VectorSpec
from pydrant.collection.optimization_log import Optimization, OptimizationLog
from pydrant.models.ids import PointId
from pydrant.segment.segment import Segment
from pydrant.segment.vector_index import locality
from pydrant.segment.vector_index.hnsw import BuildCancelled, supports
from pydrant.segment.vectors.dense import DenseStorage

if TYPE_CHECKING:
    from pydrant.collection.collection import Collection

log = logging.getLogger("pydrant.optimizer")

IDLE_SECONDS = 1.0  # writes must pause this long before an index build starts...
BACKLOG_POINTS = 400_000  # ...unless this many sealed points still wait for their index
MAX_OPTIMIZED_POINTS = 200_000  # points one optimized segment holds at most
STAGES = ["clustering", "copying", "building indexes", "writing", "swapping"]


def _fill(segments: list[Segment], budget: int) -> list[Segment]:
    """The first segments whose live points fit in `budget` (always at least one)."""
    chosen: list[Segment] = []
    total = 0
    for segment in segments:
        if chosen and total + segment.live_count > budget:
            break
        chosen.append(segment)
        total += segment.live_count
    return chosen


@dataclass
class _Copy:
    source: Segment
    versions: np.ndarray  # source versions at snapshot time
    src_offsets: np.ndarray
    dst_offsets: np.ndarray


def _row_sources(sources: list[Segment], specs: Iterable[VectorSpec]) -> list[locality.RowSource] | None:
    """The rows the copy is ordered by: the first dense vector a graph can index, from every
    source (None when there is no such vector)."""
    for spec in specs:
        if spec.kind == "dense" and supports(spec.distance):
            found = [source.vectors.get(spec.name) for source in sources]
            if all(isinstance(storage, DenseStorage) for storage in found):
                return [storage.row_source() for storage in found if isinstance(storage, DenseStorage)]
    return None


def _keys_at(live: np.ndarray, with_vector: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """The cluster key of each live offset (`keys` are aligned with `with_vector`); the
    largest int32, which sorts last, for offsets that had no row when the keys were made."""
    out = np.full(live.shape[0], np.iinfo(np.int32).max, dtype=np.int32)
    where = np.searchsorted(with_vector, live)
    found = where < with_vector.shape[0]
    found[found] = with_vector[where[found]] == live[found]
    out[found] = keys[where[found]]
    return out


def _needs_vacuum(segment: Segment, vacuum_min: int, deleted_threshold: float) -> bool:
    deleted = segment.size - segment.live_count
    return segment.size >= vacuum_min and deleted / max(1, segment.size) > deleted_threshold


def has_graph_candidates(segment: Segment) -> bool:
    """Dense storages of this segment that could carry an HNSW graph but do not."""
    return any(
        getattr(storage, "index", "n/a") is None and storage.kind == "dense" and storage.has_mask(segment.size).any()
        for storage in segment.vectors.values()
    )


# Niceness added to the optimizer thread (and so to the faiss threads it starts): a build uses
# the CPU that requests leave idle and yields it to them. Measured on two cores, a mixed batch
# write during a 100k-point build: p50 5.3 -> 3.0-3.6 ms, the build itself no slower when idle.
OPTIMIZER_NICENESS = 10


def lower_own_priority() -> None:
    """Lower the calling thread's CPU priority by OPTIMIZER_NICENESS. Linux only: there a
    thread id is a valid `setpriority` target (elsewhere it could name another process)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        thread_id = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, thread_id, os.getpriority(os.PRIO_PROCESS, thread_id) + OPTIMIZER_NICENESS)
    except OSError as exc:  # not fatal: the build then competes at equal priority
        log.warning("could not lower the optimizer thread's priority: %s", exc)


class Optimizer:
    def __init__(self, collection: "Collection") -> None:
        self.collection = collection
        self._wake = threading.Event()
        self._stop = False
        self.busy = False
        self.indexed: set[int] = set()  # segments already built (a Manhattan-only segment has no graph)
        self.log = OptimizationLog()
        self._thread = threading.Thread(target=self._run, name=f"optimizer-{collection.name}", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop = True
        self._wake.set()
        self._thread.join()

    def pending(self) -> bool:
        """Whether indexing work is running or waiting (lock-free: called under read locks)."""
        segments = list(self.collection.holder.segments)
        threshold = self.collection.applier.index_threshold()
        return self.busy or any(
            (not s.appendable and s.segment_id not in self.indexed) or (s.appendable and s.live_count >= threshold)
            for s in segments
        )

    # ---- planning ---------------------------------------------------------------------------
    def _plan(self) -> tuple[str, list[Segment]] | None:
        """The next optimization (its kind and the segments to rebuild together), or None.

        Index builds are CPU-heavy and this machine class has two cores: they wait until writes
        pause (IDLE_SECONDS) unless the unindexed backlog grows large, and unindexed sealed
        segments are merged into one segment of up to MAX_OPTIMIZED_POINTS before the build, so
        a bulk load is indexed once, in few large segments (fewer graphs to search)."""
        collection = self.collection
        vacuum_min, deleted_threshold = self._vacuum_limits()
        threshold = collection.applier.seal_threshold()
        idle = time.monotonic() - collection.last_write >= IDLE_SECONDS
        if idle:
            self._seal_full_appendable(collection.applier.index_threshold())
        with collection.reading():
            sealed = [s for s in collection.holder.segments if not s.appendable]
            unindexed = [s for s in sealed if s.segment_id not in self.indexed]
            backlog = sum(s.live_count for s in unindexed)
            if unindexed and (idle or backlog >= BACKLOG_POINTS):
                return "indexing", _fill(unindexed, MAX_OPTIMIZED_POINTS)
            if not idle:
                return None
            for segment in sealed:
                if _needs_vacuum(segment, vacuum_min, deleted_threshold):
                    return "vacuum", [segment]
            small = [s for s in sealed if s.live_count < threshold // 2]
            if len(small) >= 2:
                merged = _fill(small, MAX_OPTIMIZED_POINTS)
                return ("merge", merged) if len(merged) >= 2 else None
        return None

    def _vacuum_limits(self) -> tuple[int, float]:
        """(vacuum_min_vector_number, deleted_threshold) of the collection's config."""
        config = self.collection.config.raw["optimizer_config"]
        return int(config.get("vacuum_min_vector_number") or 1000), float(config.get("deleted_threshold") or 0.2)

    def queued(self) -> list[tuple[str, list[Segment]]]:
        """Every optimization the current segments call for, whenever it may run (the plan
        above also waits for writes to pause), leaving out the segments being optimized.
        Read-only: nothing is sealed here."""
        collection = self.collection
        vacuum_min, deleted_threshold = self._vacuum_limits()
        threshold = collection.applier.seal_threshold()
        running = self.log.running
        busy_ids = running.source_ids if running is not None else set()
        segments = [s for s in collection.holder.segments if s.segment_id not in busy_ids]
        queue: list[tuple[str, list[Segment]]] = []
        index_threshold = collection.applier.index_threshold()
        unindexed = [s for s in segments if (not s.appendable and s.segment_id not in self.indexed)
                     or (s.appendable and s.live_count >= index_threshold)]
        while unindexed:
            batch = _fill(unindexed, MAX_OPTIMIZED_POINTS)
            queue.append(("indexing", batch))
            unindexed = unindexed[len(batch):]
        indexed = [s for s in segments if not s.appendable and s.segment_id in self.indexed]
        vacuum = [s for s in indexed if _needs_vacuum(s, vacuum_min, deleted_threshold)]
        queue.extend(("vacuum", [s]) for s in vacuum)
        small = [s for s in indexed if s.live_count < threshold // 2 and s not in vacuum]
        while len(small) >= 2:
            merged = _fill(small, MAX_OPTIMIZED_POINTS)
            if len(merged) < 2:
                break
            queue.append(("merge", merged))
            small = small[len(merged):]
        return queue

    def _seal_full_appendable(self, threshold: int) -> None:
        """A full appendable segment is sealed at the next insert; when writes pause, seal one
        past the indexing threshold now so that it is indexed too (as Qdrant's indexing
        optimizer takes any segment past the threshold) instead of being scanned exactly by
        every search meanwhile."""
        collection = self.collection
        with collection.rw.write():
            for segment in collection.holder.segments:
                if segment.appendable and segment.live_count >= threshold:
                    segment.appendable = False
                    segment.dirty.add("ids")

    # ---- running ----------------------------------------------------------------------------
    def _run(self) -> None:
        lower_own_priority()
        while not self._stop:
            self._wake.wait(timeout=IDLE_SECONDS / 2)
            self._wake.clear()
            while not self._stop:
                planned = self._plan()
                if planned is None:
                    break
                if not self._run_planned(*planned):
                    return

    def _run_planned(self, kind: str, plan: list[Segment]) -> bool:
        """One optimization; False when it stopped for shutdown. The sources are referenced
        here only while it runs: a local of the loop above kept the last optimization's
        swapped-out segments (their vectors and payloads) alive until the next one."""
        self.busy = True
        try:
            self.optimize(plan, kind)
        except BuildCancelled:
            log.info("collection %s: index build stopped for shutdown; sources stay in place", self.collection.name)
            return False
        except Exception:
            log.exception("collection %s: optimization failed; sources stay in place", self.collection.name)
            self.indexed.update(s.segment_id for s in plan)  # do not retry in a tight loop
        finally:
            self.busy = False
        return True

    def optimize(self, sources: list[Segment], kind: str = "indexing") -> Segment:
        """Rebuild `sources` as one new segment; `kind` names the optimizer in the log."""
        collection = self.collection
        with collection.reading():
            row_sources = _row_sources(sources, collection.config.vectors.values())
            target_id = collection.holder.reserve_segment_id()
            progress = Optimization(kind, target_id, [(s.segment_id, s.live_count) for s in sources], STAGES)
        self.log.start(progress)
        try:
            target = self._optimize(sources, row_sources, target_id, progress)
        except BuildCancelled as exc:
            self.log.end(progress, {"cancelled": str(exc)})
            raise
        except BaseException as exc:
            self.log.end(progress, {"error": f"{type(exc).__name__}: {exc}"})
            raise
        self.log.end(progress, "done")
        return target

    def _optimize(
        self, sources: list[Segment], row_sources: list[locality.RowSource] | None, target_id: int, progress: Optimization
    ) -> Segment:
        collection = self.collection
        # Clustering runs without the lock (it reads sealed rows; a stale read only makes the
        # order less good). It orders the copy: near vectors at near offsets.
        keys = None
        if row_sources is not None:
            progress.stage("clustering")
            keys = locality.cluster_keys(row_sources)
        if self._stop:
            raise BuildCancelled("optimization stopped before the copy")
        with collection.reading():
            copying = progress.stage("copying", total=sum(s.live_count for s in sources))
            specs = collection.config.all_vectors()
            target = Segment(target_id, specs, appendable=False)
            for key, schema in collection.applier.payload_schema.items():
                target.create_index(key, schema)
            copies = self._copy_live(sources, target, row_sources, keys)
            copying.done = target.live_count
            hnsw_config = dict(collection.config.raw["hnsw_config"])
        graphs = collection.applier.indexing_enabled()
        builds = [
            build for storage in target.vectors.values()
            if (build := getattr(storage, "build_index", None)) is not None and storage.has_mask(target.size).any()
        ]
        indexing = progress.stage("building indexes", total=len(builds))
        for build in builds:
            build(hnsw_config, lambda: self._stop, graph=graphs)
            indexing.done = (indexing.done or 0) + 1
        progress.stage("writing")
        try:
            collection.prewrite_segment(target)
        except Exception:
            # Not fatal: the swap then marks the whole segment dirty and the next flush
            # writes it (and reports a full disk the way every flush does).
            log.warning("collection %s: writing segment %d before its swap failed", collection.name, target.segment_id, exc_info=True)
            collection.discard_prewritten(target.segment_id)
        progress.stage("swapping")
        try:
            collection.swap_segments(sources, target, lambda: self._catch_up(copies, target))
        except BaseException:
            collection.discard_prewritten(target.segment_id)
            raise
        self.indexed.add(target.segment_id)
        self.indexed.difference_update(s.segment_id for s in sources)
        log.info(
            "collection %s: optimized segments %s into %d (%d points, %d indexed vectors)",
            collection.name, [s.segment_id for s in sources], target.segment_id, target.live_count, target.indexed_vectors_count(),
        )
        return target

    @staticmethod
    def _copy_live(
        sources: list[Segment],
        target: Segment,
        row_sources: list[locality.RowSource] | None,
        keys: list[np.ndarray] | None,
    ) -> list[_Copy]:
        """Copy every live point of `sources` into `target`, grouped by cluster key when there
        are keys (points without one, such as points without that vector, go last)."""
        lives = [source.tracker.live_offsets() for source in sources]
        ids: list[PointId] = []
        payloads: list[dict[str, Any] | None] = []
        for source, src in zip(sources, lives):
            offset_list = src.tolist()
            ids.extend(source.ids_at(offset_list))
            payloads.extend(source.payloads[o] for o in offset_list)
        order = None
        if keys is not None and row_sources is not None:
            order = np.argsort(np.concatenate([
                _keys_at(src, row_source.offsets, key) for src, row_source, key in zip(lives, row_sources, keys)
            ]), kind="stable")
            picks = order.tolist()
            ids = [ids[i] for i in picks]
            payloads = [payloads[i] for i in picks]
        allocated = target.tracker.allocate(ids, 0)
        target.append_payloads(allocated, payloads)
        dst_all = allocated  # the target offset of each point, in source order
        if order is not None:
            dst_all = np.empty_like(allocated)
            dst_all[order] = allocated
        copies = []
        start = 0
        for source, src in zip(sources, lives):
            dst = dst_all[start : start + src.shape[0]]
            start += src.shape[0]
            versions = source.tracker.versions.copy()
            target.tracker.versions[dst] = versions[src]
            target.copy_point_vectors_from(source, src, dst)
            target.max_version = max(target.max_version, source.max_version)
            copies.append(_Copy(source, versions, src, dst))
        return copies

    def _catch_up(self, copies: list[_Copy], target: Segment) -> None:
        """Runs inside the swap (write lock, no op in flight): replay what the sources changed
        since the snapshot. Changed live points move to the appendable segment, so the new
        segment's vector index never sees a write."""
        applier = self.collection.applier
        for copy in copies:
            now = copy.source.tracker.versions
            live_now = copy.source.tracker.live[copy.src_offsets]
            # A version that moved, or a point no longer live there (deleted or moved out).
            changed = (now[copy.src_offsets] != copy.versions[copy.src_offsets]) | ~live_now
            if not changed.any():
                continue
            src = copy.src_offsets[changed]
            dst = copy.dst_offsets[changed]
            latest = int(now[src].max())
            target.delete(dst, latest)
            still_live = copy.source.tracker.live[src]
            if still_live.any():
                applier.move_points(copy.source, src[still_live], latest)
