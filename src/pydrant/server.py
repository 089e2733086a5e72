"""Process entry: build the service from settings, run the ASGI server, shut down cleanly."""

from __future__ import annotations

import contextlib
import gc
import logging
import signal
import socket
from pathlib import Path
from typing import Iterator, Sequence

import uvicorn

from pydrant.api.access import ApiKeys
from pydrant.api.grpc.server import GrpcServer
from pydrant.api.rest.app import build_app
from pydrant.service.snapshots import SnapshotStore, recover_at_startup
from pydrant.service.toc import TableOfContents
from pydrant.settings import Settings

log = logging.getLogger("pydrant")


class _Server(uvicorn.Server):
    """Uvicorn re-raises SIGTERM/SIGINT after its graceful shutdown, which would end the
    process with the signal's status; a clean shutdown exits 0 instead."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    grpc: GrpcServer | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        # gRPC first: once /readyz answers, gRPC answers too.
        if self.grpc is not None and not await self.grpc.start():
            self.grpc = None  # port busy: logged, HTTP serves alone
        try:
            await super().startup(sockets)
        except BaseException:
            await self.shutdown_grpc()
            raise

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # Before the lifespan shutdown closes every collection.
        await self.shutdown_grpc()
        await super().shutdown(sockets)

    async def shutdown_grpc(self) -> None:
        if self.grpc is not None:
            await self.grpc.stop(self.config.timeout_graceful_shutdown or 0)


# Young-generation threshold of the cyclic garbage collector (CPython's default is 700). A
# server holds a Python dict per point payload and allocates thousands of containers per
# write; at 700 a 100k-point load ran ~460 young, ~40 middle and 3 full collections (the full
# ones 130 ms each, every thread stopped), and GC cost ~10% of upsert CPU and a third of a
# re-embedding pass's throughput (docs/benchmarks.md). Young collections stay a few ms.
GC_YOUNG_THRESHOLD = 10_000


def tune_garbage_collector() -> None:
    """Collect less often, and keep what is already loaded out of later full collections:
    called once the storage is recovered, before serving (frozen objects are still freed by
    reference counting; only cycle detection skips them)."""
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)
    gc.collect()
    gc.freeze()


def serve(settings: Settings, snapshots: Sequence[tuple[Path, str]] = (), storage_snapshot: Path | None = None,
          force_snapshot: bool = False) -> int:
    logging.basicConfig(level=settings.log.level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    toc = TableOfContents(settings.storage.storage_path, settings.storage.flush_interval_sec,
                          snapshots_path=settings.storage.snapshots_path)
    store = SnapshotStore(toc.snapshots_path, 0)
    store.remove_leftovers()
    if snapshots or storage_snapshot is not None:
        try:
            recover_at_startup(toc, store, list(snapshots), storage_snapshot, force_snapshot)
        except Exception as exc:
            log.error("recovering snapshots failed: %s", exc)
            toc.close()
            return 1
    tune_garbage_collector()
    keys = ApiKeys(settings.service.api_key, settings.service.read_only_api_key)  # REST and gRPC alike
    app = build_app(toc, int(settings.service.max_request_size_mb * 1024 * 1024), keys, settings.service.enable_cors)
    config = uvicorn.Config(
        app,
        host=settings.service.host,
        port=settings.service.http_port,
        log_level=settings.log.level.lower(),
        access_log=False,
        timeout_graceful_shutdown=10,
        # No X-Forwarded-* rewriting (nothing reads the client address) and no `server`
        # header (Qdrant sends none): one middleware layer less per request.
        proxy_headers=False,
        server_header=False,
    )
    server = _Server(config)
    if settings.service.grpc_port is not None:
        server.grpc = GrpcServer(toc, settings.service.host, settings.service.grpc_port,
                                 int(settings.service.max_request_size_mb * 1024 * 1024), keys)
    log.info("pydrant listening on http://%s:%d, storage %s", settings.service.host, settings.service.http_port, settings.storage.storage_path)
    try:
        # Uvicorn handles SIGTERM/SIGINT: stops accepting, finishes requests, runs the app's
        # lifespan shutdown (which flushes every collection and closes its WAL).
        server.run()
    finally:
        toc.close()  # no-op after a clean lifespan shutdown; covers startup failures
    return 0
