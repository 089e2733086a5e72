"""Disk full: writes fail with a clear error, reads go on, stored data stays intact, and once space
returns writes work again and a restart recovers every acknowledged write."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from crash_workload import CREATE_BODY, FLUSH_NEVER, NAME, State, stored_state
from helpers.rest import RestClient
from helpers.server import ServerError, ServerProcess, wait_until

from pydrant.collection import read
from pydrant.collection.collection import Collection
from pydrant.collection.updates import (
    PreparedWrite,
    prepare_delete,
    prepare_set_payload,
    prepare_upsert,
)
from pydrant.errors import StorageFailure
from pydrant.service.toc import TableOfContents
from pydrant.storage.fileio import AppendHandle, FileHandle, FileIO, translate

NO_SPACE = "No space left on device"


def _enospc(path: Path) -> Exception:
    return translate(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)), "write", path)


class DiskFullFileIO(FileIO):
    """The real FileIO, except that while `full` is set, writes to files whose name contains
    `only` (every file when None) store half their bytes and then fail with ENOSPC, as a write
    that runs out of space part-way does."""

    def __init__(self) -> None:
        self.full = False
        self.only: str | None = None
        self.refused = 0

    def refuses(self, path: Path) -> bool:
        return self.full and (self.only is None or self.only in path.name)

    def open_append(self, path: Path) -> AppendHandle:
        return _Handle(self, FileHandle(path))

    def write_new(self, path: Path, data: bytes) -> None:
        if self.refuses(path):
            self.refused += 1
            super().write_new(path, data[: len(data) // 2])
            raise _enospc(path)
        super().write_new(path, data)


class _Handle:
    def __init__(self, fio: DiskFullFileIO, real: FileHandle) -> None:
        self._fio, self._real = fio, real

    def write(self, data: bytes) -> None:
        if self._fio.refuses(self._real.path):
            self._fio.refused += 1
            self._real.write(data[: len(data) // 2])
            raise _enospc(self._real.path)
        self._real.write(data)

    def fsync(self) -> None:
        self._real.fsync()

    def tell(self) -> int:
        return self._real.tell()

    def truncate(self, size: int) -> None:
        self._real.truncate(size)

    def close(self) -> None:
        self._real.close()


def point(pid: int, tag: str) -> dict[str, Any]:
    return {"id": pid, "vector": [float(pid % 7), 1.0, -0.5, float(pid % 3)], "payload": {"tag": tag, "n": pid}}


def upsert(collection: Collection, points: list[dict[str, Any]], state: State | None = None, wait: bool = True) -> None:
    """Upsert and, once acknowledged, record the points in `state`."""
    prepared = prepare_upsert(collection, json.dumps({"points": points}).encode())
    collection.write(prepared.build, wait=wait)
    if state is not None:
        for p in points:
            state[p["id"]] = (tuple(p["vector"]), p["payload"])


def write(collection: Collection, prepared: PreparedWrite, wait: bool = True) -> None:
    collection.write(prepared.build, wait=wait, needs_current_state=prepared.needs_current_state)


def assert_restart_keeps(root: Path, state: State) -> None:
    """A fresh open of the storage holds exactly `state`."""
    reopened = TableOfContents(root, FLUSH_NEVER)
    try:
        assert stored_state(reopened.get(NAME)) == state
    finally:
        reopened.close()


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[tuple[Path, DiskFullFileIO, TableOfContents]]:
    fio = DiskFullFileIO()
    toc = TableOfContents(tmp_path / "storage", FLUSH_NEVER, fio)
    try:
        yield tmp_path / "storage", fio, toc
    finally:
        fio.full = False
        toc.close()


# ---- in-process: a FileIO double runs out of space -----------------------------------------------


@pytest.mark.parametrize("wait", [True, False])
def test_disk_full_refuses_writes_keeps_data_and_recovers(
    storage: tuple[Path, DiskFullFileIO, TableOfContents], wait: bool
) -> None:
    root, fio, toc = storage
    toc.create_collection(NAME, CREATE_BODY)
    collection = toc.get(NAME)
    state: State = {}
    upsert(collection, [point(i, "flushed") for i in range(20)], state)
    collection.flush()
    upsert(collection, [point(i, "in-wal") for i in range(15, 30)], state)  # only in the WAL

    fio.full = True
    refusals: list[Callable[[], None]] = [
        lambda: upsert(collection, [point(i, "refused") for i in range(25, 40)], wait=wait),
        lambda: write(collection, prepare_set_payload(collection, {"points": [1, 2], "payload": {"tag": "refused"}}), wait),
        lambda: write(collection, prepare_set_payload(
            collection, {"filter": {"must": [{"key": "n", "match": {"value": 3}}]}, "payload": {"x": 1}}), wait),
        lambda: write(collection, prepare_delete(collection, {"points": [4, 5]}), wait),
    ]
    for attempt in refusals:
        with pytest.raises(StorageFailure, match=NO_SPACE):
            attempt()
        # Reads keep working and see exactly the acknowledged data.
        assert stored_state(collection) == state
    with pytest.raises(StorageFailure, match=NO_SPACE):
        collection.flush()
    assert fio.refused >= len(refusals) + 1
    assert read.retrieve(collection, [29], True, False) == [{"id": 29, "payload": point(29, "in-wal")["payload"]}]

    fio.full = False  # space is back: the same collection takes writes again, no restart needed
    upsert(collection, [point(i, "after") for i in range(40, 45)], state, wait=wait)
    write(collection, prepare_delete(collection, {"points": [0]}))
    del state[0]
    collection.wait_applied()
    assert stored_state(collection) == state
    collection.flush()
    toc.close()

    assert_restart_keeps(root, state)


@pytest.mark.parametrize(
    "component",
    [
        "ids",
        "payloads",
        "manifest",
    ],
)
def test_flush_running_out_of_space_loses_nothing(
    storage: tuple[Path, DiskFullFileIO, TableOfContents], component: str
) -> None:
    """Space runs out exactly while the flush writes `component`; the flush fails, a later flush
    (space back) succeeds, and a restart still has every acknowledged write."""
    root, fio, toc = storage
    toc.create_collection(NAME, CREATE_BODY)
    collection = toc.get(NAME)
    state: State = {}
    upsert(collection, [point(i, "first") for i in range(10)], state)
    collection.flush()
    upsert(collection, [point(i, "second") for i in range(5, 20)], state)

    fio.full, fio.only = True, component
    with pytest.raises(StorageFailure, match=NO_SPACE):
        collection.flush()
    assert fio.refused == 1
    assert stored_state(collection) == state
    fio.full, fio.only = False, None
    collection.flush()
    toc.close()

    assert_restart_keeps(root, state)


# ---- a real server on a 2 MB tmpfs that fills up ---------------------------------------------------


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A fresh 2 MB tmpfs, unmounted at teardown (needs root and mount permission)."""
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root on Linux")
    mountpoint = tmp_path / "small"
    mountpoint.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0755", "tmpfs", str(mountpoint)],
                             capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mountpoint
    finally:
        if subprocess.run(["umount", str(mountpoint)], capture_output=True, check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(mountpoint)], check=True)  # still busy: detach lazily


