"""A FileIO test double that knows what a power cut would keep, and can inject disk errors."""

from __future__ import annotations

import os
import random
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from pydrant.storage.fileio import FileHandle, FileIO, translate


class SimulatedCrash(Exception):
    """The simulated machine lost power; every later I/O call fails the same way."""


@dataclass(eq=False)
class _Inode:
    is_dir: bool = False
    data: bytearray = field(default_factory=bytearray)  # what the page cache holds
    synced: bytes = b""  # what the disk holds (as of the last fsync)
    entries: dict[str, _Inode] = field(default_factory=dict)  # directory, as seen now
    durable: dict[str, _Inode] = field(default_factory=dict)  # directory, as of its last fsync


class _Handle:
    def __init__(self, fio: CrashSimulatingFileIO, path: Path, inode: _Inode) -> None:
        self._fio, self._path, self._inode = fio, path, inode
        self._real = FileHandle(path)

    def write(self, data: bytes) -> None:
        with self._fio._lock:
            if self._fio._tick("write", self._path):
                part = data[: len(data) // 2]  # a failing write may still land partly
                self._real.write(part)
                self._inode.data += part
                self._fio._fail("write", self._path)
            self._real.write(data)
            self._inode.data += data

    def fsync(self) -> None:
        with self._fio._lock:
            self._fio._tick_or_fail("fsync", self._path)
            self._inode.synced = bytes(self._inode.data)
        if self._fio.on_fsync is not None:
            self._fio.on_fsync()

    def tell(self) -> int:
        return self._real.tell()

    def truncate(self, size: int) -> None:
        with self._fio._lock:
            self._fio._tick_or_fail("truncate", self._path)
            self._real.truncate(size)
            del self._inode.data[size:]

    def close(self) -> None:
        self._real.close()


class CrashSimulatingFileIO(FileIO):
    """Performs I/O for real under `root`, and models durability: appended bytes survive a
    crash only once fsynced, and a created, renamed or removed entry only once its directory
    is fsynced. Real fsyncs are skipped: the model, not the disk, decides what survives.

    `crash_after=n` lets n mutating calls through, then raises `SimulatedCrash` from every
    call. `failures[op] = errno` makes operation `op` ("write", "fsync", "truncate", "rename",
    "fsync_dir", "remove", "create") raise that OSError, translated as `FileIO` does."""

    def __init__(self, root: Path, crash_after: int | None = None) -> None:
        self.root = Path(os.path.abspath(root))
        self.crash_after = crash_after
        self.calls = 0
        self.crashed = False
        self.failures: dict[str, int] = {}
        self.fsyncs = 0
        self.on_fsync: Callable[[], None] | None = None  # runs after each file fsync
        self._lock = threading.RLock()
        self._root = self._scan(self.root)

    def _scan(self, path: Path) -> _Inode:
        """What exists at start is durable."""
        if not path.is_dir():
            data = path.read_bytes()
            return _Inode(data=bytearray(data), synced=data)
        entries = {child.name: self._scan(child) for child in path.iterdir()}
        return _Inode(is_dir=True, entries=entries, durable=dict(entries))

    def _tick(self, op: str, path: Path) -> bool:
        """Count a mutating call; crash if due. True when `op` should fail."""
        if self.crashed:
            raise SimulatedCrash(f"{op} {path} after the crash")
        self.calls += 1
        if self.crash_after is not None and self.calls > self.crash_after:
            self.crashed = True
            raise SimulatedCrash(f"crash before {op} {path}")
        return op in self.failures

    def _fail(self, op: str, path: Path) -> None:
        code = self.failures[op]
        raise translate(OSError(code, os.strerror(code)), op, path)

    def _tick_or_fail(self, op: str, path: Path) -> None:
        if self._tick(op, path):
            self._fail(op, path)
        if op in ("fsync", "fsync_dir"):
            self.fsyncs += 1

    def _alive(self) -> None:
        if self.crashed:
            raise SimulatedCrash("read after the crash")

    def _parent(self, path: Path) -> tuple[_Inode, str]:
        rel = Path(os.path.abspath(path)).relative_to(self.root)  # ValueError outside root
        node = self._root
        for part in rel.parts[:-1]:
            node = node.entries[part]
        return node, rel.parts[-1]

    def _lookup(self, path: Path) -> _Inode:
        if Path(os.path.abspath(path)) == self.root:
            return self._root
        parent, name = self._parent(path)
        return parent.entries[name]

    def crash(self) -> None:
        with self._lock:
            self.crashed = True

    def materialize(self, dest: Path, rng: random.Random | None = None) -> None:
        """Write into the empty dir `dest` what the disk would hold after a crash now. With
        `rng`, the kernel is assumed to have written back some things on its own: each file
        keeps a random prefix of its unsynced appended bytes (a torn write), and each pending
        directory change independently did or did not reach the disk."""
        dest.mkdir(parents=True, exist_ok=True)
        with self._lock:
            self._materialize(self._root, dest, rng)

    def _materialize(self, node: _Inode, dest: Path, rng: random.Random | None) -> None:
        entries = dict(node.durable)
        if rng is not None:
            # Any pending create, rename or removal may or may not have reached the disk.
            for name in sorted(node.durable.keys() | node.entries.keys()):
                if node.entries.get(name) is not node.durable.get(name) and rng.random() < 0.5:
                    if name in node.entries:
                        entries[name] = node.entries[name]
                    else:
                        del entries[name]
        for name, child in entries.items():
            target = dest / name
            if child.is_dir:
                target.mkdir()
                self._materialize(child, target, rng)
                continue
            content = child.synced
            extra = bytes(child.data[len(content) :])
            if rng is not None and child.data[: len(content)] == content:
                content += extra[: rng.randint(0, len(extra))]
            target.write_bytes(content)

    # FileIO interface

    def open_append(self, path: Path) -> _Handle:
        with self._lock:
            parent, name = self._parent(path)
            if name not in parent.entries:
                self._tick_or_fail("create", path)
                parent.entries[name] = _Inode()
            return _Handle(self, path, parent.entries[name])

    def read_bytes(self, path: Path) -> bytes:
        self._alive()
        return super().read_bytes(path)

    def listdir(self, path: Path) -> list[str]:
        self._alive()
        return super().listdir(path)

    def exists(self, path: Path) -> bool:
        self._alive()
        return super().exists(path)

    def write_new(self, path: Path, data: bytes) -> None:
        with self._lock:
            self._tick_or_fail("write", path)
            super().write_new(path, data)
            parent, name = self._parent(path)
            parent.entries.setdefault(name, _Inode()).data[:] = data

    def fsync_file(self, path: Path) -> None:
        with self._lock:
            self._tick_or_fail("fsync", path)
            inode = self._lookup(path)
            inode.synced = bytes(inode.data)

    def rename(self, src: Path, dst: Path) -> None:
        with self._lock:
            self._tick_or_fail("rename", src)
            super().rename(src, dst)
            src_parent, src_name = self._parent(src)
            dst_parent, dst_name = self._parent(dst)
            dst_parent.entries[dst_name] = src_parent.entries.pop(src_name)

    def fsync_dir(self, path: Path) -> None:
        with self._lock:
            self._tick_or_fail("fsync_dir", path)
            node = self._lookup(path)
            node.durable = dict(node.entries)

    def remove(self, path: Path) -> None:
        with self._lock:
            self._tick_or_fail("remove", path)
            super().remove(path)
            parent, name = self._parent(path)
            del parent.entries[name]

    def makedirs(self, path: Path) -> None:
        with self._lock:
            missing = []
            current = Path(os.path.abspath(path))
            while not current.exists():
                missing.append(current)
                current = current.parent
            for directory in reversed(missing):
                self._tick_or_fail("create", directory)
                directory.mkdir()
                parent, name = self._parent(directory)
                parent.entries[name] = _Inode(is_dir=True)
                self.fsync_dir(directory.parent)

    def truncate(self, path: Path, size: int) -> None:
        with self._lock:
            self._tick_or_fail("truncate", path)
            os.truncate(path, size)
            inode = self._lookup(path)
            del inode.data[size:]
            inode.synced = bytes(inode.data)
