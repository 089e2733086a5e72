"""The table of contents: collections by name, aliases, startup recovery and shutdown."""

from __future__ import annotations

import logging
import shutil
import threading
import uuid
from pathlib import Path
from typing import Any

from pydrant.collection.collection import CONFIG_FILE, Collection
from pydrant.collection.config import CollectionConfig
from pydrant.errors import AlreadyExists, BadInput, NotFound, ValidationFailed
from pydrant.service.request_stats import RequestStats
from pydrant.storage.atomic import read_json, write_atomic_json
from pydrant.storage.fileio import DEFAULT_FILEIO, FileIO

log = logging.getLogger("pydrant.toc")

ALIASES_FILE = "aliases.json"
RECOVERED_AT = "recovered_at"  # config.json key: when a snapshot recovery made the directory (ns)
MAX_NAME_LENGTH = 255


def check_collection_name(name: str, field: str = "collection_name") -> None:
    if (not name or len(name) > MAX_NAME_LENGTH or any(c in name for c in '/\\') or name in (".", "..")
            or any(c < " " or "\x7f" <= c <= "\x9f" for c in name)):  # control characters, NUL included
        raise ValidationFailed(
            f"{field}: collection name must be 1 to {MAX_NAME_LENGTH} characters without / \\ or control characters",
            where="path parameters",
        )


