"""A snapshot recovery cut short never loses both collections: the recovered directory is moved
in before the one it replaces is moved out, and a restart that finds both keeps the recovered
one. Cut before it is moved in, the old collection stays as it was."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from crash_workload import CREATE_BODY, FLUSH_NEVER, NAME, stored_state

from pydrant.collection.updates import prepare_upsert
from pydrant.service.snapshots import SnapshotStore
from pydrant.service.toc import TableOfContents
from pydrant.storage.fileio import FileIO


class _Cut(Exception):
    """The process dies here (the files it wrote stay, as after kill -9)."""


class CutAtRename(FileIO):
    """The real FileIO, except that once armed a rename whose target name starts with `prefix`
    raises instead of happening."""

    def __init__(self) -> None:
        self.prefix: str | None = None

    def rename(self, src: Path, dst: Path) -> None:
        if self.prefix is not None and dst.name.startswith(self.prefix):
            raise _Cut(f"cut before renaming {src.name} to {dst.name}")
        super().rename(src, dst)


def _upsert(toc: TableOfContents, ids: range) -> None:
    collection = toc.get(NAME)
    body = {"points": [{"id": i, "vector": [float(i), 1.0, 0.0, 0.5], "payload": {"i": i}} for i in ids]}
    collection.write(prepare_upsert(collection, json.dumps(body).encode()).build, wait=True)


def _ids_after_restart(root: Path) -> set[int]:
    toc = TableOfContents(root, FLUSH_NEVER)
    try:
        assert toc.list_names() == [NAME]
        return set(stored_state(toc.get(NAME)))
    finally:
        toc.close()


@pytest.mark.parametrize("cut_before, survivor", [
    (".deleted-", "recovered"),  # moved in, the old one not yet moved out: both on disk
    ("", "old"),  # any rename: the recovered directory never moved in
])
def test_a_cut_short_recovery_keeps_one_whole_collection(tmp_path: Path, cut_before: str, survivor: str) -> None:
    root = tmp_path / "storage"
    fio = CutAtRename()
    toc = TableOfContents(root, FLUSH_NEVER, fio)
    store = SnapshotStore(toc.snapshots_path, 0)
    toc.create_collection(NAME, CREATE_BODY)
    _upsert(toc, range(1, 4))
    made = store.create_collection_snapshot(toc, NAME)
    _upsert(toc, range(4, 7))
    toc.get(NAME).flush()

    fio.prefix = cut_before
    with pytest.raises(_Cut):
        store.recover_collection(toc, NAME, store.collection_dir(NAME) / made["name"], made["checksum"])
    # The process is gone: nothing more of it runs (the collection it was replacing is closed
    # when the cut comes after the move-in, still open otherwise).
    if survivor == "old":
        toc.close()

    expected = {1, 2, 3} if survivor == "recovered" else {1, 2, 3, 4, 5, 6}
    assert _ids_after_restart(root) == expected
    assert len([p for p in (root / "collections").iterdir() if not p.name.startswith(".")]) == 1
