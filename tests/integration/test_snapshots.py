"""Snapshots over REST and qdrant-client: create, list, download, delete, recover from a file, a
URL or an upload (into the same or another name, over an existing collection), full snapshots,
Qdrant's refusals. A recovered collection holds exactly what the snapshot did and keeps taking
writes across a restart."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Callable

import httpx
import pytest
from helpers.rest import RestClient
from helpers.server import ServerProcess, wait_until

DIM = 4
CREATE = {
    "vectors": {"dense": {"size": DIM, "distance": "Cosine"}},
    "sparse_vectors": {"words": {}},
    "optimizers_config": {"indexing_threshold": 0},
}


def _points(start: int, count: int, tag: str) -> list[dict[str, Any]]:
    return [
        {
            "id": i,
            "vector": {"dense": [float(i % 5), 1.0, float(i % 3), 0.5],
                       "words": {"indices": [i % 7, 10 + i % 4], "values": [1.0, 0.25 * (i % 4 + 1)]}},
            "payload": {"tag": tag, "n": i, "nested": {"k": [i, i + 1]}},
        }
        for i in range(start, start + count)
    ]


def _fill(rest: RestClient, name: str, count: int = 60) -> None:
    rest.ok("PUT", f"/collections/{name}", json=CREATE)
    rest.ok("PUT", f"/collections/{name}/index", params={"wait": "true"},
            json={"field_name": "tag", "field_schema": "keyword"})
    rest.ok("PUT", f"/collections/{name}/points", params={"wait": "true"}, json={"points": _points(0, count, "a")})
    rest.ok("POST", f"/collections/{name}/points/delete", params={"wait": "true"}, json={"points": [0]})
    rest.ok("POST", f"/collections/{name}/points/payload", params={"wait": "true"},
            json={"payload": {"extra": True}, "points": [1, 2]})


def _state(rest: RestClient, name: str) -> list[dict[str, Any]]:
    page = rest.ok("POST", f"/collections/{name}/points/scroll",
                   json={"limit": 1000, "with_payload": True, "with_vector": True})
    assert page["next_page_offset"] is None
    return page["points"]  # type: ignore[no-any-return]


def _snapshot(rest: RestClient, name: str) -> dict[str, Any]:
    return rest.ok("POST", f"/collections/{name}/snapshots", params={"wait": "true"})  # type: ignore[no-any-return]


def _snapshot_file(server: ServerProcess, name: str, snapshot: str) -> Path:
    return server.storage_dir / "snapshots" / name / snapshot


def test_create_list_download_delete(rest: RestClient, collection_name: str) -> None:
    _fill(rest, collection_name)
    assert rest.ok("GET", f"/collections/{collection_name}/snapshots") == []
    made = _snapshot(rest, collection_name)
    assert made["name"].startswith(f"{collection_name}-") and made["name"].endswith(".snapshot")
    assert made["size"] > 0 and len(made["checksum"]) == 64
    listed = rest.ok("GET", f"/collections/{collection_name}/snapshots")
    assert listed == [made]

    resp = rest.get(f"/collections/{collection_name}/snapshots/{made['name']}")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/octet-stream"
    assert len(resp.content) == made["size"]
    assert hashlib.sha256(resp.content).hexdigest() == made["checksum"]

    assert rest.ok("DELETE", f"/collections/{collection_name}/snapshots/{made['name']}", params={"wait": "true"}) is True
    assert rest.ok("GET", f"/collections/{collection_name}/snapshots") == []
    message = rest.error("DELETE", f"/collections/{collection_name}/snapshots/{made['name']}", 404)
    assert made["name"] in message
    rest.error("GET", f"/collections/{collection_name}/snapshots/{made['name']}", 404)


def test_two_snapshots_in_one_second_get_two_names(rest: RestClient, collection_name: str) -> None:
    _fill(rest, collection_name, 5)
    first, second = _snapshot(rest, collection_name), _snapshot(rest, collection_name)
    assert first["name"] != second["name"]
    assert {s["name"] for s in rest.ok("GET", f"/collections/{collection_name}/snapshots")} == {first["name"], second["name"]}


def test_snapshot_of_a_missing_collection_is_404(rest: RestClient, collection_name: str) -> None:
    rest.error("POST", f"/collections/{collection_name}/snapshots", 404)
    rest.error("GET", f"/collections/{collection_name}/snapshots", 404)


def test_recover_from_file_location_restores_everything(rest: RestClient, server: ServerProcess, collection_name: str) -> None:
    _fill(rest, collection_name)
    before = _state(rest, collection_name)
    info_before = rest.ok("GET", f"/collections/{collection_name}")
    made = _snapshot(rest, collection_name)
    rest.ok("PUT", f"/collections/{collection_name}/points", params={"wait": "true"}, json={"points": _points(100, 5, "late")})
    rest.ok("DELETE", f"/collections/{collection_name}")

    location = _snapshot_file(server, collection_name, made["name"]).as_uri()
    assert rest.ok("PUT", f"/collections/{collection_name}/snapshots/recover",
                   json={"location": location, "checksum": made["checksum"]}) is True
    assert _state(rest, collection_name) == before
    info = rest.ok("GET", f"/collections/{collection_name}")
    assert info["config"] == info_before["config"]
    assert info["payload_schema"] == info_before["payload_schema"]
    hits = rest.ok("POST", f"/collections/{collection_name}/points/query",
                   json={"query": {"indices": [1, 11], "values": [1.0, 1.0]}, "using": "words", "limit": 3,
                         "filter": {"must": [{"key": "tag", "match": {"value": "a"}}]}})["points"]
    assert len(hits) == 3
    # The recovered collection takes writes, as any other.
    rest.ok("PUT", f"/collections/{collection_name}/points", params={"wait": "true"}, json={"points": _points(200, 3, "new")})
    assert len(_state(rest, collection_name)) == len(before) + 3


def test_wrong_checksum_recovers_nothing(rest: RestClient, server: ServerProcess, collection_name: str) -> None:
    _fill(rest, collection_name, 10)
    made = _snapshot(rest, collection_name)
    rest.ok("DELETE", f"/collections/{collection_name}")
    location = _snapshot_file(server, collection_name, made["name"]).as_uri()
    message = rest.error("PUT", f"/collections/{collection_name}/snapshots/recover", 400,
                         json={"location": location, "checksum": "3" * 64})
    assert "checksum" in message.lower()
    assert rest.ok("GET", f"/collections/{collection_name}/exists") == {"exists": False}


def test_recover_over_an_existing_collection_replaces_it_and_keeps_aliases(rest: RestClient, server: ServerProcess,
                                                                             collection_name: str) -> None:
    _fill(rest, collection_name, 20)
    before = _state(rest, collection_name)
    made = _snapshot(rest, collection_name)
    alias = f"{collection_name}_alias"
    rest.ok("POST", "/collections/aliases", json={"actions": [{"create_alias": {"collection_name": collection_name, "alias_name": alias}}]})
    rest.ok("PUT", f"/collections/{collection_name}/points", params={"wait": "true"}, json={"points": _points(0, 40, "b")})
    location = _snapshot_file(server, collection_name, made["name"]).as_uri()
    rest.ok("PUT", f"/collections/{collection_name}/snapshots/recover", json={"location": location})
    assert _state(rest, collection_name) == before
    assert _state(rest, alias) == before


def test_recover_from_url_into_another_name(rest: RestClient, server: ServerProcess, collection_name: str) -> None:
    _fill(rest, collection_name, 15)
    before = _state(rest, collection_name)
    made = _snapshot(rest, collection_name)
    url = f"{server.url}/collections/{collection_name}/snapshots/{made['name']}"  # this server's download
    target = f"{collection_name}_copy"
    rest.ok("PUT", f"/collections/{target}/snapshots/recover", json={"location": url, "checksum": made["checksum"]})
    assert _state(rest, target) == before
    assert _state(rest, collection_name) == before  # the source is untouched
    message = rest.error("PUT", f"/collections/{target}/snapshots/recover", 400,
                         json={"location": f"{server.url}/collections/{collection_name}/snapshots/missing.snapshot"})
    assert "download" in message.lower()


def test_recover_from_upload(rest: RestClient, server: ServerProcess, collection_name: str) -> None:
    _fill(rest, collection_name, 12)
    before = _state(rest, collection_name)
    made = _snapshot(rest, collection_name)
    data = rest.get(f"/collections/{collection_name}/snapshots/{made['name']}").content
    target = f"{collection_name}_up"
    resp = httpx.post(f"{server.url}/collections/{target}/snapshots/upload",
                      params={"wait": "true", "priority": "snapshot", "checksum": made["checksum"]},
                      files={"snapshot": ("s.snapshot", data)}, timeout=60)
    assert resp.status_code == 200, resp.text
    assert resp.json()["result"] is True
    assert _state(rest, target) == before

    bad = httpx.post(f"{server.url}/collections/{target}/snapshots/upload", files={"other": ("x", b"1")}, timeout=60)
    assert bad.status_code == 400 and "snapshot" in bad.json()["status"]["error"]
    garbage = httpx.post(f"{server.url}/collections/{target}/snapshots/upload",
                         files={"snapshot": ("s.snapshot", b"not a tar at all")}, timeout=60)
    assert garbage.status_code == 400
    assert _state(rest, target) == before  # a refused upload changes nothing


@pytest.mark.parametrize("location, message", [
    ("file://whatever.snapshot", "Bad request: Invalid snapshot URI, file path must be absolute or on localhost"),
    ("file://./etc/passwd", "Bad request: Invalid snapshot URI, file path must be absolute or on localhost"),
    ("file:///whatever.snapshot", 'Bad request: Snapshot file "/whatever.snapshot" does not exist'),
    ("file://localhost/whatever.snapshot", 'Bad request: Snapshot file "/whatever.snapshot" does not exist'),
])
def test_file_location_refusals_in_qdrants_words(rest: RestClient, location: str, message: str) -> None:
    assert rest.error("PUT", "/collections/somethingthatdoesnotexist/snapshots/recover", 400,
                      json={"location": location}) == message


def test_file_location_outside_the_snapshots_directory_is_refused(rest: RestClient) -> None:
    message = rest.error("PUT", "/collections/somethingthatdoesnotexist/snapshots/recover", 400,
                         json={"location": "file:///etc/passwd"})
    assert message.startswith("Bad request: Snapshot file path must be inside the snapshots directory")


@pytest.mark.parametrize("snapshot", ["..%2F..%2Fetc%2Fpasswd", "passwd", ".hidden.snapshot", "x.snapshot.checksum"])
def test_downloads_never_leave_the_snapshots_directory(rest: RestClient, collection_name: str, snapshot: str) -> None:
    _fill(rest, collection_name, 3)
    made = _snapshot(rest, collection_name)
    assert rest.get(f"/collections/{collection_name}/snapshots/{snapshot}").status_code == 404
    assert rest.get(f"/snapshots/{snapshot}").status_code == 404
    assert rest.get(f"/collections/{collection_name}/snapshots/{made['name']}.checksum").status_code == 404


def test_wait_false_answers_202_and_the_work_happens(rest: RestClient, collection_name: str) -> None:
    _fill(rest, collection_name, 5)
    resp = rest.post(f"/collections/{collection_name}/snapshots", params={"wait": "false"})
    assert resp.status_code == 202 and resp.json()["status"] == "accepted"
    wait_until(lambda: len(rest.ok("GET", f"/collections/{collection_name}/snapshots")) == 1, what="snapshot made")
    name = rest.ok("GET", f"/collections/{collection_name}/snapshots")[0]["name"]
    resp = rest.delete(f"/collections/{collection_name}/snapshots/{name}", params={"wait": "false"})
    assert resp.status_code == 202
    wait_until(lambda: rest.ok("GET", f"/collections/{collection_name}/snapshots") == [], what="snapshot deleted")


def test_full_snapshots(rest: RestClient, collection_name: str) -> None:
    _fill(rest, collection_name, 5)
    before = {s["name"] for s in rest.ok("GET", "/snapshots")}
    made = rest.ok("POST", "/snapshots", params={"wait": "true"})
    assert made["name"].startswith("full-snapshot-")
    assert made["name"] in {s["name"] for s in rest.ok("GET", "/snapshots")}
    data = rest.get(f"/snapshots/{made['name']}").content
    assert hashlib.sha256(data).hexdigest() == made["checksum"]
    # the collection snapshots it was made of are not left behind
    assert rest.ok("GET", f"/collections/{collection_name}/snapshots") == []
    assert rest.ok("DELETE", f"/snapshots/{made['name']}", params={"wait": "true"}) is True
    assert {s["name"] for s in rest.ok("GET", "/snapshots")} == before
    rest.error("DELETE", f"/snapshots/{made['name']}", 404)


def test_a_full_snapshot_is_not_recovered_as_a_collection(rest: RestClient, server: ServerProcess, collection_name: str) -> None:
    _fill(rest, collection_name, 5)
    made = rest.ok("POST", "/snapshots", params={"wait": "true"})
    location = (server.storage_dir / "snapshots" / made["name"]).as_uri()
    message = rest.error("PUT", f"/collections/{collection_name}_x/snapshots/recover", 400, json={"location": location})
    assert "full snapshot" in message
    rest.ok("DELETE", f"/snapshots/{made['name']}")


def test_qdrant_client_snapshot_calls(client: Any, rest: RestClient, server: ServerProcess, collection_name: str) -> None:
    _fill(rest, collection_name, 8)
    before = _state(rest, collection_name)
    made = client.create_snapshot(collection_name)
    assert [s.name for s in client.list_snapshots(collection_name)] == [made.name]
    target = f"{collection_name}_qc"
    assert client.recover_snapshot(target, _snapshot_file(server, collection_name, made.name).as_uri(),
                                   checksum=made.checksum, wait=True)
    assert _state(rest, target) == before
    assert client.delete_snapshot(collection_name, made.name, wait=True)
    assert client.list_snapshots(collection_name) == []
    full = client.create_full_snapshot()
    assert full.name in [s.name for s in client.list_full_snapshots()]
    assert client.delete_full_snapshot(full.name, wait=True)


def test_recovered_collection_survives_restarts_and_numbers_new_writes_after_the_image(
        server_factory: Callable[..., ServerProcess], tmp_path: Path) -> None:
    """The recovered log continues after the image's last operation: writes made after the
    recovery are replayed after a kill -9, and the image's points are there too."""
    proc = server_factory()
    rest = RestClient(proc.url)
    try:
        _fill(rest, "c", 30)
        made = _snapshot(rest, "c")
        location = (proc.storage_dir / "snapshots" / "c" / made["name"]).as_uri()
        rest.ok("PUT", "/collections/r/snapshots/recover", json={"location": location})
        rest.ok("PUT", "/collections/r/points", params={"wait": "true"}, json={"points": _points(500, 4, "after")})
        expected = _state(rest, "r")
    finally:
        rest.close()
    proc.restart(hard=True)
    rest = RestClient(proc.url)
    try:
        assert _state(rest, "r") == expected
        assert len(expected) == 29 + 4
    finally:
        rest.close()


