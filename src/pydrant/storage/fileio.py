"""The one file-I/O layer of pydrant, so tests can swap in a double that simulates crashes."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from pydrant.errors import StorageFailure

# Errors that mean "the disk refuses writes", not "pydrant has a bug": the server stays up
# and reports them instead of crashing.
STORAGE_ERRNOS = frozenset(
    code
    for code in (
        errno.ENOSPC,
        errno.EROFS,
        getattr(errno, "EDQUOT", None),
        errno.EACCES,
        errno.EPERM,
        errno.EIO,
    )
    if code is not None
)


def translate(err: OSError, action: str, path: Path | str) -> Exception:
    """The exception to raise for `err`: `StorageFailure` when the disk refused, else `err`."""
    code = err.errno
    if code is None or code not in STORAGE_ERRNOS:
        return err
    name = errno.errorcode.get(code, str(code))
    reason = err.strerror or os.strerror(code)
    failure = StorageFailure(f"failed to {action} {path}: {reason} ({name})")
    failure.__cause__ = err
    return failure


@contextmanager
def storage_errors(action: str, path: Path | str) -> Iterator[None]:
    """Turn an OSError the disk raised into `StorageFailure`; let other OSErrors through."""
    try:
        yield
    except OSError as err:
        raise translate(err, action, path)


class AppendHandle(Protocol):
    """An open file that only grows at its end (or is cut back after a failed write)."""

    def write(self, data: bytes) -> None: ...
    def fsync(self) -> None: ...
    def tell(self) -> int: ...
    def truncate(self, size: int) -> None: ...
    def close(self) -> None: ...


# macOS has no fdatasync; its fsync is the fallback there.
_datasync = getattr(os, "fdatasync", os.fsync)


class FileHandle:
    """A raw file descriptor opened for appending; `write` writes everything or raises."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with storage_errors("open", path):
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._pos = os.fstat(self._fd).st_size

    def write(self, data: bytes) -> None:
        # Hot path (one call per WAL append): plain try instead of the context manager.
        try:
            written = os.write(self._fd, data)
            self._pos += written
            if written < len(data):
                view = memoryview(data)[written:]
                while view:
                    written = os.write(self._fd, view)
                    self._pos += written
                    view = view[written:]
        except OSError as err:
            raise translate(err, "write", self.path)

    def fsync(self) -> None:
        # fdatasync: the data and what reading it back needs (the size), without the
        # timestamps; a new file's directory entry is fsynced by its creator (Wal._maybe_rotate).
        with storage_errors("fsync", self.path):
            _datasync(self._fd)

    def tell(self) -> int:
        return self._pos

    def truncate(self, size: int) -> None:
        with storage_errors("truncate", self.path):
            os.ftruncate(self._fd, size)
        self._pos = size

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class FileIO:
    """Every file operation pydrant performs; a subclass may record or sabotage them."""

    def open_append(self, path: Path) -> AppendHandle:
        """Open (creating if needed) for appending; a new file's entry needs `fsync_dir`."""
        return FileHandle(path)

    def read_bytes(self, path: Path) -> bytes:
        with storage_errors("read", path):
            return path.read_bytes()

    def write_new(self, path: Path, data: bytes | memoryview) -> None:
        """Create or replace `path` with `data`, without fsync."""
        with storage_errors("write", path):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
            finally:
                os.close(fd)

    def fsync_file(self, path: Path) -> None:
        with storage_errors("fsync", path):
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def rename(self, src: Path, dst: Path) -> None:
        """Atomically replace `dst`; durable only after `fsync_dir` of both parents."""
        with storage_errors("rename", src):
            os.replace(src, dst)

    def fsync_dir(self, path: Path) -> None:
        """Make creations, renames and removals inside `path` durable."""
        with storage_errors("fsync directory", path):
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
            try:
                os.fsync(fd)
            except OSError as err:
                # Some filesystems cannot fsync a directory; they order metadata themselves.
                if err.errno != errno.EINVAL:
                    raise
            finally:
                os.close(fd)

    def remove(self, path: Path) -> None:
        with storage_errors("remove", path):
            os.remove(path)

    def listdir(self, path: Path) -> list[str]:
        with storage_errors("list", path):
            return sorted(os.listdir(path))

    def exists(self, path: Path) -> bool:
        return path.exists()

    def makedirs(self, path: Path) -> None:
        """Create `path` and missing ancestors, fsyncing each new entry's parent."""
        missing: list[Path] = []
        current = path
        while not self.exists(current):
            missing.append(current)
            current = current.parent
        for directory in reversed(missing):
            with storage_errors("create directory", directory):
                try:
                    os.mkdir(directory)
                except FileExistsError:
                    continue
            self.fsync_dir(directory.parent)

    def truncate(self, path: Path, size: int) -> None:
        """Cut `path` to `size` bytes and fsync it."""
        with storage_errors("truncate", path):
            fd = os.open(path, os.O_WRONLY)
            try:
                os.ftruncate(fd, size)
                os.fsync(fd)
            finally:
                os.close(fd)


DEFAULT_FILEIO = FileIO()
