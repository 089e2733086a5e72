"""Collection aliases: create/delete/rename actions, listings, and using an alias for point operations."""

from __future__ import annotations

from typing import Any, Iterator

import pytest
from qdrant_client import models

from helpers.rest import RestClient

WAIT = {"wait": "true"}


def aliases_action(rest: RestClient, *actions: dict[str, Any]) -> None:
    assert rest.ok("POST", "/collections/aliases", json={"actions": list(actions)}) is True


def all_aliases(rest: RestClient) -> set[tuple[str, str]]:
    return {(a["alias_name"], a["collection_name"]) for a in rest.ok("GET", "/aliases")["aliases"]}


def aliases_of(rest: RestClient, name: str) -> set[tuple[str, str]]:
    return {(a["alias_name"], a["collection_name"])
            for a in rest.ok("GET", f"/collections/{name}/aliases")["aliases"]}


@pytest.fixture
def pair(rest: RestClient, collection_name: str) -> Iterator[tuple[str, str]]:
    """Two collections, `a` holding point 1 and `b` holding point 2; aliases cleaned up after."""
    a, b = collection_name + "_a", collection_name + "_b"
    for name, pid in ((a, 1), (b, 2)):
        rest.ok("PUT", f"/collections/{name}", json={"vectors": {"size": 2, "distance": "Dot"}})
        rest.ok("PUT", f"/collections/{name}/points", params=WAIT,
                json={"points": [{"id": pid, "vector": [1.0, float(pid)], "payload": {"in": name}}]})
    yield a, b
    for name in (a, b):
        rest.ok("DELETE", f"/collections/{name}")


def test_create_alias_and_list(rest: RestClient, pair: tuple[str, str]) -> None:
    a, b = pair
    alias = a + "_alias"
    aliases_action(rest, {"create_alias": {"collection_name": a, "alias_name": alias}})
    assert (alias, a) in all_aliases(rest)
    assert aliases_of(rest, a) == {(alias, a)}
    assert aliases_of(rest, b) == set()


def test_alias_serves_point_operations(rest: RestClient, pair: tuple[str, str]) -> None:
    a, _ = pair
    alias = a + "_alias"
    aliases_action(rest, {"create_alias": {"collection_name": a, "alias_name": alias}})
    assert rest.ok("GET", f"/collections/{alias}/points/1")["payload"] == {"in": a}
    rest.ok("PUT", f"/collections/{alias}/points", params=WAIT,
            json={"points": [{"id": 10, "vector": [0.0, 1.0], "payload": {"via": "alias"}}]})
    assert rest.ok("GET", f"/collections/{a}/points/10")["payload"] == {"via": "alias"}
    got = rest.ok("POST", f"/collections/{alias}/points", json={"ids": [1, 10]})
    assert {p["id"] for p in got} == {1, 10}
    rest.ok("POST", f"/collections/{alias}/points/delete", params=WAIT, json={"points": [10]})
    rest.error("GET", f"/collections/{a}/points/10", 404)
    assert rest.ok("GET", f"/collections/{alias}")["points_count"] == 1


def test_alias_is_not_a_collection_in_listings(rest: RestClient, pair: tuple[str, str]) -> None:
    a, _ = pair
    alias = a + "_alias"
    aliases_action(rest, {"create_alias": {"collection_name": a, "alias_name": alias}})
    names = {c["name"] for c in rest.ok("GET", "/collections")["collections"]}
    assert a in names and alias not in names


def test_switch_alias_atomically(rest: RestClient, pair: tuple[str, str]) -> None:
    a, b = pair
    alias = a + "_prod"
    aliases_action(rest, {"create_alias": {"collection_name": a, "alias_name": alias}})
    # Qdrant's blue-green switch: delete + create in one request.
    aliases_action(rest,
                   {"delete_alias": {"alias_name": alias}},
                   {"create_alias": {"collection_name": b, "alias_name": alias}})
    assert aliases_of(rest, a) == set()
    assert aliases_of(rest, b) == {(alias, b)}
    assert rest.ok("GET", f"/collections/{alias}/points/2")["payload"] == {"in": b}
    rest.error("GET", f"/collections/{alias}/points/1", 404)