def test_snapshot_of_an_empty_collection_recovers_empty(rest: RestClient, server: ServerProcess, collection_name: str) -> None:
    rest.ok("PUT", f"/collections/{collection_name}", json=CREATE)
    made = _snapshot(rest, collection_name)
    target = f"{collection_name}_empty"
    location = _snapshot_file(server, collection_name, made["name"]).as_uri()
    rest.ok("PUT", f"/collections/{target}/snapshots/recover", json={"location": location})
    assert _state(rest, target) == []
    assert rest.ok("GET", f"/collections/{target}")["config"] == rest.ok("GET", f"/collections/{collection_name}")["config"]


def test_snapshots_over_grpc(rest: RestClient, server: ServerProcess, collection_name: str) -> None:
    from qdrant_client import QdrantClient

    _fill(rest, collection_name, 6)
    g = QdrantClient(host="127.0.0.1", port=server.port, grpc_port=server.grpc_port, prefer_grpc=True,
                     check_compatibility=False, timeout=30)
    try:
        made = g.create_snapshot(collection_name)
        assert made is not None and made.checksum and made.size > 0
        listed = g.list_snapshots(collection_name)
        assert [(s.name, s.size, s.checksum) for s in listed] == [(made.name, made.size, made.checksum)]
        assert listed[0].creation_time
        g.delete_snapshot(collection_name, made.name)
        assert g.list_snapshots(collection_name) == []
        full = g.create_full_snapshot()
        assert full is not None and full.name in [s.name for s in g.list_full_snapshots()]
        g.delete_full_snapshot(full.name)
        assert full.name not in [s.name for s in g.list_full_snapshots()]
    finally:
        g.close()


