"""Start and stop a pydrant server subprocess on a free loopback port with a temporary storage dir."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
PYTHON = REPO / ".venv" / "bin" / "python"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PydrantServer:
    """One `pydrant serve` process; `profile` runs it under cProfile, written on SIGINT shutdown."""

    def __init__(self, profile: Path | None = None, ready_timeout: float = 60.0) -> None:
        self.profile = profile
        self.ready_timeout = ready_timeout
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workdir = Path(tempfile.mkdtemp(prefix="pydrant-bench-"))
        self.log_path = self.workdir / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise RuntimeError("server not started")
        return self.proc.pid

    def start(self) -> None:
        python = str(PYTHON if PYTHON.exists() else sys.executable)
        # every thread profiled: request handlers and the update worker do not run on the main thread
        profiler = str(Path(__file__).with_name("profile_server.py"))
        prefix = [python, profiler, str(self.profile)] if self.profile else [python, "-m", "pydrant"]
        cmd = prefix + ["serve", "--storage", str(self.workdir / "storage"),
                        "--host", "127.0.0.1", "--port", str(self.port), "--grpc-port", "0"]  # two servers run at once
        env = dict(os.environ, PYDRANT__LOG__LEVEL="WARNING")
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=str(REPO), env=env)
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"pydrant exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(self.url + "/readyz", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)  # polling for readiness, bounded by the deadline
        self.stop()
        raise RuntimeError(f"pydrant not ready after {self.ready_timeout}s:\n{self.log_tail()}")

    def stop(self, timeout: float = 60.0) -> None:
        """SIGINT (graceful: flush, and cProfile writes its file), SIGKILL if it does not exit."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        shutil.rmtree(self.workdir / "storage", ignore_errors=True)

    def cleanup(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"
