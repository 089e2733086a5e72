"""Fixtures shared by the integration tests that compare pydrant with qdrant-client local mode."""

from __future__ import annotations

from typing import Iterator

import pytest
from qdrant_client import QdrantClient


@pytest.fixture(scope="module")
def local() -> Iterator[QdrantClient]:
    """qdrant-client local mode in memory: the reference for semantics, one per test module."""
    qc = QdrantClient(":memory:")
    yield qc
    qc.close()
