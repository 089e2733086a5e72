"""POST /points/batch reads each operation's body straight from the request bytes; every
malformed batch is refused before anything is logged, with a message naming the bad part."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import msgspec
import pytest

from pydrant.api.rest import routes_points
from pydrant.api.rest.context import RequestContext
from pydrant.collection import read
from pydrant.errors import BadInput, MalformedJson, ValidationFailed
from pydrant.service.toc import TableOfContents

NEVER = 3600.0


@pytest.fixture
def toc(tmp_path: Path) -> Iterator[TableOfContents]:
    t = TableOfContents(tmp_path / "storage", NEVER)
    t.create_collection("c", {"vectors": {"size": 2, "distance": "Dot"}})
    yield t
    t.close()


def batch(toc: TableOfContents, body: bytes) -> Any:
    return routes_points.batch_update(RequestContext(toc, {"collection_name": "c"}, b"wait=true", body))


@pytest.mark.parametrize("body,message", [
    (b"", "operations: expected a list of update operations"),
    (b"{}", "operations: expected a list of update operations"),
    (b'{"operations": {"delete": {"points": [1]}}}', "operations: expected a list of update operations"),
    (b"[1, 2]", "expected a JSON object as the request body"),
    (b'{"operations": [5]}', "operations[0]: expected an object with exactly one of"),
    (b'{"operations": [{"delete": {"points": [1]}}, {"frobnicate": {}}]}', "operations[1]: expected an object with exactly one of"),
    (b'{"operations": [{"delete": {"points": [1]}, "clear_payload": {"points": [1]}}]}', "operations[0]: expected an object"),
    (b'{"operations": [{}]}', "operations[0]: expected an object with exactly one of"),
    (b'{"operations": [{"delete": {"points": [1]}}', "Format error in JSON body"),
    (b'{"operations": "\xff"}', "Format error in JSON body"),
])
def test_malformed_batches_are_refused_before_anything_is_logged(toc: TableOfContents, body: bytes, message: str) -> None:
    collection = toc.get("c")
    logged = collection.wal.last_op
    with pytest.raises(MalformedJson) as caught:
        batch(toc, body)
    assert message in caught.value.message
    assert collection.wal.last_op == logged


def test_operation_bodies_are_decoded_as_their_own_endpoints_decode_them(toc: TableOfContents) -> None:
    """Upsert and update_vectors read the raw bytes with their typed decoders; the others get
    Python values. Floats keep their exact value, ids of both kinds and payloads survive."""
    uid = "5f2c7a2e-4a9a-4b35-9a34-1f2d3c4b5a69"
    operations = [
        {"upsert": {"points": [{"id": 1, "vector": [0.1, 1e-40], "payload": {"a": [1, {"b": None}]}},
                               {"id": uid, "vector": [3, -2.5]}]}},
        {"set_payload": {"payload": {"s": "ü"}, "points": [1]}},
        {"update_vectors": {"points": [{"id": uid, "vector": [0.30000001192092896, 2]}]}},
        {"delete_payload": {"keys": ["a"], "points": [1]}},
    ]
    results = batch(toc, msgspec.json.encode({"operations": operations}))
    assert [r["status"] for r in results] == ["completed"] * 4
    records = {r["id"]: r for r in read.retrieve(toc.get("c"), [1, uid], True, True)}
    assert records[1]["payload"] == {"s": "ü"}
    assert records[1]["vector"] == pytest.approx([0.1, 1e-40], rel=1e-6)
    assert records[uid]["vector"] == [0.3, 2.0]  # float32 0.3, sent as its shortest form


@pytest.mark.parametrize("operation,where", [
    ({"upsert": {"points": [{"id": 1, "vector": [1.0, "x"]}]}}, "$.points[0].vector[1]"),
    ({"update_vectors": {"points": [{"id": 1}]}}, "$.points[0]"),
    ({"set_payload": {"payload": 3, "points": [1]}}, "payload"),
])
def test_a_bad_operation_body_is_reported_with_its_path(toc: TableOfContents, operation: dict[str, Any], where: str) -> None:
    with pytest.raises((MalformedJson, BadInput, ValidationFailed)) as caught:  # all 400/422
        batch(toc, msgspec.json.encode({"operations": [operation]}))
    assert where in caught.value.message
