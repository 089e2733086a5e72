"""Snapshot endpoints: collection snapshots (create, list, download, delete, recover from a
location or an upload), the same for shard 0 (a collection's only shard: its snapshots are
collection snapshots kept in a directory of their own), and full snapshots (create, list,
download, delete)."""

from __future__ import annotations

import io
import logging
import threading
from pathlib import Path
from typing import Any, Callable, Literal

import msgspec

from pydrant.api.rest.asgi import Accepted, FileDownload
from pydrant.api.rest.context import RequestContext
from pydrant.api.rest.routes_collections import PEER_ID
from pydrant.collection.convert import decode_json
from pydrant.errors import BadRequest, MalformedJson, NotFound
from pydrant.service.snapshots import SnapshotStore, checksum_path

log = logging.getLogger("pydrant.snapshots")

Priority = Literal["no_sync", "snapshot", "replica"]
PRIORITIES = ("no_sync", "snapshot", "replica")
MULTIPART = "multipart/form-data body"


class SnapshotRecoverBody(msgspec.Struct):
    location: str
    priority: Priority | None = None
    checksum: str | None = None
    api_key: str | None = None


def _store(ctx: RequestContext) -> SnapshotStore:
    return SnapshotStore(ctx.toc.snapshots_path, PEER_ID)


def _shard_id(ctx: RequestContext) -> int | None:
    """The path's shard id (None on collection routes); only shard 0 exists."""
    raw = ctx.path.get("shard_id")
    if raw is None:
        return None
    if not raw.isdigit():
        raise MalformedJson(f"shard_id: expected an unsigned integer, got `{raw}`", where="path parameters")
    if int(raw) != 0:
        raise NotFound(f"Shard {int(raw)} not found (the collection has one shard, 0)")
    return 0


def _directory(ctx: RequestContext, store: SnapshotStore, collection_name: str) -> Path:
    shard = _shard_id(ctx)
    return store.collection_dir(collection_name) if shard is None else store.shard_dir(collection_name, shard)


def _run(ctx: RequestContext, work: Callable[[], Any], what: str) -> Any:
    """Run `work` now (`wait=true`, the default for snapshots) or in the background (202)."""
    if ctx.flag("wait", True):
        return work()

    def background() -> None:
        try:
            work()
        except Exception:
            log.exception("%s failed", what)

    threading.Thread(target=background, name="snapshot", daemon=True).start()
    return Accepted()


# ---- collection snapshots ---------------------------------------------------------------------
def list_snapshots(ctx: RequestContext) -> Any:
    name = ctx.collection().name
    store = _store(ctx)
    return store.list(_directory(ctx, store, name))


def create_snapshot(ctx: RequestContext) -> Any:
    name = ctx.collection().name
    toc, store = ctx.toc, _store(ctx)
    directory = _directory(ctx, store, name)
    return _run(ctx, lambda: store.create_collection_snapshot(toc, name, directory), f"snapshot of `{name}`")


def stream_shard_snapshot(ctx: RequestContext) -> Any:
    """A snapshot of the shard made for this download only: sent, then gone."""
    name = ctx.collection().name
    store = _store(ctx)
    _shard_id(ctx)
    made = store.create_collection_snapshot(ctx.toc, name, store.streaming_dir())
    path = store.streaming_dir() / made["name"]
    return FileDownload(path, remove_after_open=(path, checksum_path(path)))


def get_snapshot(ctx: RequestContext) -> Any:
    name = ctx.collection().name
    store = _store(ctx)
    return FileDownload(store.find(_directory(ctx, store, name), ctx.path["snapshot_name"]))


def delete_snapshot(ctx: RequestContext) -> Any:
    name = ctx.collection().name
    store = _store(ctx)
    return _delete(ctx, store, _directory(ctx, store, name))


def _delete(ctx: RequestContext, store: SnapshotStore, directory: Path) -> Any:
    snapshot = ctx.path["snapshot_name"]
    store.find(directory, snapshot)  # a missing one is a 404 even without waiting

    def work() -> bool:
        store.delete(directory, snapshot)
        return True

    return _run(ctx, work, f"deleting snapshot {snapshot}")


