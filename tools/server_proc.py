"""Run a pydrant server subprocess on a free loopback port for the soak tools (start, kill -9, stop)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"  # the tools never listen beyond the loopback


class ServerFailed(RuntimeError):
    """The server did not become ready, exited early, or did not stop in time."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class Server:
    """`python -m pydrant serve` on one storage dir; every start takes a fresh port
    (the previous one may sit in TIME_WAIT after a kill -9)."""

    def __init__(self, storage: Path, log_path: Path, env: Mapping[str, str] | None = None) -> None:
        self.storage = storage
        self.log_path = log_path
        self.env = dict(env or {})
        self.port: int | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        if self.port is None:
            raise ServerFailed("server was never started")
        return f"http://{HOST}:{self.port}"

    def start(self, deadline_s: float = 60.0) -> None:
        if self.proc is not None and self.proc.poll() is None:
            raise ServerFailed(f"server pid {self.proc.pid} is still running")
        self.storage.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        cmd = [sys.executable, "-m", "pydrant", "serve", "--storage", str(self.storage),
               "--host", HOST, "--port", str(self.port), "--grpc-port", "0"]  # no gRPC: never collide on 6334
        env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1"}
        with open(self.log_path, "ab") as log:
            log.write(f"\n=== start {' '.join(cmd)}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
        self.starts += 1
        self._wait_ready(deadline_s)

    def _wait_ready(self, deadline_s: float) -> None:
        assert self.proc is not None
        end = time.monotonic() + deadline_s
        last = "no answer yet"
        with httpx.Client(timeout=2.0) as probe:
            while True:
                if self.proc.poll() is not None:
                    raise ServerFailed(f"server exited with {self.proc.returncode} before ready\n{self.log_tail()}")
                try:
                    resp = probe.get(f"{self.url}/readyz")
                    if resp.status_code == 200:
                        return
                    last = f"/readyz -> {resp.status_code}"
                except httpx.TransportError as exc:
                    last = repr(exc)
                if time.monotonic() > end:
                    self.kill()
                    raise ServerFailed(f"server not ready after {deadline_s}s ({last})\n{self.log_tail()}")
                try:
                    self.proc.wait(timeout=0.05)  # doubles as the exit check between probes
                except subprocess.TimeoutExpired:
                    pass

    def kill(self) -> None:
        """kill -9: nothing gets flushed."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)

    def stop(self, deadline_s: float = 30.0) -> int:
        """SIGTERM and wait; returns the exit code (the server exits 0 on a clean shutdown)."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=deadline_s)
            except subprocess.TimeoutExpired:
                self.kill()
                raise ServerFailed(f"server ignored SIGTERM for {deadline_s}s\n{self.log_tail()}") from None
        return int(self.proc.returncode)

    def log_tail(self, max_chars: int = 3000) -> str:
        try:
            return "--- server log tail ---\n" + self.log_path.read_text(errors="replace")[-max_chars:]
        except FileNotFoundError:
            return "(no server log)"