def test_a_snapshot_under_concurrent_writes_is_a_consistent_prefix(rest: RestClient, server: ServerProcess,
                                                                      collection_name: str) -> None:
    """A writer upserts ids 0, 1, 2, ... one at a time while a snapshot is taken: the recovered
    collection holds every write acknowledged before the snapshot request, and no gaps (each
    point is a whole write, and writes are applied in order)."""
    import threading

    rest.ok("PUT", f"/collections/{collection_name}", json=CREATE)
    acked: list[int] = []
    stop = threading.Event()

    def writer() -> None:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            i = 0
            while not stop.is_set():
                resp = http.put(f"/collections/{collection_name}/points", params={"wait": "true"},
                                json={"points": _points(i, 1, "w")})
                assert resp.status_code == 200, resp.text
                acked.append(i)
                i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        wait_until(lambda: len(acked) >= 20, what="writes under way")
        before = len(acked)
        made = _snapshot(rest, collection_name)
        wait_until(lambda: len(acked) >= before + 20, what="writes after the snapshot")
    finally:
        stop.set()
        thread.join(30)
    target = f"{collection_name}_r"
    rest.ok("PUT", f"/collections/{target}/snapshots/recover",
            json={"location": _snapshot_file(server, collection_name, made["name"]).as_uri()})
    ids = sorted(p["id"] for p in _state(rest, target))
    assert ids == list(range(len(ids))), "a gap: the image is not a prefix of the writes"
    assert len(ids) >= before
    assert len(ids) < len(acked)


