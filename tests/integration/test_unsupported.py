"""What pydrant does not implement answers a clear 400 saying so, and changes nothing."""

from __future__ import annotations

from helpers.rest import RestClient


def test_init_from_is_refused(rest: RestClient, collection_name: str) -> None:
    message = rest.error("PUT", f"/collections/{collection_name}", 400,
                         json={"vectors": {"size": 2, "distance": "Dot"}, "init_from": {"collection": "other"}})
    assert "init_from" in message
    assert rest.ok("GET", f"/collections/{collection_name}/exists") == {"exists": False}


def test_custom_sharding_is_refused(rest: RestClient, collection_name: str) -> None:
    message = rest.error("PUT", f"/collections/{collection_name}", 400,
                         json={"vectors": {"size": 2, "distance": "Dot"}, "sharding_method": "custom"})
    assert "sharding" in message
    assert rest.ok("GET", f"/collections/{collection_name}/exists") == {"exists": False}


def test_shard_and_cluster_endpoints_say_not_supported(rest: RestClient, collection_name: str) -> None:
    rest.ok("PUT", f"/collections/{collection_name}", json={"vectors": {"size": 2, "distance": "Dot"}})
    for method, path in [
        ("GET", "/issues"),
        ("GET", f"/collections/{collection_name}/shards"),
        ("POST", f"/collections/{collection_name}/cluster"),
    ]:
        message = rest.error(method, path, 400)
        assert "not supported" in message.lower(), (method, path, message)


def test_cluster_operations_on_a_standalone_node_are_not_allowed(rest: RestClient) -> None:
    """As Qdrant on a single node: 405, saying so, rather than a refusal as unsupported."""
    for method, path in [("POST", "/cluster/recover"), ("DELETE", "/cluster/peer/1")]:
        message = rest.error(method, path, 405)
        assert "standalone mode" in message, (method, path, message)
    assert rest.ok("GET", "/cluster")["status"] == "disabled"
