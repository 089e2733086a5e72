"""Who applies a write: a waiting writer applies its own records when the apply lock is free,
otherwise the update worker does. Either way records are applied once, in op order, and a
`wait=true` write is visible when it returns."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Iterator

import msgspec
import pytest

from pydrant.api.rest import routes_points
from pydrant.api.rest.context import RequestContext
from pydrant.collection import read
from pydrant.service.toc import TableOfContents

NEVER = 3600.0  # no timed flushes


def write(toc: TableOfContents, handler: Any, body: dict[str, Any], wait: bool) -> Any:
    query = b"wait=true" if wait else b"wait=false"
    return handler(RequestContext(toc, {"collection_name": "c"}, query, msgspec.json.encode(body)))


def payload_of(toc: TableOfContents, point_id: int) -> dict[str, Any]:
    records = read.retrieve(toc.get("c"), [point_id], True, False)
    return records[0]["payload"] if records else {}


@pytest.fixture
def toc(tmp_path: Path) -> Iterator[TableOfContents]:
    t = TableOfContents(tmp_path / "storage", NEVER)
    t.create_collection("c", {"vectors": {"size": 2, "distance": "Dot"}})
    write(t, routes_points.upsert_points, {"points": [{"id": 1, "vector": [1.0, 0.0]}]}, True)
    yield t
    t.close()


def test_concurrent_writers_read_their_writes_and_end_with_the_last_one(toc: TableOfContents) -> None:
    """Writers alternate waiting and non-waiting writes to one point, each to its own key: a
    waiting write is visible on return, and once everything is applied every key holds its
    writer's last value. Applying two records of one writer out of order would leave an
    older value; applying one twice or never would break the op count."""
    collection = toc.get("c")
    writers, rounds = 4, 150
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            for i in range(rounds):
                wait = i % 2 == 1
                write(toc, routes_points.set_payload, {"payload": {name: i}, "points": [1]}, wait)
                if wait:
                    assert payload_of(toc, 1)[name] == i
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f"w{n}",)) for n in range(writers)]
    first_op = collection.wal.last_op + 1
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    collection.wait_applied()
    assert payload_of(toc, 1) == {f"w{n}": rounds - 1 for n in range(writers)}
    assert collection.applied_op == collection.wal.last_op == first_op + writers * rounds - 1


def test_a_waiting_writer_that_finds_the_apply_lock_taken_leaves_its_records_to_the_worker(toc: TableOfContents) -> None:
    """While another thread holds the apply lock, the write is logged but neither applied
    nor answered; once the lock is free the worker applies it and the writer returns."""
    collection = toc.get("c")
    result: list[Any] = []
    writer = threading.Thread(target=lambda: result.append(
        write(toc, routes_points.set_payload, {"payload": {"k": "v"}, "points": [1]}, True)))
    with collection._apply_lock:
        logged = collection.wal.last_op
        writer.start()
        writer.join(timeout=0.5)
        assert writer.is_alive() and result == []
        assert collection.wal.last_op == logged + 1  # logged (and fsynced), not applied
        assert payload_of(toc, 1) == {}
    writer.join()
    assert result[0]["status"] == "completed"
    assert payload_of(toc, 1) == {"k": "v"}


def test_a_write_that_does_not_wait_is_applied_by_the_worker(toc: TableOfContents) -> None:
    collection = toc.get("c")
    answer = write(toc, routes_points.set_payload, {"payload": {"k": 1}, "points": [1]}, False)
    assert answer["status"] == "acknowledged"
    collection.wait_applied()
    assert payload_of(toc, 1) == {"k": 1}


def test_a_filter_write_sees_every_earlier_write_applied(toc: TableOfContents) -> None:
    """A write by filter resolves its points against the state after every earlier record,
    including ones whose writers did not wait (the drain applies them, or waits for them)."""
    collection = toc.get("c")
    for i in range(2, 40):
        write(toc, routes_points.upsert_points, {"points": [{"id": i, "vector": [1.0, 0.0], "payload": {"tag": "x"}}]}, False)
    answer = write(toc, routes_points.set_payload,
                   {"payload": {"seen": True}, "filter": {"must": [{"key": "tag", "match": {"value": "x"}}]}}, True)
    assert answer["status"] == "completed"
    assert all(payload_of(toc, i) == {"tag": "x", "seen": True} for i in range(2, 40))
    assert collection.applied_op == collection.wal.last_op
