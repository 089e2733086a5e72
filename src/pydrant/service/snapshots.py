"""Snapshots: tar archives of one collection, or of every collection and the aliases.

A collection snapshot holds a consistent image of the collection's files (config, manifest and
the segment files it names; see `Collection.snapshot_files`) plus `pydrant-snapshot.json`,
which says what the archive is and the last operation it holds. Recovering writes the image
into a new collection directory with an empty WAL that continues the operation numbers, then
swaps it in for the collection of that name. The archives are pydrant's own format: Qdrant's
snapshots hold Qdrant's segment files, which pydrant cannot read (and the other way round).

Layout under the snapshots directory (Qdrant's): `<collection>/<name>.snapshot` for collection
snapshots, `<name>.snapshot` for full ones, each with a `.checksum` file (SHA-256, hex) beside
it; `.tmp/` holds archives being written and downloads being recovered. A collection name too
long for a file name, or starting with a dot, appears there as `file_part` makes it.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import os
import shutil
import tarfile
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydrant.collection.collection import CONFIG_FILE
from pydrant.collection.manifest import MANIFEST_FILE
from pydrant.errors import BadRequest, NotFound
from pydrant.service.toc import ALIASES_FILE, RECOVERED_AT, TableOfContents, check_collection_name
from pydrant.storage.wal import segment_name

log = logging.getLogger("pydrant.snapshots")

SUFFIX = ".snapshot"
CHECKSUM_SUFFIX = ".checksum"
META_FILE = "pydrant-snapshot.json"
COLLECTION_FORMAT = "pydrant-collection-snapshot"
FULL_FORMAT = "pydrant-full-snapshot"
FORMAT_VERSION = 1
TMP_DIR = ".tmp"
CHUNK = 1 << 20
DOWNLOAD_TIMEOUT_S = 60.0  # per connect or read, not for the whole download
_NAMES_LOCK = threading.Lock()  # two snapshots made in the same second get two names


def checksum_path(snapshot: Path) -> Path:
    """The file beside a snapshot holding its SHA-256 (hex)."""
    return snapshot.with_name(snapshot.name + CHECKSUM_SUFFIX)


def _placeholder(target: Path) -> Path:
    """The hidden file that holds a snapshot's name while its archive is written."""
    return target.with_name(f".{target.name}.part")


