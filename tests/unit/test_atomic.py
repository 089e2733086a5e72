"""Tests for atomic file writes, JSON helpers and FileIO's mapping of disk errors."""

from __future__ import annotations

import errno
import os
import random
from pathlib import Path
from typing import Any

import msgspec
import pytest

from fileio_double import CrashSimulatingFileIO, SimulatedCrash
from pydrant.errors import StorageFailure
from pydrant.storage import fileio as fileio_module
from pydrant.storage.atomic import (
    TEMP_PREFIX,
    read_json,
    remove_stale_temp_files,
    write_atomic,
    write_atomic_json,
)
from pydrant.storage.fileio import DEFAULT_FILEIO


class Meta(msgspec.Struct):
    name: str
    size: int


def test_json_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "meta.json"
    write_atomic_json(path, {"name": "c", "size": 4, "nested": [1, None, "ü"]})
    assert read_json(path) == {"name": "c", "size": 4, "nested": [1, None, "ü"]}
    write_atomic_json(path, Meta(name="d", size=8))
    assert read_json(path, Meta) == Meta(name="d", size=8)
    assert os.listdir(tmp_path) == ["meta.json"]


def test_torn_json_is_reported_as_storage_failure(tmp_path: Path) -> None:
    path = tmp_path / "meta.json"
    path.write_bytes(b'{"name": "c", "si')
    with pytest.raises(StorageFailure, match="corrupt JSON file .*meta.json"):
        read_json(path)


@pytest.mark.parametrize("crash_after", range(8))
def test_crash_at_any_point_leaves_old_or_new_content(tmp_path: Path, crash_after: int) -> None:
    live = tmp_path / "live"
    live.mkdir()
    (live / "meta.json").write_bytes(b"old")
    fio = CrashSimulatingFileIO(live, crash_after=crash_after)
    try:
        write_atomic(live / "meta.json", b"new content", fio)
        finished = True
    except SimulatedCrash:
        finished = False
    fio.materialize(tmp_path / "after", random.Random(crash_after))
    content = (tmp_path / "after" / "meta.json").read_bytes()
    assert content == b"new content" if finished else content in (b"old", b"new content")


def test_new_file_survives_a_crash_right_after_write_atomic(tmp_path: Path) -> None:
    """Fails if the rename is not followed by an fsync of the directory."""
    (tmp_path / "live").mkdir()
    fio = CrashSimulatingFileIO(tmp_path / "live")
    fio.makedirs(tmp_path / "live" / "collections" / "c1")
    write_atomic(tmp_path / "live" / "collections" / "c1" / "config.json", b"{}", fio)
    fio.crash()
    fio.materialize(tmp_path / "after")
    assert (tmp_path / "after" / "collections" / "c1" / "config.json").read_bytes() == b"{}"


def test_disk_full_keeps_old_content_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "meta.json"
    write_atomic(path, b"old")

    def full(fd: int, data: Any) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(fileio_module.os, "write", full)
    with pytest.raises(StorageFailure) as info:
        write_atomic(path, b"new")
    monkeypatch.undo()
    assert "No space left on device (ENOSPC)" in info.value.message
    assert info.value.message.startswith("Service internal error: failed to write")
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["meta.json"]


@pytest.mark.parametrize("code", [errno.EROFS, errno.EACCES, errno.EDQUOT])
def test_refused_writes_become_storage_failures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    def refuse(*args: Any) -> Any:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(fileio_module.os, "replace", refuse)
    (tmp_path / "a").write_bytes(b"")
    with pytest.raises(StorageFailure, match=errno.errorcode[code]):
        DEFAULT_FILEIO.rename(tmp_path / "a", tmp_path / "b")


def test_other_os_errors_pass_through(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        DEFAULT_FILEIO.read_bytes(tmp_path / "missing")
    with pytest.raises(FileNotFoundError):
        DEFAULT_FILEIO.open_append(tmp_path / "no-dir" / "f")


def test_append_handle_and_truncate(tmp_path: Path) -> None:
    path = tmp_path / "log"
    handle = DEFAULT_FILEIO.open_append(path)
    handle.write(b"hello ")
    handle.write(b"world")
    handle.fsync()
    assert handle.tell() == 11
    handle.truncate(5)
    handle.write(b"!")
    handle.close()
    assert DEFAULT_FILEIO.read_bytes(path) == b"hello!"
    reopened = DEFAULT_FILEIO.open_append(path)
    assert reopened.tell() == 6
    reopened.close()
    DEFAULT_FILEIO.truncate(path, 2)
    assert path.read_bytes() == b"he"


def test_makedirs_creates_ancestors_and_syncs_parents(tmp_path: Path) -> None:
    fio = CrashSimulatingFileIO(tmp_path)
    fio.makedirs(tmp_path / "a" / "b" / "c")
    fio.makedirs(tmp_path / "a" / "b" / "c")  # already there: no error
    fio.crash()
    fio.materialize(tmp_path.parent / f"{tmp_path.name}-after")
    assert (tmp_path.parent / f"{tmp_path.name}-after" / "a" / "b" / "c").is_dir()
    DEFAULT_FILEIO.makedirs(tmp_path / "x" / "y")
    assert (tmp_path / "x" / "y").is_dir()


def test_stale_temp_files_are_swept(tmp_path: Path) -> None:
    (tmp_path / f"{TEMP_PREFIX}meta.json.abc").write_bytes(b"partial")
    (tmp_path / "meta.json").write_bytes(b"{}")
    assert remove_stale_temp_files(tmp_path) == [f"{TEMP_PREFIX}meta.json.abc"]
    assert os.listdir(tmp_path) == ["meta.json"]