def test_create_alias_over_existing_alias_repoints_it(rest: RestClient, pair: tuple[str, str]) -> None:
    a, b = pair
    alias = a + "_x"
    aliases_action(rest, {"create_alias": {"collection_name": a, "alias_name": alias}})
    aliases_action(rest, {"create_alias": {"collection_name": b, "alias_name": alias}})
    assert (alias, b) in all_aliases(rest)
    assert (alias, a) not in all_aliases(rest)


def test_rename_alias(rest: RestClient, pair: tuple[str, str]) -> None:
    a, _ = pair
    old, new = a + "_old", a + "_new"
    aliases_action(rest, {"create_alias": {"collection_name": a, "alias_name": old}})
    aliases_action(rest, {"rename_alias": {"old_alias_name": old, "new_alias_name": new}})
    assert aliases_of(rest, a) == {(new, a)}
    assert rest.ok("GET", f"/collections/{new}/points/1")["id"] == 1
    msg = rest.error("GET", f"/collections/{old}/points/1", 404)
    assert msg == f"Not found: Collection `{old}` doesn't exist!"


def test_delete_alias(rest: RestClient, pair: tuple[str, str]) -> None:
    a, _ = pair
    alias = a + "_gone"
    aliases_action(rest, {"create_alias": {"collection_name": a, "alias_name": alias}})
    aliases_action(rest, {"delete_alias": {"alias_name": alias}})
    assert aliases_of(rest, a) == set()
    assert (alias, a) not in all_aliases(rest)
    rest.error("GET", f"/collections/{alias}", 404)
    assert rest.ok("GET", f"/collections/{a}/exists") == {"exists": True}


def test_alias_to_missing_collection_is_404(rest: RestClient, collection_name: str) -> None:
    msg = rest.error("POST", "/collections/aliases", 404,
                     json={"actions": [{"create_alias": {"collection_name": collection_name, "alias_name": "orphan_" + collection_name}}]})
    assert msg == f"Not found: Collection `{collection_name}` doesn't exist!"


def test_alias_named_like_a_collection_is_rejected(rest: RestClient, pair: tuple[str, str]) -> None:
    a, b = pair
    resp = rest.post("/collections/aliases", json={"actions": [{"create_alias": {"collection_name": a, "alias_name": b}}]})
    assert resp.status_code == 409
    assert resp.json()["status"]["error"] == f"Wrong input: Collection `{b}` already exists!"
    assert aliases_of(rest, a) == set()


def test_collection_named_like_an_alias_is_rejected(rest: RestClient, pair: tuple[str, str]) -> None:
    a, _ = pair
    alias = "al_" + a
    rest.ok("POST", "/collections/aliases", json={"actions": [{"create_alias": {"collection_name": a, "alias_name": alias}}]})
    message = rest.error("PUT", f"/collections/{alias}", 400, json={"vectors": {"size": 2, "distance": "Dot"}})
    assert message == f"Wrong input: Alias `{alias}` already exists!"
    assert aliases_of(rest, a) == {(alias, a)}


def test_deleting_collection_drops_its_aliases(rest: RestClient, collection_name: str) -> None:
    rest.ok("PUT", f"/collections/{collection_name}", json={"vectors": {"size": 2, "distance": "Dot"}})
    alias = collection_name + "_al"
    aliases_action(rest, {"create_alias": {"collection_name": collection_name, "alias_name": alias}})
    rest.ok("DELETE", f"/collections/{collection_name}")
    assert all(alias != name for name, _ in all_aliases(rest))
    rest.error("GET", f"/collections/{alias}", 404)


def test_client_aliases(client, collection_name: str) -> None:  # type: ignore[no-untyped-def]
    client.create_collection(collection_name, vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT))
    alias = collection_name + "_cl"
    assert client.update_collection_aliases(change_aliases_operations=[
        models.CreateAliasOperation(create_alias=models.CreateAlias(collection_name=collection_name, alias_name=alias))
    ]) is True
    assert {(a.alias_name, a.collection_name) for a in client.get_collection_aliases(collection_name).aliases} == {
        (alias, collection_name)}
    assert (alias, collection_name) in {(a.alias_name, a.collection_name) for a in client.get_aliases().aliases}
    client.upsert(alias, points=[models.PointStruct(id=1, vector=[1.0, 2.0])], wait=True)
    assert [r.id for r in client.retrieve(collection_name, [1])] == [1]
    client.update_collection_aliases(change_aliases_operations=[
        models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=alias))
    ])
    assert client.get_collection_aliases(collection_name).aliases == []
    client.delete_collection(collection_name)