def recover_from_location(ctx: RequestContext) -> Any:
    name = ctx.path["collection_name"]
    shard = _shard_id(ctx)
    if shard is not None:
        name = ctx.collection().name  # a shard is recovered into its existing collection
    request: SnapshotRecoverBody = decode_json(ctx.body, SnapshotRecoverBody)
    store = _store(ctx)
    scheme = request.location.split(":", 1)[0].lower() if ":" in request.location else ""
    local: Path | None = None
    if scheme == "file":
        local = store.local_file(request.location)
    elif shard is not None and scheme not in ("http", "https"):
        # A shard location may also be a plain path: a snapshot file of that shard.
        local = store.find_file(store.shard_dir(name, shard), request.location)
    if local is not None:
        path = local
        return _recover(ctx, store, name, lambda: path, request.checksum, temporary=False)
    if scheme not in ("http", "https"):
        raise BadRequest(f"Invalid snapshot URI `{request.location}`: expected a file://, http:// or https:// location")
    return _recover(ctx, store, name, lambda: store.download(request.location, request.api_key), request.checksum,
                    temporary=True)


def recover_from_upload(ctx: RequestContext) -> Any:
    name = ctx.path["collection_name"]
    if _shard_id(ctx) is not None:
        name = ctx.collection().name  # a shard is recovered into its existing collection
    priority = ctx.query.get("priority")
    if priority is not None and priority not in PRIORITIES:
        raise MalformedJson(f"priority: unknown variant `{priority}`, expected one of {', '.join(PRIORITIES)}",
                            where="query parameters")
    store = _store(ctx)
    upload = _uploaded_file(ctx)  # a bad body is refused before anything runs
    return _recover(ctx, store, name, lambda: store.spool(upload), ctx.query.get("checksum"), temporary=True)


def _recover(ctx: RequestContext, store: SnapshotStore, name: str, fetch: Callable[[], Path], checksum: str | None,
             temporary: bool) -> Any:
    """Recover collection `name` from the archive `fetch` gives (now or in the background);
    a `temporary` archive (a download, an upload) is removed afterwards."""

    def work() -> bool:
        archive = fetch()
        try:
            store.recover_collection(ctx.toc, name, archive, checksum)
        finally:
            if temporary:
                archive.unlink(missing_ok=True)
        return True

    return _run(ctx, work, f"recovering `{name}`")


def _uploaded_file(ctx: RequestContext) -> Any:
    """The `snapshot` part of a multipart/form-data body, as a readable file object."""
    from python_multipart import parse_form
    from python_multipart.exceptions import FormParserError

    if not ctx.content_type.lower().startswith(b"multipart/form-data"):
        raise MalformedJson("expected a multipart/form-data body with the snapshot in a `snapshot` part", where=MULTIPART)
    files: list[Any] = []
    headers = {"Content-Type": ctx.content_type, "Content-Length": str(len(ctx.body)).encode()}
    try:
        parse_form(headers, io.BytesIO(ctx.body), lambda field: None, files.append)
    except (FormParserError, ValueError) as exc:
        raise MalformedJson(f"malformed: {exc}", where=MULTIPART) from None
    for file in files:
        if file.field_name in (b"snapshot", "snapshot"):
            file.file_object.seek(0)
            return file.file_object
    raise MalformedJson("no `snapshot` file part", where=MULTIPART)


# ---- full snapshots -------------------------------------------------------------------------
def list_full_snapshots(ctx: RequestContext) -> Any:
    return _store(ctx).list(ctx.toc.snapshots_path)


def create_full_snapshot(ctx: RequestContext) -> Any:
    toc = ctx.toc
    return _run(ctx, lambda: _store(ctx).create_full_snapshot(toc), "full snapshot")


def get_full_snapshot(ctx: RequestContext) -> Any:
    return FileDownload(_store(ctx).find(ctx.toc.snapshots_path, ctx.path["snapshot_name"]))


def delete_full_snapshot(ctx: RequestContext) -> Any:
    return _delete(ctx, _store(ctx), ctx.toc.snapshots_path)
