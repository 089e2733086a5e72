"""Shared fixtures: a pydrant server subprocess, a validating REST client and qdrant-client."""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path
from typing import Callable, Iterator

# One BLAS thread, as the server runs numpy (cli.py). A multi-threaded matrix-vector product
# splits rows at boundaries that move the last bit of some scores; unit tests compare search
# paths bit for bit. Set before numpy is first imported (pytest's plugins do not import it).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import pytest  # noqa: E402

# Tests import `helpers` as a top-level package; pyproject.toml is not ours to change.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from helpers.rest import RestClient  # noqa: E402
from helpers.server import ServerProcess  # noqa: E402


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One pydrant process for the whole session, on a temp storage dir."""
    base = tmp_path_factory.mktemp("pydrant-session")
    proc = ServerProcess(base / "storage", base / "server.log")
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def rest(server: ServerProcess) -> Iterator[RestClient]:
    client = RestClient(server.url)
    yield client
    client.close()


@pytest.fixture(scope="session")
def client(server: ServerProcess):  # type: ignore[no-untyped-def]
    from qdrant_client import QdrantClient

    # check_compatibility would probe GET / from a background thread and only warn;
    # test_service checks the version handshake explicitly instead.
    qc = QdrantClient(url=server.url, prefer_grpc=False, check_compatibility=False, timeout=30)
    yield qc
    qc.close()


@pytest.fixture
def collection_name() -> str:
    """A name no other test uses (the session server is shared)."""
    return f"t_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Start private servers (for restart tests); each is stopped at teardown."""
    started: list[ServerProcess] = []

    def make(storage_dir: Path | None = None, **kwargs) -> ServerProcess:  # type: ignore[no-untyped-def]
        index = len(started)
        proc = ServerProcess(
            storage_dir or tmp_path / f"storage{index}", tmp_path / f"server{index}.log", **kwargs
        )
        started.append(proc)
        return proc.start()

    yield make
    for proc in started:
        try:
            proc.stop()
        except Exception:
            proc.kill()