class TableOfContents:
    def __init__(self, storage_path: Path, flush_interval: float, fileio: FileIO = DEFAULT_FILEIO,
                 snapshots_path: Path | None = None) -> None:
        self.root = storage_path
        self.snapshots_path = storage_path / "snapshots" if snapshots_path is None else snapshots_path
        self.flush_interval = flush_interval
        self.fileio = fileio
        self._lock = threading.RLock()
        self.collections: dict[str, Collection] = {}
        self.aliases: dict[str, str] = {}
        # Answers per endpoint and status, reported by GET /telemetry.
        self.rest_stats = RequestStats()
        self.grpc_stats = RequestStats()
        fileio.makedirs(self.root / "collections")
        self._load()

    def _load(self) -> None:
        directory = self.root / "collections"
        found: list[Path] = []
        for entry in sorted(self.fileio.listdir(directory)):
            path = directory / entry
            if entry.startswith("."):  # `.deleted-*` being removed, `.recover-*` never swapped in
                shutil.rmtree(path, ignore_errors=True)
                continue
            if not (path / CONFIG_FILE).exists():
                # a create that crashed before its config was durable: never acknowledged
                shutil.rmtree(path, ignore_errors=True)
                continue
            found.append(path)
        for path in self._without_replaced(found):
            collection = Collection.open(path, self.flush_interval, self.fileio)
            self.collections[collection.name] = collection
        aliases_path = self.root / ALIASES_FILE
        if aliases_path.exists():
            stored = read_json(aliases_path, fileio=self.fileio)
            self.aliases = {a: c for a, c in stored.items() if c in self.collections}
        log.info("loaded %d collections from %s", len(self.collections), self.root)

    def _without_replaced(self, paths: list[Path]) -> list[Path]:
        """A snapshot recovery cut short after its collection was moved in, but before the one
        it replaces was moved out, leaves two directories with one name: the recovered one
        (the larger `recovered_at`) wins, the other is removed, as the recovery would have."""
        by_name: dict[str, list[tuple[int, Path]]] = {}
        for path in paths:
            stored = read_json(path / CONFIG_FILE, fileio=self.fileio)
            by_name.setdefault(stored["name"], []).append((int(stored.get(RECOVERED_AT, 0)), path))
        keep = []
        for name, claims in by_name.items():
            claims.sort()
            keep.append(claims[-1][1])
            for _stamp, loser in claims[:-1]:
                log.warning("collection %s: %s replaced by a recovered snapshot; removing it", name, loser.name)
                shutil.rmtree(loser, ignore_errors=True)
        return sorted(keep)

    # ---- collections ----------------------------------------------------------------------------
    def get(self, name: str) -> Collection:
        with self._lock:
            collection = self.collections.get(name)
            if collection is None:
                target = self.aliases.get(name)
                if target is not None:
                    collection = self.collections.get(target)
            if collection is None:
                raise NotFound(f"Collection `{name}` doesn't exist!")
            return collection

    def resolve_name(self, name: str) -> str:
        return self.get(name).name

    def create_collection(self, name: str, body: object) -> None:
        check_collection_name(name)
        config = CollectionConfig.from_create_request(body)
        with self._lock:
            if name in self.collections:
                raise AlreadyExists(f"Collection `{name}` already exists!")
            if name in self.aliases:  # 400 here (a 409 only for an alias named like a collection), as Qdrant
                raise BadInput(f"Alias `{name}` already exists!")
            directory = self.root / "collections" / uuid.uuid4().hex
            self.collections[name] = Collection.create(name, directory, config, self.flush_interval, self.fileio)

    def delete_collection(self, name: str) -> bool:
        with self._lock:
            collection = self.collections.pop(name, None)
            if collection is None:
                return False
            removed = [a for a, c in self.aliases.items() if c == name]
            for alias in removed:
                del self.aliases[alias]
            if removed:
                self._save_aliases()
        collection.close()
        graveyard = collection.directory.with_name(f".deleted-{collection.directory.name}")
        self.fileio.rename(collection.directory, graveyard)
        self.fileio.fsync_dir(graveyard.parent)
        shutil.rmtree(graveyard, ignore_errors=True)
        return True

    def replace_collection(self, name: str, image: Path) -> None:
        """Swap in the collection directory `image` (a recovered snapshot on this file system,
        its config stamped with `recovered_at`) as collection `name`, replacing the one of that
        name if any; its aliases stay. The new directory is moved in before the old one is
        moved out, so a crash in between leaves both and the next start keeps the new one
        (`_without_replaced`): never neither."""
        with self._lock:
            if name in self.aliases:
                raise BadInput(f"Alias `{name}` already exists!")
            directory = self.root / "collections" / uuid.uuid4().hex
            self.fileio.rename(image, directory)
            self.fileio.fsync_dir(directory.parent)
            old = self.collections.pop(name, None)
            graveyard = None
            if old is not None:
                old.close()
                graveyard = old.directory.with_name(f".deleted-{old.directory.name}")
                self.fileio.rename(old.directory, graveyard)
                self.fileio.fsync_dir(directory.parent)
            try:
                self.collections[name] = Collection.open(directory, self.flush_interval, self.fileio)
            except BaseException:
                shutil.rmtree(directory, ignore_errors=True)  # a restart must not meet it either
                if old is not None and graveyard is not None:  # the collection it was to replace comes back
                    self.fileio.rename(graveyard, old.directory)
                    self.fileio.fsync_dir(directory.parent)
                    self.collections[name] = Collection.open(old.directory, self.flush_interval, self.fileio)
                raise
        if graveyard is not None:
            shutil.rmtree(graveyard, ignore_errors=True)

    def list_names(self) -> list[str]:
        with self._lock:
            return list(self.collections)

    def exists(self, name: str) -> bool:
        with self._lock:
            return name in self.collections

    # ---- aliases --------------------------------------------------------------------------------
    def update_aliases(self, actions: list[dict[str, Any]]) -> None:
        """Apply alias actions all-or-nothing."""
        with self._lock:
            aliases = dict(self.aliases)
            for action in actions:
                if "create_alias" in action:
                    spec = action["create_alias"]
                    if spec["collection_name"] not in self.collections:
                        raise NotFound(f"Collection `{spec['collection_name']}` doesn't exist!")
                    if spec["alias_name"] in self.collections:  # 409, as a collection created twice
                        raise AlreadyExists(f"Collection `{spec['alias_name']}` already exists!")
                    aliases[spec["alias_name"]] = spec["collection_name"]
                elif "delete_alias" in action:
                    alias = action["delete_alias"]["alias_name"]
                    if alias not in aliases:
                        raise NotFound(f"Alias `{alias}` doesn't exist!")
                    del aliases[alias]
                elif "rename_alias" in action:
                    spec = action["rename_alias"]
                    old, new = spec["old_alias_name"], spec["new_alias_name"]
                    if old not in aliases:
                        raise NotFound(f"Alias `{old}` doesn't exist!")
                    aliases[new] = aliases.pop(old)
            self.aliases = aliases
            self._save_aliases()

    def _save_aliases(self) -> None:
        write_atomic_json(self.root / ALIASES_FILE, self.aliases, self.fileio)

    def list_aliases(self, collection: str | None = None) -> list[dict[str, str]]:
        with self._lock:
            return [
                {"alias_name": alias, "collection_name": target}
                for alias, target in sorted(self.aliases.items())
                if collection is None or target == collection
            ]

    # ---- lifecycle ------------------------------------------------------------------------------
    def close(self) -> None:
        with self._lock:
            collections = list(self.collections.values())
        for collection in collections:
            collection.close()
        if collections:
            log.info("flushed and closed %d collections", len(collections))
