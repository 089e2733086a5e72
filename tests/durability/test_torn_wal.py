"""Recovery from a damaged WAL tail and from temp files a crash left behind."""

from __future__ import annotations

import random
import uuid
from pathlib import Path
from typing import Any, Callable

import pytest

from durability_support import (
    collection_dirs,
    exact_count,
    log_of_last_start,
    only_collection_dir,
    retrieve_all,
    scroll_ids,
    wal_files,
    warning_lines,
)
from helpers.rest import RestClient
from helpers.server import ServerProcess
from helpers.vectors import assert_vec_equal

COLLECTION = "torn"
DIM = 4
BATCHES = 8
BATCH_SIZE = 3
# No background flush: after kill -9 every write exists only as a WAL record.
NO_FLUSH = {"PYDRANT__STORAGE__FLUSH_INTERVAL_SEC": "3600"}


def _batch(number: int) -> list[dict[str, Any]]:
    return [
        {"id": number * 100 + j, "vector": [float(number), float(j), 0.5, -0.25],
         "payload": {"batch": number, "j": j, "note": f"batch {number} point {j}"}}
        for j in range(BATCH_SIZE)
    ]


def _write_batches(rest: RestClient, numbers: range) -> None:
    """One upsert request (one WAL record) per batch, alternating wait modes; all acknowledged."""
    for number in numbers:
        wait = "true" if number % 2 else "false"
        result = rest.ok("PUT", f"/collections/{COLLECTION}/points", params={"wait": wait}, json={"points": _batch(number)})
        assert result["status"] in ("acknowledged", "completed")


def _assert_batches(rest: RestClient, present: list[int], absent: list[int]) -> None:
    ids = [p["id"] for n in present + absent for p in _batch(n)]
    found = retrieve_all(rest, COLLECTION, ids)
    for number in present:
        for point in _batch(number):
            record = found.get(point["id"])
            assert record is not None, f"point {point['id']} of acknowledged batch {number} is gone"
            assert record["payload"] == point["payload"]
            assert_vec_equal(record["vector"], point["vector"])
    for number in absent:
        leftovers = [p["id"] for p in _batch(number) if p["id"] in found]
        assert not leftovers, f"points {leftovers} of dropped batch {number} are still served"
    live = {p["id"] for n in present for p in _batch(n)}
    assert exact_count(rest, COLLECTION) == len(live)
    assert sorted(scroll_ids(rest, COLLECTION)) == sorted(live)


def _start_with_unflushed_wal(server_factory: Callable[..., ServerProcess]) -> ServerProcess:
    """A stopped (killed) server whose collection holds BATCHES records in its WAL only."""
    server = server_factory(env=NO_FLUSH)
    rest = RestClient(server.url)
    rest.ok("PUT", f"/collections/{COLLECTION}", json={"vectors": {"size": DIM, "distance": "Dot"}})
    _write_batches(rest, range(BATCHES))
    rest.close()
    server.kill()
    return server


def _truncate_tail(path: Path) -> None:
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.truncate(size - 5)


def _flip_byte_in_last_record(path: Path) -> None:
    data = bytearray(path.read_bytes())
    # 10 bytes from the end lies inside the last record's payload (a 3-point upsert is far longer).
    data[-10] ^= 0x5A
    path.write_bytes(bytes(data))


def _append_garbage(path: Path) -> None:
    with open(path, "ab") as f:
        f.write(random.Random(7).randbytes(333))


def _append_zeros(path: Path) -> None:
    # What a filesystem can leave after power loss: the size grew, the data never arrived.
    with open(path, "ab") as f:
        f.write(bytes(4096))


