"""Service endpoints: root, health probes, cluster status, aliases listing."""

from __future__ import annotations

from typing import Any

from pydrant import __version__
from pydrant.api.rest.context import RequestContext
from pydrant.errors import Unsupported

# The Qdrant API version pydrant implements; clients check compatibility against it.
QDRANT_API_VERSION = "1.19.0"


def root() -> Any:
    """Qdrant answers GET / without the usual envelope; the title is Qdrant's so that tools which
    check it accept pydrant, and `commit` names pydrant and its version."""
    return {"title": "qdrant - vector search engine", "version": QDRANT_API_VERSION, "commit": f"pydrant-{__version__}"}


def health_text(path: str) -> str:
    """The plain-text answer of a health probe (`/healthz` -> "healthz check passed")."""
    return f"{path.strip('/')} check passed"


def cluster(ctx: RequestContext) -> Any:
    return {"status": "disabled"}


def unsupported(ctx: RequestContext) -> Any:
    raise Unsupported("this endpoint (snapshots, sharding, cluster management, telemetry) is not implemented")