def _now_stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d-%H-%M-%S")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class SnapshotStore:
    """Snapshot files of one server: create, list, find, delete, fetch and recover."""

    def __init__(self, root: Path, peer_id: int) -> None:
        self.root = root
        self.peer_id = peer_id

    def remove_leftovers(self) -> None:
        """At startup: what snapshots cut short by a stop left behind (staging and download
        files, name placeholders). Nothing is in progress yet."""
        shutil.rmtree(self.root / TMP_DIR, ignore_errors=True)
        if self.root.is_dir():
            for placeholder in [*self.root.glob(".*.part"), *self.root.glob("*/.*.part"),
                                *self.root.glob("*/shards/*/.*.part")]:
                placeholder.unlink(missing_ok=True)

    # ---- where things are ---------------------------------------------------------------------
    def collection_dir(self, collection_name: str) -> Path:
        check_collection_name(collection_name)
        return self.root / file_part(collection_name)

    def shard_dir(self, collection_name: str, shard_id: int) -> Path:
        """Where a shard's snapshots live (pydrant has one shard per collection, id 0, which
        holds every point: a shard snapshot is a collection snapshot kept apart)."""
        return self.collection_dir(collection_name) / "shards" / str(shard_id)

    def tmp_dir(self) -> Path:
        """Staging and download files (on the snapshots' file system, so archives move in by rename)."""
        path = self.root / TMP_DIR
        path.mkdir(parents=True, exist_ok=True)
        return path

    def find(self, directory: Path, snapshot_name: str) -> Path:
        """The snapshot file of that name in `directory`; NotFound for anything else (another
        directory, a checksum file, a name that climbs out)."""
        path = directory / snapshot_name
        if (not snapshot_name.endswith(SUFFIX) or "/" in snapshot_name or "\\" in snapshot_name
                or snapshot_name.startswith(".") or not path.is_file()):
            raise NotFound(f"Snapshot {snapshot_name} not found")
        return path

    def find_file(self, directory: Path, relative: str) -> Path:
        """A snapshot named by a plain path (a shard recovery's location), inside `directory`."""
        try:
            path = (directory / relative).resolve()
        except (OSError, ValueError):  # a NUL byte, a symlink loop
            raise BadRequest(f'Snapshot file "{relative}" does not exist') from None
        if not path.is_file():
            raise BadRequest(f'Snapshot file "{relative}" does not exist')
        if directory.resolve() not in path.parents:
            raise BadRequest(f"Snapshot file path must be inside the snapshots directory: {directory}")
        return path

    def streaming_dir(self) -> Path:
        """Where snapshots made for one download are written (removed once sent)."""
        path = self.tmp_dir() / "stream"
        path.mkdir(exist_ok=True)
        return path

    # ---- listing ------------------------------------------------------------------------------
    def list(self, directory: Path) -> list[dict[str, Any]]:
        if not directory.is_dir():
            return []
        found = []
        for entry in sorted(directory.iterdir()):
            if entry.name.endswith(SUFFIX) and not entry.name.startswith(".") and entry.is_file():
                found.append(self.describe(entry))
        return found

    def describe(self, path: Path) -> dict[str, Any]:
        stat = path.stat()
        checksum_file = checksum_path(path)
        checksum = checksum_file.read_text().strip() if checksum_file.is_file() else None
        created = datetime.fromtimestamp(stat.st_mtime, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
        return {"name": path.name, "creation_time": created, "size": stat.st_size, "checksum": checksum}

    # ---- creating -----------------------------------------------------------------------------
    def _reserve_name(self, directory: Path, prefix: str) -> Path:
        with _NAMES_LOCK:
            directory.mkdir(parents=True, exist_ok=True)
            base = f"{prefix}-{_now_stamp()}"
            path = directory / f"{base}{SUFFIX}"
            n = 1
            while path.exists() or _placeholder(path).exists():
                n += 1
                path = directory / f"{base}-{n}{SUFFIX}"
            _placeholder(path).touch()
            return path

    def _publish(self, archive: Path, target: Path) -> dict[str, Any]:
        """Move a finished archive to its name, with its checksum file, durably."""
        checksum = _sha256(archive)
        _fsync_path(archive)
        checksum_tmp = checksum_path(archive)
        checksum_tmp.write_text(checksum)
        _fsync_path(checksum_tmp)
        os.replace(checksum_tmp, checksum_path(target))
        os.replace(archive, target)
        _fsync_path(target.parent)
        return self.describe(target)

    def create_collection_snapshot(self, toc: TableOfContents, collection_name: str,
                                   directory: Path | None = None) -> dict[str, Any]:
        collection = toc.get(collection_name)
        directory = self.collection_dir(collection.name) if directory is None else directory
        target = self._reserve_name(directory, f"{file_part(collection.name)}-{self.peer_id}")
        staging = Path(tempfile.mkdtemp(prefix="image-", dir=self.tmp_dir()))
        try:
            applied_op = collection.snapshot_files(staging)
            meta = {"format": COLLECTION_FORMAT, "version": FORMAT_VERSION, "collection": collection.name,
                    "applied_op": applied_op}
            (staging / META_FILE).write_text(json.dumps(meta))
            archive = staging.with_suffix(".tar")
            with tarfile.open(archive, "w") as tar:
                for path in sorted(staging.rglob("*")):
                    tar.add(path, arcname=str(path.relative_to(staging)), recursive=False)
            return self._publish(archive, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            staging.with_suffix(".tar").unlink(missing_ok=True)
            _placeholder(target).unlink(missing_ok=True)

    def create_full_snapshot(self, toc: TableOfContents) -> dict[str, Any]:
        """Every collection's snapshot and the aliases in one archive (Qdrant's full snapshot)."""
        target = self._reserve_name(self.root, f"full-snapshot-{self.peer_id}")
        staging = Path(tempfile.mkdtemp(prefix="full-", dir=self.tmp_dir()))
        made: list[Path] = []
        try:
            members: list[list[str]] = []  # [collection name, archive member]
            with tarfile.open(staging / "full.tar", "w") as tar:
                for name in toc.list_names():
                    try:
                        description = self.create_collection_snapshot(toc, name)
                    except NotFound:
                        continue  # deleted meanwhile
                    path = self.collection_dir(name) / description["name"]
                    made.append(path)
                    member = f"collections/{file_part(name)}{SUFFIX}"
                    tar.add(path, arcname=member)
                    members.append([name, member])
                meta = {"format": FULL_FORMAT, "version": FORMAT_VERSION, "collections": members}
                _add_bytes(tar, META_FILE, json.dumps(meta).encode())
                aliases = {a["alias_name"]: a["collection_name"] for a in toc.list_aliases()}
                _add_bytes(tar, ALIASES_FILE, json.dumps(aliases).encode())
            return self._publish(staging / "full.tar", target)
        finally:
            for path in made:  # the collection snapshots live on inside the full one only
                path.unlink(missing_ok=True)
                checksum_path(path).unlink(missing_ok=True)
            shutil.rmtree(staging, ignore_errors=True)
            _placeholder(target).unlink(missing_ok=True)

    # ---- deleting -----------------------------------------------------------------------------
    def delete(self, directory: Path, snapshot_name: str) -> None:
        path = self.find(directory, snapshot_name)
        path.unlink()
        checksum_path(path).unlink(missing_ok=True)
        _fsync_path(directory)

    # ---- recovering ---------------------------------------------------------------------------
    def local_file(self, location: str) -> Path:
        """The file a `file://` location names, checked as Qdrant checks it: absolute or on
        localhost, existing, and inside the snapshots directory."""
        try:
            parsed = urllib.parse.urlparse(location)
        except ValueError:
            raise BadRequest("Invalid snapshot URI, file path must be absolute or on localhost") from None
        if parsed.netloc not in ("", "localhost") or not parsed.path.startswith("/"):
            raise BadRequest("Invalid snapshot URI, file path must be absolute or on localhost")
        path = Path(urllib.parse.unquote(parsed.path))
        if not path.exists():
            raise BadRequest(f'Snapshot file "{path}" does not exist')
        resolved, root = path.resolve(), self.root.resolve()
        if root not in resolved.parents:
            raise BadRequest(f"Snapshot file path must be inside the snapshots directory: {root}")
        if not resolved.is_file():
            raise BadRequest(f'Snapshot file "{path}" is not a file')
        return resolved

    def download(self, location: str, api_key: str | None) -> Path:
        """Fetch an http(s) location into a temporary file (the caller removes it)."""
        fd, name = tempfile.mkstemp(prefix="download-", suffix=SUFFIX, dir=self.tmp_dir())
        try:
            with os.fdopen(fd, "wb") as out:
                request = urllib.request.Request(location, headers={"api-key": api_key} if api_key else {})
                with urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT_S) as response:
                    shutil.copyfileobj(response, out, CHUNK)
        except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
            os.unlink(name)
            raise BadRequest(f"Failed to download snapshot from {location}: {exc}") from None
        return Path(name)

    def spool(self, data: Any) -> Path:
        """Copy an uploaded file object into a temporary file (the caller removes it)."""
        fd, name = tempfile.mkstemp(prefix="upload-", suffix=SUFFIX, dir=self.tmp_dir())
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(data, out, CHUNK)
        return Path(name)

    def recover_collection(self, toc: TableOfContents, collection_name: str, archive: Path,
                           checksum: str | None) -> None:
        """Replace (or create) `collection_name` with the collection in the archive."""
        check_collection_name(collection_name)
        if checksum is not None:
            actual = _sha256(archive)
            if actual.lower() != checksum.strip().lower():
                raise BadRequest(f"Snapshot checksum mismatch: expected {checksum}, got {actual}")
        image = Path(tempfile.mkdtemp(prefix=".recover-", dir=toc.root / "collections"))
        try:
            try:
                with tarfile.open(archive, "r") as tar:
                    tar.extractall(image, filter="data")
                meta = json.loads((image / META_FILE).read_text())
            except (tarfile.TarError, OSError, ValueError) as exc:
                raise BadRequest(f"Snapshot is not a pydrant collection snapshot: {exc}") from None
            if not isinstance(meta, dict) or meta.get("format") != COLLECTION_FORMAT:
                raise BadRequest("Snapshot is not a pydrant collection snapshot (a full snapshot, or another format)")
            if meta.get("version") != FORMAT_VERSION or not isinstance(meta.get("applied_op"), int):
                raise BadRequest(f"Snapshot format version {meta.get('version')!r} is not supported")
            if not (image / CONFIG_FILE).is_file() or not (image / MANIFEST_FILE).is_file():
                raise BadRequest("Snapshot is incomplete: no collection config or manifest")
            (image / META_FILE).unlink()
            config = json.loads((image / CONFIG_FILE).read_text())
            config["name"] = collection_name
            config[RECOVERED_AT] = time.time_ns()  # wins over the replaced one if a crash leaves both
            (image / CONFIG_FILE).write_text(json.dumps(config))
            # The log continues after the last operation the image holds: a record numbered
            # at or below it would be skipped by replay.
            wal = image / "wal"
            wal.mkdir()
            (wal / segment_name(meta["applied_op"] + 1)).touch()
            _fsync_tree(image)
            toc.replace_collection(collection_name, image)
        finally:
            shutil.rmtree(image, ignore_errors=True)  # gone already when it was swapped in


def recover_at_startup(toc: TableOfContents, store: SnapshotStore, collections: list[tuple[Path, str]],
                       full: Path | None, force: bool) -> None:
    """`pydrant serve --snapshot PATH:NAME` / `--storage-snapshot PATH`: recover before serving.
    A collection that exists is left as it is unless `force` (Qdrant's `--force-snapshot`);
    a full snapshot also brings back its aliases, where the name is free."""
    wanted = list(collections)
    aliases: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="startup-", dir=store.tmp_dir()) as scratch:
        unpacked = Path(scratch)
        if full is not None:
            with tarfile.open(full, "r") as tar:
                tar.extractall(unpacked, filter="data")
            meta = json.loads((unpacked / META_FILE).read_text())
            if not isinstance(meta, dict) or meta.get("format") != FULL_FORMAT:
                raise BadRequest(f"{full} is not a pydrant full snapshot")
            for name, member in meta.get("collections", []):
                wanted.append((unpacked / member, name))
            aliases = json.loads((unpacked / ALIASES_FILE).read_text())
        for path, name in wanted:
            if toc.exists(name) and not force:
                log.warning("collection %s exists: not recovered from %s (--force-snapshot replaces it)", name, path)
                continue
            store.recover_collection(toc, name, path, None)
            log.info("recovered collection %s from %s", name, path)
    taken = {a["alias_name"] for a in toc.list_aliases()}
    actions = [{"create_alias": {"alias_name": alias, "collection_name": target}}
               for alias, target in sorted(aliases.items())
               if alias not in taken and toc.exists(target) and not toc.exists(alias)]
    if actions:
        toc.update_aliases(actions)


MAX_NAME_PART_BYTES = 100
_PREFIX_BYTES = 48


def file_part(collection_name: str) -> str:
    """A collection's name as snapshot directory and file names carry it: as it is when it
    fits (file names are limited to 255 bytes, and a name may be 255 characters of up to four
    bytes) and is not hidden (a leading dot), else a readable prefix and a hash of the name."""
    raw = collection_name.encode()
    if len(raw) <= MAX_NAME_PART_BYTES and not collection_name.startswith("."):
        return collection_name
    prefix = raw[:_PREFIX_BYTES].decode(errors="ignore").lstrip(".")
    return f"{prefix}~{hashlib.sha256(raw).hexdigest()[:16]}"


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    import io

    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def _fsync_tree(root: Path) -> None:
    for directory, _dirs, files in os.walk(root):
        for name in files:
            _fsync_path(Path(directory) / name)
        _fsync_path(Path(directory))