def test_a_restart_removes_what_interrupted_snapshots_left(server_factory: Callable[..., ServerProcess]) -> None:
    proc = server_factory()
    snapshots = proc.storage_dir / "snapshots"
    (snapshots / ".tmp" / "image-x").mkdir(parents=True)
    (snapshots / "c").mkdir()
    (snapshots / "c" / ".c-1-2026.snapshot.part").touch()
    (snapshots / "c" / "kept.snapshot").write_bytes(b"x")
    proc.restart()
    assert not (snapshots / ".tmp").exists()
    assert not (snapshots / "c" / ".c-1-2026.snapshot.part").exists()
    assert (snapshots / "c" / "kept.snapshot").exists()


def test_shard_zero_snapshots(rest: RestClient, server: ServerProcess, collection_name: str) -> None:
    """Shard 0 is the collection's only shard: its snapshots are listed apart from the
    collection's, and recovering one restores the collection's points."""
    _fill(rest, collection_name, 10)
    before = _state(rest, collection_name)
    shard = f"/collections/{collection_name}/shards/0/snapshots"
    assert rest.ok("GET", shard) == []
    made = rest.ok("POST", shard, params={"wait": "true"})
    assert rest.ok("GET", shard) == [made]
    assert rest.ok("GET", f"/collections/{collection_name}/snapshots") == []
    data = rest.get(f"{shard}/{made['name']}").content
    assert hashlib.sha256(data).hexdigest() == made["checksum"]

    rest.ok("PUT", f"/collections/{collection_name}/points", params={"wait": "true"}, json={"points": _points(0, 10, "changed")})
    assert rest.error("PUT", f"{shard}/recover", 400, json={"location": made["name"], "checksum": "3" * 64}).startswith("Bad request")
    assert rest.ok("PUT", f"{shard}/recover", json={"location": made["name"], "checksum": made["checksum"]}) is True
    assert _state(rest, collection_name) == before
    url = f"{server.url}{shard}/{made['name']}"
    assert rest.ok("PUT", f"{shard}/recover", json={"location": url}) is True
    assert _state(rest, collection_name) == before

    assert rest.ok("DELETE", f"{shard}/{made['name']}", params={"wait": "true"}) is True
    assert rest.ok("GET", shard) == []
    streamed = rest.get(f"/collections/{collection_name}/shards/0/snapshot")
    assert streamed.status_code == 200 and len(streamed.content) > 0
    assert rest.ok("GET", shard) == []  # made for the download only
    upload = httpx.post(f"{server.url}{shard}/upload", files={"snapshot": ("s", streamed.content)}, timeout=60)
    assert upload.status_code == 200, upload.text
    assert _state(rest, collection_name) == before


