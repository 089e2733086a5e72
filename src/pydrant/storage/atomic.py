"""Crash-safe whole-file writes: temp file, fsync, rename over the target, fsync the dir."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import msgspec

from pydrant.errors import StorageFailure
from pydrant.storage.fileio import DEFAULT_FILEIO, FileIO

TEMP_PREFIX = ".tmp-"


def write_atomic(path: Path, data: bytes | memoryview, fileio: FileIO = DEFAULT_FILEIO) -> None:
    """Replace `path` with `data` so a crash leaves either the old or the new content.
    `data` may be a memoryview: large arrays are written without a bytes copy."""
    # Same directory as the target: rename is only atomic within one filesystem.
    tmp = path.with_name(f"{TEMP_PREFIX}{path.name}.{uuid.uuid4().hex}")
    try:
        fileio.write_new(tmp, data)
        fileio.fsync_file(tmp)
        fileio.rename(tmp, path)
    except BaseException:
        if fileio.exists(tmp):
            try:
                fileio.remove(tmp)
            except (OSError, StorageFailure):
                pass  # the original error matters more; stale temps are swept at start
        raise
    fileio.fsync_dir(path.parent)


def write_atomic_json(path: Path, obj: Any, fileio: FileIO = DEFAULT_FILEIO) -> None:
    """Atomically write `obj` as indented JSON (metadata files stay readable by humans)."""
    write_atomic(path, msgspec.json.format(msgspec.json.encode(obj), indent=2), fileio)


def read_json(path: Path, type: Any = Any, fileio: FileIO = DEFAULT_FILEIO) -> Any:
    """Decode the JSON file at `path`, optionally into a msgspec `type`."""
    data = fileio.read_bytes(path)
    try:
        return msgspec.json.decode(data, type=type)
    except msgspec.DecodeError as err:
        raise StorageFailure(f"corrupt JSON file {path}: {err}") from err


def remove_stale_temp_files(directory: Path, fileio: FileIO = DEFAULT_FILEIO) -> list[str]:
    """Delete temp files a crash left behind in `directory`; returns their names."""
    stale = [name for name in fileio.listdir(directory) if name.startswith(TEMP_PREFIX)]
    for name in stale:
        fileio.remove(directory / name)
    if stale:
        fileio.fsync_dir(directory)
    return stale