def fill(directory: Path) -> Path:
    """Write a filler file until the filesystem refuses with ENOSPC."""
    filler = directory / "filler"
    chunk = b"\0" * 65536
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                f.write(chunk)
        except OSError as err:
            assert err.errno == errno.ENOSPC, err
        with contextlib.suppress(OSError):  # the last few bytes
            while True:
                f.write(b"\0" * 512)
    return filler


def test_server_on_full_disk_answers_errors_and_recovers(small_tmpfs: Path, tmp_path: Path) -> None:
    server = ServerProcess(small_tmpfs / "storage", tmp_path / "server.log",
                           env={"PYDRANT__STORAGE__FLUSH_INTERVAL_SEC": "0.2"})
    server.start()
    rest = RestClient(server.url, timeout=10)
    try:
        rest.ok("PUT", f"/collections/{NAME}", json=CREATE_BODY)
        points = [point(i, "before") for i in range(50)]
        acked = rest.ok("PUT", f"/collections/{NAME}/points", params={"wait": "true"}, json={"points": points})
        # Let the background flush finish first, so the disk fills up between flushes, not inside one.
        (collection_dir,) = (small_tmpfs / "storage" / "collections").iterdir()
        manifest = collection_dir / "manifest.json"
        wait_until(lambda: manifest.exists() and json.loads(manifest.read_text())["applied_op"] >= acked["operation_id"],
                   what="the first flush")

        filler = fill(small_tmpfs)
        # Bigger than the free slack of the WAL file's last page, so the write really needs space.
        refused = [{**point(i, "refused"), "payload": {"tag": "refused", "pad": "x" * 1000}} for i in range(40, 80)]
        for params in ({"wait": "true"}, {"wait": "false"}):
            resp = rest.put(f"/collections/{NAME}/points", params=params, allow_5xx=True, json={"points": refused})
            assert resp.status_code == 503, resp.text
            body = resp.json()
            assert set(body) == {"status", "time"} and NO_SPACE in body["status"]["error"], body
        resp = rest.post(f"/collections/{NAME}/points/payload", params={"wait": "true"}, allow_5xx=True,
                         json={"points": [1], "payload": {"tag": "refused", "pad": "y" * 50_000}})
        assert resp.status_code == 503 and NO_SPACE in resp.json()["status"]["error"], resp.text

        # The server stays up and serves the data it had.
        assert rest.get("/readyz").status_code == 200
        assert rest.ok("POST", f"/collections/{NAME}/points/count", json={"exact": True}) == {"count": 50}
        records = rest.ok("POST", f"/collections/{NAME}/points", json={"ids": [0, 49, 60], "with_payload": True})
        assert [(r["id"], r["payload"]["tag"]) for r in records] == [(0, "before"), (49, "before")]

        filler.unlink()  # space is back: writes work again without a restart
        rest.ok("PUT", f"/collections/{NAME}/points", params={"wait": "true"},
                json={"points": [point(i, "after") for i in range(45, 55)]})
        assert rest.ok("POST", f"/collections/{NAME}/points/count", json={"exact": True}) == {"count": 55}

        server.restart()
        rest.close()
        rest = RestClient(server.url, timeout=10)
        records = rest.ok("POST", f"/collections/{NAME}/points/scroll", json={"limit": 100, "with_payload": True})
        tags = {r["id"]: r["payload"]["tag"] for r in records["points"]}
        assert tags == {i: "before" if i < 45 else "after" for i in range(55)}
    finally:
        rest.close()
        try:
            server.stop()
        except ServerError:
            server.kill()
