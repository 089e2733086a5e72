"""Start, stop, kill and restart a pydrant server subprocess on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Mapping, Sequence

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
START_DEADLINE_S = 60.0
STOP_DEADLINE_S = 30.0
# Interval between readiness probes; each wait is also an exit check on the process.
POLL_INTERVAL_S = 0.05


class ServerError(RuntimeError):
    """The server did not start, died, or did not stop in time; the message has its log tail."""


def free_port() -> int:
    """A TCP port on the loopback that is free right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """One `python -m pydrant serve` process bound to a storage dir; restartable on the same dir.

    Each start picks fresh free ports (HTTP and gRPC), since the old ones may linger in
    TIME_WAIT after kill -9, and parallel servers must never share gRPC's default 6334.
    """

    def __init__(
        self,
        storage_dir: Path,
        log_path: Path,
        *,
        env: Mapping[str, str] | None = None,
        config_file: Path | None = None,
        args: Sequence[str] = (),
    ) -> None:
        self.storage_dir = storage_dir
        self.log_path = log_path
        self.extra_env = dict(env or {})
        self.config_file = config_file
        self.args = list(args)  # more `pydrant serve` options
        self.port: int | None = None
        self.grpc_port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise ServerError("server was never started")
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def command(self, port: int) -> list[str]:
        cmd = [sys.executable, "-m", "pydrant", "serve", "--storage", str(self.storage_dir),
               "--host", HOST, "--port", str(port), "--grpc-port", str(self.grpc_port or 0)]
        if self.config_file is not None:
            cmd += ["--config", str(self.config_file)]
        return cmd + self.args

    def start(self, deadline_s: float = START_DEADLINE_S) -> "ServerProcess":
        """Launch the process and return once GET /readyz answers 200, or raise ServerError."""
        if self.is_running():
            raise ServerError(f"server pid {self.pid} is already running")
        self.storage_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.grpc_port = free_port()
        while self.grpc_port == self.port:
            self.grpc_port = free_port()
        env = dict(os.environ)
        env.update(self.extra_env)
        env["PYTHONUNBUFFERED"] = "1"
        with open(self.log_path, "ab") as log:
            log.write(f"\n=== start {' '.join(self.command(self.port))}\n".encode())
            log.flush()
            self._proc = subprocess.Popen(
                self.command(self.port), cwd=REPO_ROOT, env=env,
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )
        self.wait_ready(deadline_s)
        return self

    def wait_ready(self, deadline_s: float = START_DEADLINE_S) -> None:
        """Poll /readyz until 200 within the deadline; fail at once if the process exits."""
        assert self._proc is not None
        end = time.monotonic() + deadline_s
        last = "no answer yet"
        with httpx.Client(timeout=2.0) as probe:
            while True:
                if self._proc.poll() is not None:
                    raise ServerError(
                        f"server exited with code {self._proc.returncode} before ready\n{self.log_tail()}"
                    )
                try:
                    resp = probe.get(f"{self.url}/readyz")
                    if resp.status_code == 200:
                        return
                    last = f"/readyz answered {resp.status_code}: {resp.text[:200]}"
                except httpx.TransportError as exc:
                    last = f"{type(exc).__name__}: {exc}"
                if time.monotonic() > end:
                    self.kill()
                    raise ServerError(f"server not ready after {deadline_s}s ({last})\n{self.log_tail()}")
                try:
                    self._proc.wait(timeout=POLL_INTERVAL_S)
                except subprocess.TimeoutExpired:
                    pass

    def stop(self, deadline_s: float = STOP_DEADLINE_S) -> int:
        """SIGTERM and wait for a clean exit; returns the exit code. Kills and raises on timeout."""
        if self._proc is None:
            return 0
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout=deadline_s)
            except subprocess.TimeoutExpired:
                self.kill()
                raise ServerError(f"server did not stop within {deadline_s}s of SIGTERM\n{self.log_tail()}")
        return int(self._proc.returncode)

    def kill(self) -> None:
        """kill -9: no chance to flush anything."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait(timeout=STOP_DEADLINE_S)

    def restart(self, *, hard: bool = False) -> "ServerProcess":
        """Stop (SIGTERM, or kill -9 when `hard`) and start again on the same storage dir."""
        if hard:
            self.kill()
        else:
            self.stop()
        return self.start()

    def log_tail(self, max_chars: int = 4000) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no server log)"
        return "--- server log tail ---\n" + text[-max_chars:]


def wait_until(predicate, deadline_s: float = 10.0, interval_s: float = 0.02, what: str = "condition"):  # type: ignore[no-untyped-def]
    """Poll `predicate()` until it returns a truthy value (returned) or the deadline passes."""
    end = time.monotonic() + deadline_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"{what} not reached within {deadline_s}s (last value: {value!r})")
        time.sleep(interval_s)  # polling interval under a deadline, not synchronisation