DAMAGE = {
    "torn_last_record": (_truncate_tail, False),
    "corrupt_last_record": (_flip_byte_in_last_record, False),
    "garbage_after_last_record": (_append_garbage, True),
    "zeros_after_last_record": (_append_zeros, True),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damaged_wal_tail_is_dropped_with_a_warning(server_factory: Callable[..., ServerProcess], damage: str) -> None:
    damage_file, last_batch_survives = DAMAGE[damage]
    server = _start_with_unflushed_wal(server_factory)
    collection_dir = only_collection_dir(server.storage_dir)
    wals = wal_files(collection_dir)
    assert wals, f"no WAL files in {collection_dir}"
    damage_file(wals[-1])

    server.start()
    warnings = warning_lines(log_of_last_start(server), "WAL")
    assert warnings, f"no WARNING about the damaged WAL tail in the server log\n{server.log_tail()}"
    rest = RestClient(server.url)
    if last_batch_survives:
        _assert_batches(rest, present=list(range(BATCHES)), absent=[])
    else:
        _assert_batches(rest, present=list(range(BATCHES - 1)), absent=[BATCHES - 1])

    # The damage must be cut off, not left in front of new records: writes made now survive
    # the next crash, and that recovery finds a clean log.
    _write_batches(rest, range(BATCHES, BATCHES + 3))
    rest.close()
    server.kill()
    server.start()
    assert not warning_lines(log_of_last_start(server), "WAL"), (
        f"the WAL was still damaged at the second recovery\n{server.log_tail()}"
    )
    rest = RestClient(server.url)
    survivors = list(range(BATCHES)) if last_batch_survives else list(range(BATCHES - 1))
    dropped = [] if last_batch_survives else [BATCHES - 1]
    _assert_batches(rest, present=survivors + list(range(BATCHES, BATCHES + 3)), absent=dropped)
    rest.close()


def test_clean_kill9_recovery_logs_no_wal_warning(server_factory: Callable[..., ServerProcess]) -> None:
    """Control for the warning check above: an undamaged log recovers silently and completely."""
    server = _start_with_unflushed_wal(server_factory)
    server.start()
    assert not warning_lines(log_of_last_start(server), "WAL"), server.log_tail()
    rest = RestClient(server.url)
    _assert_batches(rest, present=list(range(BATCHES)), absent=[])
    rest.close()


def _temp_name(target: str) -> str:
    return f".tmp-{target}.{uuid.uuid4().hex}"


def test_stale_temp_files_do_not_stop_startup(server_factory: Callable[..., ServerProcess]) -> None:
    server = server_factory(env=NO_FLUSH)
    rest = RestClient(server.url)
    rest.ok("PUT", f"/collections/{COLLECTION}", json={"vectors": {"size": DIM, "distance": "Dot"}})
    rest.ok("POST", "/collections/aliases", json={"actions": [{"create_alias": {"collection_name": COLLECTION, "alias_name": "torn_alias"}}]})
    _write_batches(rest, range(0, 4))
    config_before = rest.ok("GET", f"/collections/{COLLECTION}")["config"]
    rest.close()
    server.stop()  # clean stop: segments and manifest.json are written
    server.start()
    rest = RestClient(server.url)
    _write_batches(rest, range(4, 8))  # these live in the WAL only
    rest.close()
    server.kill()

    storage = server.storage_dir
    collection_dir = only_collection_dir(storage)
    manifest = (collection_dir / "manifest.json").read_bytes()
    assert manifest, "a clean stop should have written manifest.json"
    # Leftovers of atomic writes interrupted before their rename: torn or garbage content.
    (collection_dir / _temp_name("manifest.json")).write_bytes(manifest[: len(manifest) // 2])
    (collection_dir / _temp_name("config.json")).write_bytes(b'{"name": "torn", "conf')
    (storage / _temp_name("aliases.json")).write_bytes(b'{"torn_al')
    segment_dirs = [p for p in (collection_dir / "segments").iterdir() if p.is_dir()]
    assert segment_dirs, f"no segment directories in {collection_dir}"
    (segment_dirs[0] / _temp_name("payloads.99.msgpack")).write_bytes(b"\x93\x01")
    # A collection create that crashed before its config.json was renamed into place.
    half_created = storage / "collections" / uuid.uuid4().hex
    half_created.mkdir()
    (half_created / _temp_name("config.json")).write_bytes(b'{"name": "ghost", "config": {')

    server.start()
    rest = RestClient(server.url)
    _assert_batches(rest, present=list(range(8)), absent=[])
    assert rest.ok("GET", f"/collections/{COLLECTION}")["config"] == config_before
    names = sorted(c["name"] for c in rest.ok("GET", "/collections")["collections"])
    assert names == [COLLECTION], "the half-created collection must not appear"
    assert rest.ok("GET", "/aliases")["aliases"] == [{"alias_name": "torn_alias", "collection_name": COLLECTION}]
    rest.close()

    # And the next flush (clean stop) and start still work on that directory.
    server.stop()
    server.start()
    rest = RestClient(server.url)
    _assert_batches(rest, present=list(range(8)), absent=[])
    rest.close()
    assert len(collection_dirs(storage)) == 1
