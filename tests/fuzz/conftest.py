"""Fuzz fixtures: a private pydrant server per module with the `fuzz` collection seeded."""

from __future__ import annotations

import uuid
from typing import Iterator

import httpx
import pytest

from fuzz_support import create_fuzz_collection, start_private_server
from helpers.rest import RestClient
from helpers.server import ServerProcess


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A private server (fuzzing must not disturb the shared session server) with `fuzz` seeded."""
    proc = start_private_server(tmp_path_factory.mktemp(f"fuzz-{uuid.uuid4().hex[:6]}"))
    try:
        with httpx.Client(base_url=proc.url, timeout=30.0) as http:
            create_fuzz_collection(http)
        yield proc
    finally:
        try:
            proc.stop()
        except Exception:
            proc.kill()


@pytest.fixture(scope="module")
def fuzz_rest(fuzz_server: ServerProcess) -> Iterator[RestClient]:
    client = RestClient(fuzz_server.url, timeout=60.0)
    yield client
    client.close()