def test_shard_snapshot_refusals(rest: RestClient, collection_name: str) -> None:
    _fill(rest, collection_name, 3)
    rest.error("PUT", "/collections/somethingthatdoesnotexist/shards/0/snapshots/recover", 404, json={"location": "whatever"})
    rest.error("PUT", f"/collections/{collection_name}/shards/0/snapshots/recover", 400, json={"location": "file:///whatever.snapshot"})
    rest.error("PUT", f"/collections/{collection_name}/shards/0/snapshots/recover", 400, json={"location": "whatever"})
    rest.error("PUT", f"/collections/{collection_name}/shards/0/snapshots/recover", 400, json={"location": "../../../../etc/passwd"})
    rest.error("GET", f"/collections/{collection_name}/shards/1/snapshots", 404)
    rest.error("POST", f"/collections/{collection_name}/shards/1/snapshots", 404)
    for name in ("passwd", "..%2F..%2Fetc%2Fpasswd"):
        assert rest.get(f"/collections/{collection_name}/shards/0/snapshots/{name}").status_code == 404


def test_serve_recovers_full_and_collection_snapshots_at_startup(server_factory: Callable[..., ServerProcess],
                                                                 tmp_path: Path) -> None:
    """`pydrant serve --storage-snapshot FULL` brings back every collection and alias on an empty
    storage; `--snapshot PATH:NAME` one collection; an existing one is kept without
    `--force-snapshot` and replaced with it."""
    source = server_factory()
    rest = RestClient(source.url)
    try:
        _fill(rest, "one", 7)
        _fill(rest, "two", 4)
        rest.ok("POST", "/collections/aliases", json={"actions": [{"create_alias": {"collection_name": "one", "alias_name": "first"}}]})
        states = {name: _state(rest, name) for name in ("one", "two")}
        full = rest.ok("POST", "/snapshots", params={"wait": "true"})
        full_path = tmp_path / "full.snapshot"
        full_path.write_bytes(rest.get(f"/snapshots/{full['name']}").content)
        single = _snapshot(rest, "two")
        single_path = tmp_path / "two.snapshot"
        single_path.write_bytes(rest.get(f"/collections/two/snapshots/{single['name']}").content)
    finally:
        rest.close()

    restored = server_factory(tmp_path / "restored", args=["--storage-snapshot", str(full_path),
                                                           "--snapshot", f"{single_path}:three"])
    rest = RestClient(restored.url)
    try:
        assert {c["name"] for c in rest.ok("GET", "/collections")["collections"]} == {"one", "two", "three"}
        assert _state(rest, "one") == states["one"] and _state(rest, "first") == states["one"]
        assert _state(rest, "two") == states["two"] and _state(rest, "three") == states["two"]
        rest.ok("PUT", "/collections/three/points", params={"wait": "true"}, json={"points": _points(90, 2, "kept")})
        kept = _state(rest, "three")
    finally:
        rest.close()
    restored.stop()

    restored.args = ["--snapshot", f"{single_path}:three"]
    restored.start()
    rest = RestClient(restored.url)
    try:
        assert _state(rest, "three") == kept  # exists: left alone
    finally:
        rest.close()
    restored.stop()
    restored.args = ["--snapshot", f"{single_path}:three", "--force-snapshot"]
    restored.start()
    rest = RestClient(restored.url)
    try:
        assert _state(rest, "three") == states["two"]
    finally:
        rest.close()


