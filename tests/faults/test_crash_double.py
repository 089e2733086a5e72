"""Power cut at a random I/O call under a live collection: what survives on disk still holds every
acknowledged write, never half a batch, and opens; without directory fsyncs it would not."""

from __future__ import annotations

import contextlib
import random
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))

from crash_workload import (
    CREATE_BODY,
    FLUSH_NEVER,
    NAME,
    Outcome,
    check_recovery,
    run_workload,
)
from fileio_double import CrashSimulatingFileIO, SimulatedCrash

from pydrant.collection.updates import prepare_upsert
from pydrant.service.toc import TableOfContents

STEPS = 100
TINY_FLUSH_INTERVAL = 0.001  # the worker flushes after every batch it applies


class _EverythingWrittenBack:
    """Stands in for `materialize`'s rng: the kernel wrote back every pending byte and directory
    change (the process died, the machine did not)."""

    def random(self) -> float:
        return 0.0

    def randint(self, low: int, high: int) -> int:
        return high


class SkipsDirFsync(CrashSimulatingFileIO):
    """A deliberately broken FileIO: once `skip` is set, directory fsyncs do nothing, so created,
    renamed and removed entries never become durable."""

    skip = False

    def fsync_dir(self, path: Path) -> None:
        if not self.skip:
            super().fsync_dir(path)
            return
        with self._lock:
            self._tick("fsync_dir", path)


def crash_run(
    live: Path,
    fio: CrashSimulatingFileIO,
    rng: random.Random,
    *,
    crash_within: int | None,
    direct_flushes: bool,
    after_create: Any = None,
) -> Outcome:
    """Create the collection, run the workload until the double crashes (`crash_within` I/O
    calls after creation; None: at the end), then stop the dead server's threads."""
    return _crash_run(live, fio, rng, crash_within, direct_flushes, after_create)


def _crash_run(
    live: Path, fio: CrashSimulatingFileIO, rng: random.Random, crash_within: int | None, direct_flushes: bool, after_create: Any
) -> Outcome:
    toc = TableOfContents(live, FLUSH_NEVER if direct_flushes else TINY_FLUSH_INTERVAL, fio)
    try:
        toc.create_collection(NAME, CREATE_BODY)
        collection = toc.get(NAME)
        # A few records per WAL segment: rotation and truncation run many times per test.
        collection.wal.segment_bytes = rng.choice([256, 1024, 4096])
        if after_create is not None:
            after_create()
        if crash_within is not None:
            fio.crash_after = fio.calls + crash_within
        outcome = run_workload(collection, rng, STEPS, direct_flushes, SimulatedCrash)
        fio.crash()
    finally:
        with contextlib.suppress(SimulatedCrash):
            toc.close()
    return outcome


VARIANTS = {
    "unsynced_lost": lambda seed: None,  # only fsynced bytes and fsynced directory entries
    "torn": lambda seed: random.Random(seed * 7919),  # a random prefix of unsynced bytes, random entries
    "all_written_back": lambda seed: _EverythingWrittenBack(),  # kill -9: the page cache survives
}


# The thread-exception warnings are the update worker meeting the simulated power cut.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
@pytest.mark.parametrize("seed", range(40))
def test_crash_keeps_every_acknowledged_write(tmp_path: Path, seed: int) -> None:
    """One crash per seed, read back under each durability assumption in VARIANTS."""
    rng = random.Random(seed)
    live = tmp_path / "live"
    live.mkdir()
    fio = CrashSimulatingFileIO(live)
    # Even seeds: the worker flushes on a tiny timer; odd seeds: the test calls flush() directly.
    outcome = crash_run(live, fio, rng, crash_within=rng.randint(1, 450), direct_flushes=seed % 2 == 1)
    assert fio.crashed
    for variant, make_rng in sorted(VARIANTS.items()):
        after = tmp_path / f"after-{variant}"
        fio.materialize(after, make_rng(seed))
        try:
            check_recovery(after, outcome, write_after=variant == "torn")
        except AssertionError as exc:
            raise AssertionError(f"seed {seed}, variant {variant}: {exc}") from exc


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
@pytest.mark.parametrize("seed", range(3))
def test_skipping_directory_fsync_loses_acknowledged_writes(
    tmp_path: Path, seed: int
) -> None:
    """The check above has teeth: the same workload on a FileIO that skips directory fsyncs
    (new WAL segments, renamed manifests never become durable) fails it; the honest double passes."""
    for broken in (False, True):
        live = tmp_path / f"live-{broken}"
        live.mkdir()
        fio = SkipsDirFsync(live)
    
        def start_skipping(fio: SkipsDirFsync = fio, broken: bool = broken) -> None:
            fio.skip = broken

        outcome = crash_run(live, fio, random.Random(seed), crash_within=None, direct_flushes=True,
                            after_create=start_skipping)
        after = tmp_path / f"after-{broken}"
        fio.materialize(after)
        if not broken:
            check_recovery(after, outcome)
            continue
        assert any(step != "flush" for step in outcome.log), "the workload wrote nothing"
        with pytest.raises(AssertionError, match="missing|does not open"):
            check_recovery(after, outcome)


def _files(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}


def test_vector_files_go_through_the_collection_fileio(tmp_path: Path) -> None:
    """After a completed flush everything is durable, so the double's idea of the disk must be
    the real directory tree; a file missing from it was written behind the FileIO's back."""
    live = tmp_path / "live"
    live.mkdir()
    fio = CrashSimulatingFileIO(live)
    toc = TableOfContents(live, FLUSH_NEVER, fio)
    try:
        toc.create_collection(NAME, CREATE_BODY)
        collection = toc.get(NAME)
        prepared = prepare_upsert(collection, b'{"points": [{"id": 1, "vector": [1, 2, 3, 4]}]}')
        collection.write(prepared.build, wait=True)
        collection.flush()
        fio.materialize(tmp_path / "after")
        bypassed = _files(live) - _files(tmp_path / "after")
        assert not bypassed, f"written without the collection's FileIO: {sorted(bypassed)}"
    finally:
        toc.close()
