"""Process entry: build the service from settings, run the ASGI server, shut down cleanly."""

from __future__ import annotations

import logging

import uvicorn

from pydrant.api.rest.app import build_app
from pydrant.service.toc import TableOfContents
from pydrant.settings import Settings

log = logging.getLogger("pydrant")


def serve(settings: Settings) -> int:
    logging.basicConfig(level=settings.log.level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    toc = TableOfContents(settings.storage.storage_path, settings.storage.flush_interval_sec)
    app = build_app(toc, int(settings.service.max_request_size_mb * 1024 * 1024), settings.service.api_key)
    config = uvicorn.Config(
        app,
        host=settings.service.host,
        port=settings.service.http_port,
        log_level=settings.log.level.lower(),
        access_log=False,
        timeout_graceful_shutdown=10,
    )
    server = uvicorn.Server(config)
    log.info("pydrant listening on http://%s:%d, storage %s", settings.service.host, settings.service.http_port, settings.storage.storage_path)
    try:
        # Uvicorn handles SIGTERM/SIGINT: stops accepting, finishes requests, runs the app's
        # lifespan shutdown (which flushes every collection and closes its WAL).
        server.run()
    finally:
        toc.close()  # no-op after a clean lifespan shutdown; covers startup failures
    return 0
