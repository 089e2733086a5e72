"""A gRPC port that is already taken must not take the HTTP API down with it."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx

from helpers.server import HOST, ServerProcess


class _BusyGrpcPort(ServerProcess):
    """A server asked to serve gRPC on a port another socket already listens on."""

    def __init__(self, storage_dir: Path, log_path: Path, busy_port: int) -> None:
        super().__init__(storage_dir, log_path)
        self.busy_port = busy_port

    def command(self, port: int) -> list[str]:
        cmd = super().command(port)
        cmd[cmd.index("--grpc-port") + 1] = str(self.busy_port)
        return cmd


def test_busy_grpc_port_leaves_http_serving(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind((HOST, 0))
        holder.listen()
        server = _BusyGrpcPort(tmp_path / "storage", tmp_path / "server.log", holder.getsockname()[1]).start()
        try:
            created = httpx.put(f"{server.url}/collections/c", json={"vectors": {"size": 2, "distance": "Dot"}})
            assert created.status_code == 200, created.text
            assert httpx.get(f"{server.url}/collections/c/exists").json()["result"] == {"exists": True}
            assert "gRPC: cannot bind" in server.log_tail()
        finally:
            assert server.stop() == 0
