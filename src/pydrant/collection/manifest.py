"""The collection manifest: which segment files hold the state as of which applied op.

It is replaced atomically after every flush, so segments + manifest always describe one op
boundary, and recovery replays the WAL from `applied_op + 1`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from pydrant.storage.atomic import read_json, write_atomic_json
from pydrant.storage.fileio import DEFAULT_FILEIO, FileIO

MANIFEST_FILE = "manifest.json"
MANIFEST_VERSION = 1


class SegmentEntry(msgspec.Struct):
    id: int
    appendable: bool
    files: dict[str, Any]


class Manifest(msgspec.Struct):
    version: int = MANIFEST_VERSION
    applied_op: int = -1
    next_segment_id: int = 0
    segments: list[SegmentEntry] = []
    payload_schema: dict[str, Any] = {}
    generation: int = 0  # flush counter; file names carry it


def load_manifest(directory: Path, fileio: FileIO = DEFAULT_FILEIO) -> Manifest:
    path = directory / MANIFEST_FILE
    if not fileio.exists(path):
        return Manifest()
    return read_json(path, Manifest, fileio)  # type: ignore[no-any-return]


def save_manifest(directory: Path, manifest: Manifest, fileio: FileIO = DEFAULT_FILEIO) -> None:
    write_atomic_json(directory / MANIFEST_FILE, manifest, fileio)
