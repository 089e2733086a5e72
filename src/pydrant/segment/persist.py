"""Save and load a segment's components as generation-suffixed files.

A flush writes only the components that changed since the last flush, each to a new file name,
and returns the file map that the collection's manifest records. Files the manifest no longer
names are deleted after the manifest is replaced, so a crash mid-flush leaves the previous
generation intact.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from pydrant.segment.id_tracker import IdTracker
from pydrant.segment.segment import Segment, storage_kind
from pydrant.segment.vectors.base import load_storage
from pydrant.storage.atomic import write_atomic
from pydrant.storage.fileio import DEFAULT_FILEIO, FileIO


class _IdsFile(msgspec.Struct, array_like=True):
    external: list[Any]
    versions: bytes
    live: bytes
    max_version: int


_encoder = msgspec.msgpack.Encoder()


def save_segment(
    segment: Segment, directory: Path, generation: int, previous: dict[str, Any], fileio: FileIO = DEFAULT_FILEIO
) -> dict[str, Any]:
    """Write dirty components; returns the complete file map (unchanged entries reused).
    The caller clears `segment.dirty` only once the manifest naming these files is durable:
    a flush that fails half-way must write the same components again next time."""
    fileio.makedirs(directory)
    files: dict[str, Any] = {k: v for k, v in previous.items() if not k.startswith("vec:") or k[4:] in segment.vectors}
    dirty = segment.dirty
    if "ids" in dirty or "ids" not in files:
        external, versions, live = segment.tracker.state()
        blob = _encoder.encode(_IdsFile(external, versions.tobytes(), live.tobytes(), segment.max_version))
        name = f"ids.{generation}.msgpack"
        write_atomic(directory / name, blob, fileio)
        files["ids"] = name
    if "payloads" in dirty or "payloads" not in files:
        name = f"payloads.{generation}.msgpack"
        write_atomic(directory / name, _encoder.encode(segment.payloads), fileio)
        files["payloads"] = name
    for index, (vector_name, storage) in enumerate(sorted(segment.vectors.items())):
        key = f"vec:{vector_name}"
        if key in dirty or key not in files:
            prefix = f"vec{index}.{generation}"
            written = storage.save(directory, prefix, fileio)
            files[key] = {"prefix": prefix, "files": written}
    return files


def referenced_files(files: dict[str, Any]) -> set[str]:
    names: set[str] = set()
    for key, value in files.items():
        if key.startswith("vec:"):
            names.update(value["files"])
        else:
            names.add(value)
    return names


def load_segment(
    segment_id: int,
    appendable: bool,
    directory: Path,
    files: dict[str, Any],
    vector_specs: dict[str, Any],
    fileio: FileIO = DEFAULT_FILEIO,
) -> Segment:
    segment = Segment(segment_id, {}, appendable)
    ids = msgspec.msgpack.decode(fileio.read_bytes(directory / files["ids"]), type=_IdsFile)
    segment.tracker = IdTracker.restore(
        ids.external,
        np.frombuffer(ids.versions, dtype=np.int64),
        np.frombuffer(ids.live, dtype=bool),
    )
    segment.max_version = ids.max_version
    segment.payloads = msgspec.msgpack.decode(fileio.read_bytes(directory / files["payloads"]))
    for name, spec in vector_specs.items():
        entry = files.get(f"vec:{name}")
        if entry is None:  # vector name created after this segment's last flush
            segment.add_vector_name(name, spec.kind, spec.params)
        else:
            segment.vectors[name] = load_storage(storage_kind(spec.kind), directory, entry["prefix"], spec.params)
    segment.dirty = set()
    return segment
