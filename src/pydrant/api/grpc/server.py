"""The grpc.aio server: Qdrant's Qdrant, Collections, Points and Snapshots services on one port,
sharing the REST side's TableOfContents; started and stopped on the HTTP server's event loop."""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any, Callable, Mapping

import grpc
from qdrant_client.grpc import (
    collections_service_pb2_grpc,
    points_service_pb2_grpc,
    qdrant_pb2_grpc,
    snapshots_service_pb2_grpc,
)

from pydrant.api.access import ApiKeys
from pydrant.api.grpc import services
from pydrant.api.grpc.dispatch import Dispatcher
from pydrant.api.grpc.rest_call import Rpc
from pydrant.service.toc import TableOfContents

log = logging.getLogger("pydrant.grpc")

# (service name, generated servicer class (its method names), generated registration, table)
SERVICES: list[tuple[str, type, Callable[[Any, Any], None], Mapping[str, Rpc]]] = [
    ("qdrant.Qdrant", qdrant_pb2_grpc.QdrantServicer, qdrant_pb2_grpc.add_QdrantServicer_to_server, services.QDRANT),
    ("qdrant.Collections", collections_service_pb2_grpc.CollectionsServicer,
     collections_service_pb2_grpc.add_CollectionsServicer_to_server, services.COLLECTIONS),
    ("qdrant.Points", points_service_pb2_grpc.PointsServicer, points_service_pb2_grpc.add_PointsServicer_to_server, services.POINTS),
    ("qdrant.Snapshots", snapshots_service_pb2_grpc.SnapshotsServicer,
     snapshots_service_pb2_grpc.add_SnapshotsServicer_to_server, services.SNAPSHOTS),
]
PUBLIC_SERVICES = {"qdrant.Qdrant"}  # HealthCheck answers without an api-key, as GET / does


def method_names(servicer_class: type) -> list[str]:
    return [name for name, value in vars(servicer_class).items() if callable(value) and not name.startswith("_")]


def bind_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"


class GrpcServer:
    def __init__(self, toc: TableOfContents, host: str, port: int, max_message_bytes: int, keys: ApiKeys) -> None:
        self.address = bind_address(host, port)
        self.max_message_bytes = max_message_bytes
        self.dispatcher = Dispatcher(toc, keys)
        self._server: Any = None
        self.port: int | None = None

    async def start(self) -> bool:
        """Bind and serve; False (logged as an error) when the port cannot be bound.

        The HTTP API keeps running without gRPC then: several servers started with only
        `--port` (scripts and test harnesses written before pydrant had gRPC) must not fail
        because they all ask for the default gRPC port."""
        server = grpc.aio.server(options=[
            # grpc binds with SO_REUSEPORT by default: a second server on a busy port would share
            # it silently instead of failing.
            ("grpc.so_reuseport", 0),
            ("grpc.max_receive_message_length", self.max_message_bytes),
            ("grpc.max_send_message_length", -1),
        ])
        for name, servicer_class, register, rpcs in SERVICES:
            register(self.dispatcher.servicer(name, method_names(servicer_class), rpcs, public=name in PUBLIC_SERVICES), server)
        try:
            port = server.add_insecure_port(self.address)
        except RuntimeError as exc:
            port, reason = 0, str(exc)
        else:
            reason = "the port is in use or not allowed"
        if not port:
            log.error("gRPC: cannot bind %s (%s); serving HTTP only. Set service.grpc_port (--grpc-port) "
                      "to a free port, or 0 to turn gRPC off.", self.address, reason)
            self.dispatcher.pool.shutdown(wait=False)
            return False
        await server.start()
        self._server, self.port = server, port
        log.info("pydrant gRPC listening on %s", self.address)
        return True

    async def stop(self, grace_seconds: float) -> None:
        """Refuse new RPCs, let running ones finish within the grace period, then wait for
        every thread still working (an RPC cancelled by the grace period may still be writing):
        after this the collections can be closed."""
        if self._server is not None:
            await self._server.stop(grace_seconds)
            self._server = None
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, functools.partial(self.dispatcher.pool.shutdown, wait=True))