@pytest.mark.parametrize("name", ["Ṱ̺̺̕o͞ ̷i̲̬͇̪͙n̝̗͕v̟̜̘̦͟o̶̙̰̠kè͚̮̺̪̹̱̤ ̖t̝͕̳̣̻̪͞h̼͓̲̦̳̘̲e͇̣̰̦̬͎ ̢̼̻̱̘h͚͎͙̜̣̲ͅi̦̲̣̰̤v̻͍e̺̭̳̪̰-m̢iͅn̖̺̞̲̯̰d̵̼̟͙̩̼̘̳ ̞̥̱̳̭r̛̗̘e͙p͠r̼̞̻̭̗e̺̠̣͟s̘͇̳͍̝͉e͉̥̯̞̲͚̬͜ǹ̬͎͎̟̖͇̤t͍̬̤͓̼̭͘ͅi̪̱n͠g̴͉ ͏͉ͅc̬̟h͡a̫̻̯͘o̫̟̖͍̙̝͉s̗̦̲.̨̹͈̣",
                                  "é" * 255, ".hidden", ".tmp"])
def test_snapshots_of_collections_with_long_or_dotted_names(rest: RestClient, server: ServerProcess, name: str,
                                                            collection_name: str) -> None:
    """A name of up to 255 characters can take 1,020 bytes, and file names hold 255: such a
    collection's snapshots (and a full snapshot including it) were a 500 (found by the fuzz
    test). A leading dot hid its snapshots from the list."""
    from urllib.parse import quote

    from pydrant.service.snapshots import file_part

    path = f"/collections/{quote(name)}"
    rest.ok("PUT", path, json=CREATE)
    try:
        rest.ok("PUT", f"{path}/points", params={"wait": "true"}, json={"points": _points(0, 3, "x")})
        before = _state(rest, name)
        made = rest.ok("POST", f"{path}/snapshots", params={"wait": "true"})
        assert rest.ok("GET", f"{path}/snapshots") == [made]
        assert rest.get(f"{path}/snapshots/{quote(made['name'])}").status_code == 200
        full = rest.ok("POST", "/snapshots", params={"wait": "true"})
        rest.ok("DELETE", f"/snapshots/{full['name']}")
        location = (server.storage_dir / "snapshots" / file_part(name) / made["name"]).as_uri()
        rest.ok("PUT", f"/collections/{collection_name}/snapshots/recover", json={"location": location})
        assert _state(rest, collection_name) == before
    finally:
        rest.ok("DELETE", path)
