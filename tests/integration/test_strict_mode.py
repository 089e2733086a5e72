"""Strict mode over REST (and qdrant-client): each limit refuses what passes its bound with
400 `Bad request: ...`, changes nothing, and lets through what is within it; settings merge as
Qdrant merges them."""

from __future__ import annotations

from typing import Any

import pytest
from helpers.rest import RestClient
from qdrant_client import QdrantClient, models

WAIT = {"wait": "true"}


@pytest.fixture
def coll(rest: RestClient, collection_name: str) -> str:
    rest.ok("PUT", f"/collections/{collection_name}", json={
        "vectors": {"size": 4, "distance": "Dot"},
        "sparse_vectors": {"sparse": {}},
    })
    points = [{"id": i, "vector": {"": [1.0, i / 10, 0.5, 0.1], "sparse": {"indices": [i], "values": [1.0]}},
               "payload": {"city": ["Berlin", "London", "Paris"][i % 3], "price": i, "tags": {"a": i % 2}}}
              for i in range(1, 13)]
    rest.ok("PUT", f"/collections/{collection_name}/points", json={"points": points}, params=WAIT)
    return collection_name


def strict(rest: RestClient, name: str, **config: Any) -> None:
    rest.ok("PATCH", f"/collections/{name}", json={"strict_mode_config": config})


def refused(rest: RestClient, method: str, path: str, **kw: Any) -> str:
    message = rest.error(method, path, 400, **kw)
    assert message.startswith("Bad request: "), message
    return message


def query(rest: RestClient, name: str, body: dict[str, Any], **kw: Any) -> Any:
    return rest.post(f"/collections/{name}/points/query", json={"query": [1.0, 0.0, 0.0, 0.0], **body}, **kw)


def test_config_merges_and_omits_unset_settings(rest: RestClient, coll: str) -> None:
    assert "strict_mode_config" not in rest.ok("GET", f"/collections/{coll}")["config"]
    strict(rest, coll, enabled=True, max_query_limit=10, search_max_oversampling=1.5)
    strict(rest, coll, max_timeout=2, max_query_limit=None)  # null leaves a setting as it was
    config = rest.ok("GET", f"/collections/{coll}")["config"]["strict_mode_config"]
    assert config == {"enabled": True, "max_query_limit": 10, "search_max_oversampling": 1.5, "max_timeout": 2}
    message = rest.error("PATCH", f"/collections/{coll}", 422, json={"strict_mode_config": {"max_query_limit": 0}})
    assert "max_query_limit" in message
    message = rest.error("PATCH", f"/collections/{coll}", 400, json={"strict_mode_config": {"max_resident_memory_percent": 50}})
    assert "max_resident_memory_percent" in message and "not" in message
    assert rest.ok("GET", f"/collections/{coll}")["config"]["strict_mode_config"]["max_query_limit"] == 10


def test_query_limits_apply_only_while_enabled(rest: RestClient, coll: str) -> None:
    strict(rest, coll, enabled=False, max_query_limit=3)
    assert query(rest, coll, {"limit": 4}).status_code == 200
    strict(rest, coll, enabled=True)
    assert query(rest, coll, {"limit": 3}).status_code == 200
    message = refused(rest, "POST", f"/collections/{coll}/points/query", json={"query": [1.0, 0, 0, 0], "limit": 4})
    assert message == 'Bad request: Limit exceeded 4 > 3 for "limit". Help: Reduce the "limit" parameter to or below 3.'
    refused(rest, "POST", f"/collections/{coll}/points/query", json={"query": [1.0, 0, 0, 0]})  # the default is 10
    refused(rest, "POST", f"/collections/{coll}/points/query",
            json={"prefetch": {"query": [1.0, 0, 0, 0], "limit": 5}, "query": {"fusion": "rrf"}, "limit": 2})
    refused(rest, "POST", f"/collections/{coll}/points/scroll", json={})
    assert len(rest.ok("POST", f"/collections/{coll}/points/scroll", json={"limit": 3})["points"]) == 3
    refused(rest, "POST", f"/collections/{coll}/facet", json={"key": "city", "limit": 4})
    message = refused(rest, "POST", f"/collections/{coll}/points/query/groups",
                      json={"query": [1.0, 0, 0, 0], "group_by": "city", "limit": 2, "group_size": 2})
    assert 'Limit exceeded 4 > 3 for "limit"' in message
    message = refused(rest, "POST", f"/collections/{coll}/points/search/matrix/pairs", json={"sample": 2, "limit": 2})
    assert 'Limit exceeded 4 > 3 for "limit"' in message
    strict(rest, coll, search_max_batchsize=1)
    searches = [{"query": [1.0, 0, 0, 0], "limit": 1}] * 2
    message = refused(rest, "POST", f"/collections/{coll}/points/query/batch", json={"searches": searches})
    assert "search batch size" in message
    assert len(rest.ok("POST", f"/collections/{coll}/points/query/batch", json={"searches": searches[:1]})) == 1


def test_timeout_exact_hnsw_ef_and_oversampling(rest: RestClient, coll: str) -> None:
    strict(rest, coll, enabled=True, max_timeout=2, search_allow_exact=False, search_max_hnsw_ef=5,
           search_max_oversampling=2.0)
    assert query(rest, coll, {"limit": 1}, params={"timeout": 2}).status_code == 200
    assert "timeout" in refused(rest, "POST", f"/collections/{coll}/points/query",
                                json={"query": [1.0, 0, 0, 0]}, params={"timeout": 3})
    assert "timeout" in refused(rest, "PUT", f"/collections/{coll}/points", params={"timeout": 3},
                                json={"points": [{"id": 99, "vector": {"": [1.0, 0, 0, 0]}}]})
    assert "Exact search disabled!" in refused(rest, "POST", f"/collections/{coll}/points/query",
                                               json={"query": [1.0, 0, 0, 0], "params": {"exact": True}})
    assert query(rest, coll, {"params": {"exact": False, "hnsw_ef": 5}}).status_code == 200
    assert '"hnsw_ef"' in refused(rest, "POST", f"/collections/{coll}/points/query",
                                  json={"query": [1.0, 0, 0, 0], "params": {"hnsw_ef": 6}})
    message = refused(rest, "POST", f"/collections/{coll}/points/query",
                      json={"query": [1.0, 0, 0, 0], "params": {"quantization": {"oversampling": 2.5}}})
    assert '"oversampling"' in message
    # In a prefetch too.
    assert "Exact search disabled!" in refused(rest, "POST", f"/collections/{coll}/points/query", json={
        "prefetch": {"query": [1.0, 0, 0, 0], "params": {"exact": True}}, "query": {"fusion": "rrf"}})


def test_unindexed_filters_are_refused_until_indexed(rest: RestClient, coll: str) -> None:
    berlin = {"must": [{"key": "city", "match": {"value": "Berlin"}}]}
    strict(rest, coll, enabled=True, unindexed_filtering_retrieve=False, unindexed_filtering_update=False)
    message = refused(rest, "POST", f"/collections/{coll}/points/query", json={"query": [1.0, 0, 0, 0], "filter": berlin})
    assert message == ('Bad request: Index required but not found for "city" of one of the following types: [keyword]. '
                       'Help: Create an index for this key or use a different filter.')
    refused(rest, "POST", f"/collections/{coll}/points/count", json={"filter": berlin})
    refused(rest, "POST", f"/collections/{coll}/points/scroll", json={"filter": berlin, "limit": 2})
    count_before = rest.ok("POST", f"/collections/{coll}/points/count", json={})["count"]
    refused(rest, "POST", f"/collections/{coll}/points/delete", json={"filter": berlin}, params=WAIT)
    refused(rest, "POST", f"/collections/{coll}/points/payload", json={"payload": {"x": 1}, "filter": berlin}, params=WAIT)
    assert rest.ok("POST", f"/collections/{coll}/points/count", json={})["count"] == count_before  # nothing deleted
    # Ranges need a numeric index; nested keys are named by their full path.
    message = refused(rest, "POST", f"/collections/{coll}/points/count", json={"filter": {"must": [{"key": "price", "range": {"gte": 3}}]}})
    assert '"price" of one of the following types: [float, integer]' in message
    nested = {"must": [{"nested": {"key": "tags", "filter": {"must": [{"key": "a", "match": {"value": 1}}]}}}]}
    assert '"tags[].a" of one of the following types: [integer]' in refused(
        rest, "POST", f"/collections/{coll}/points/count", json={"filter": nested})
    # Conditions that need no index pass.
    assert rest.ok("POST", f"/collections/{coll}/points/count", json={"filter": {"must": [{"has_id": [1, 2]}]}})["count"] == 2
    rest.ok("PUT", f"/collections/{coll}/index", json={"field_name": "city", "field_schema": "keyword"}, params=WAIT)
    assert rest.ok("POST", f"/collections/{coll}/points/count", json={"filter": berlin})["count"] == 4
    rest.ok("POST", f"/collections/{coll}/points/delete", json={"filter": berlin}, params=WAIT)
    assert rest.ok("POST", f"/collections/{coll}/points/count", json={})["count"] == count_before - 4
    # A keyword index does not answer a range.
    rest.ok("PUT", f"/collections/{coll}/index", json={"field_name": "price", "field_schema": "keyword"}, params=WAIT)
    refused(rest, "POST", f"/collections/{coll}/points/count", json={"filter": {"must": [{"key": "price", "range": {"gte": 3}}]}})
    # group_by needs an index that answers `match`; a formula's payload variables a numeric one.
    assert '"city"' not in rest.post(f"/collections/{coll}/points/query/groups", json={
        "query": [1.0, 0, 0, 0], "group_by": "city", "limit": 2}).text
    message = refused(rest, "POST", f"/collections/{coll}/points/query", json={
        "prefetch": {"query": [1.0, 0, 0, 0]}, "query": {"formula": {"sum": ["$score", "discount"]}, "defaults": {"discount": 0}}})
    assert '"discount"' in message and "formula expression" in message


def test_filter_size_limits(rest: RestClient, coll: str) -> None:
    strict(rest, coll, enabled=True, filter_max_conditions=2, condition_max_size=3)
    two = {"must": [{"key": "price", "match": {"any": [1, 2, 3]}}, {"key": "city", "match": {"value": "Paris"}}]}
    assert rest.ok("POST", f"/collections/{coll}/points/count", json={"filter": two})["count"] == 1
    three = {"must": two["must"], "should": [{"key": "price", "match": {"value": 1}}]}
    assert "Filter condition limit reached (3 > 2)" in refused(rest, "POST", f"/collections/{coll}/points/count", json={"filter": three})
    big = {"must": [{"key": "price", "match": {"any": [1, 2, 3, 4]}}]}
    assert "Condition size limit reached (4 > 3)" in refused(rest, "POST", f"/collections/{coll}/points/count", json={"filter": big})
    nested = {"must": [{"nested": {"key": "tags", "filter": {"must": [{"key": "a", "match": {"any": [0, 1, 2, 3]}}]}}}]}
    refused(rest, "POST", f"/collections/{coll}/points/count", json={"filter": nested})


def test_write_limits(rest: RestClient, coll: str) -> None:
    strict(rest, coll, enabled=True, upsert_max_batchsize=2)
    three = [{"id": 100 + i, "vector": {"": [1.0, 0, 0, 0]}} for i in range(3)]
    assert "upsert limit" in refused(rest, "PUT", f"/collections/{coll}/points", json={"points": three}, params=WAIT)
    assert "upsert limit" in refused(rest, "POST", f"/collections/{coll}/points/batch",
                                     json={"operations": [{"upsert": {"points": three}}]}, params=WAIT)
    assert "update limit" in refused(rest, "PUT", f"/collections/{coll}/points/vectors",
                                     json={"points": [{"id": i, "vector": {"": [1.0, 0, 0, 0]}} for i in (1, 2, 3)]}, params=WAIT)
    rest.ok("PUT", f"/collections/{coll}/points", json={"points": three[:2]}, params=WAIT)
    assert rest.ok("POST", f"/collections/{coll}/points/count", json={})["count"] == 14  # the refused ones are not there
    strict(rest, coll, sparse_config={"sparse": {"max_length": 2}})
    message = refused(rest, "PUT", f"/collections/{coll}/points", params=WAIT, json={
        "points": [{"id": 200, "vector": {"sparse": {"indices": [1, 2, 3], "values": [0.1, 0.2, 0.3]}}}]})
    assert "Sparse vector 'sparse' has a limit of 2 indices" in message
    strict(rest, coll, max_points_count=14)
    message = refused(rest, "PUT", f"/collections/{coll}/points", json={"points": three[2:]}, params=WAIT)
    assert message == "Bad request: Max points count limit of 14 reached!"
    strict(rest, coll, max_points_count=15, max_collection_vector_size_bytes=14 * 16)
    assert "Max vector storage size limit of" in refused(rest, "PUT", f"/collections/{coll}/points", json={"points": three[2:]}, params=WAIT)
    strict(rest, coll, max_collection_vector_size_bytes=15 * 16, max_collection_payload_size_bytes=10)
    assert "Max payload storage size limit of" in refused(rest, "PUT", f"/collections/{coll}/points", json={"points": three[2:]}, params=WAIT)
    strict(rest, coll, max_collection_payload_size_bytes=10**6, max_collection_vector_size_bytes=10**6)
    rest.ok("PUT", f"/collections/{coll}/points", json={"points": three[2:]}, params=WAIT)  # crosses the limit: allowed
    assert "Max points count limit of 15" in refused(rest, "PUT", f"/collections/{coll}/points",
                                                     json={"points": [{"id": 300, "vector": {"": [1.0, 0, 0, 0]}}]}, params=WAIT)
    strict(rest, coll, max_payload_index_count=1)
    rest.ok("PUT", f"/collections/{coll}/index", json={"field_name": "city", "field_schema": "keyword"}, params=WAIT)
    refused(rest, "PUT", f"/collections/{coll}/index", json={"field_name": "price", "field_schema": "integer"}, params=WAIT)


def test_multivector_limit(rest: RestClient, collection_name: str) -> None:
    rest.ok("PUT", f"/collections/{collection_name}", json={
        "vectors": {"multi": {"size": 2, "distance": "Dot", "multivector_config": {"comparator": "max_sim"}}}})
    strict(rest, collection_name, enabled=True, multivector_config={"multi": {"max_vectors": 2}})
    rest.ok("PUT", f"/collections/{collection_name}/points", params=WAIT,
            json={"points": [{"id": 1, "vector": {"multi": [[1.0, 0.0], [0.0, 1.0]]}}]})
    message = refused(rest, "PUT", f"/collections/{collection_name}/points", params=WAIT,
                      json={"batch": {"ids": [2], "vectors": {"multi": [[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]]}}})
    assert "Multivector 'multi' has a limit of 2 vectors, but 3 were provided!" in message


def test_qdrant_client_sees_the_refusal(client: QdrantClient, rest: RestClient, coll: str) -> None:
    client.update_collection(coll, strict_mode_config=models.StrictModeConfig(enabled=True, max_query_limit=2))
    assert client.get_collection(coll).config.strict_mode_config.max_query_limit == 2
    assert len(client.query_points(coll, query=[1.0, 0, 0, 0], limit=2).points) == 2
    with pytest.raises(Exception, match="Limit exceeded 3 > 2"):
        client.query_points(coll, query=[1.0, 0, 0, 0], limit=3)


def test_grpc_gets_invalid_argument(server: Any, rest: RestClient, coll: str) -> None:
    import grpc
    from helpers.server import HOST

    strict(rest, coll, enabled=True, max_query_limit=2, unindexed_filtering_retrieve=False)
    grpc_client = QdrantClient(host=HOST, port=server.port, grpc_port=server.grpc_port, prefer_grpc=True,
                               check_compatibility=False, timeout=30)
    try:
        assert len(grpc_client.query_points(coll, query=[1.0, 0, 0, 0], limit=2).points) == 2
        with pytest.raises(grpc.RpcError) as raised:
            grpc_client.query_points(coll, query=[1.0, 0, 0, 0], limit=3)
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert 'Limit exceeded 3 > 2 for "limit"' in raised.value.details()
        with pytest.raises(grpc.RpcError, match="Index required but not found for"):
            grpc_client.count(coll, count_filter=models.Filter(must=[
                models.FieldCondition(key="city", match=models.MatchValue(value="Berlin"))]))
    finally:
        grpc_client.close()


def test_rate_limits(rest: RestClient, coll: str) -> None:
    """A limit of N tokens a minute: a request costs its points (writes), ids (retrieve), or one
    plus its filter's conditions (scroll, count); 429 with Retry-After when they are used up."""
    strict(rest, coll, enabled=True, write_rate_limit=10, read_rate_limit=4)
    eleven = [{"id": 500 + i, "vector": {"": [1.0, 0, 0, 0]}} for i in range(11)]
    resp = rest.post(f"/collections/{coll}/points/batch", json={"operations": [{"upsert": {"points": eleven}}]}, params=WAIT)
    assert resp.status_code == 429 and "retry-after" not in resp.headers
    assert "Write rate limit exceeded, request larger than than rate limiter capacity, please try to split your request" in resp.json()["status"]["error"]
    rest.ok("PUT", f"/collections/{coll}/points", json={"points": eleven[:10]}, params=WAIT)
    resp = rest.put(f"/collections/{coll}/points", json={"points": eleven[:2]}, params=WAIT)
    assert resp.status_code == 429
    assert resp.json()["status"]["error"].startswith(
        "Rate limiting exceeded: Write rate limit exceeded: Operation requires 2 tokens but only 0.0 were available. Retry after ")
    assert 6 <= int(resp.headers["retry-after"]) <= 12  # 10 tokens a minute: one every 6 s
    assert rest.ok("POST", f"/collections/{coll}/points/count", json={})["count"] == 22  # the refused two are not there
    resp = rest.post(f"/collections/{coll}/points", json={"ids": [1, 2, 3, 4, 5]})
    assert resp.status_code == 429 and "request larger than than rate limiter capacity" in resp.json()["status"]["error"]
    assert len(rest.ok("POST", f"/collections/{coll}/points", json={"ids": [1, 2, 3]})) == 3
    two_conditions = {"must": [{"has_id": [1]}, {"has_id": [1, 2]}]}
    resp = rest.post(f"/collections/{coll}/points/scroll", json={"filter": two_conditions})
    # The count above took one token, the retrieve three: none left, 4 a minute come back.
    assert resp.status_code == 429 and "Operation requires 3 tokens but only 0.0 were available" in resp.json()["status"]["error"]
    assert 40 <= int(resp.headers["retry-after"]) <= 45
    strict(rest, coll, enabled=False)
    rest.ok("POST", f"/collections/{coll}/points/scroll", json={"filter": two_conditions})


def test_a_filtered_write_costs_the_points_it_is_expected_to_touch(rest: RestClient, coll: str) -> None:
    """As Qdrant: one token per point the filter is expected to match (an index counts them;
    a condition no index answers is expected to match half the points), at least one."""
    rest.ok("PUT", f"/collections/{coll}/index", json={"field_name": "city", "field_schema": "keyword"}, params=WAIT)
    strict(rest, coll, enabled=True, write_rate_limit=12)
    unindexed = {"must": [{"key": "City", "match": {"value": "Berlin"}}]}  # no index on `City`: 12 / 2
    rest.ok("POST", f"/collections/{coll}/points/payload", json={"payload": {"x": 1}, "filter": unindexed}, params=WAIT)
    berlin = {"must": [{"key": "city", "match": {"value": "Berlin"}}]}  # the index counts 4
    rest.ok("POST", f"/collections/{coll}/points/payload", json={"payload": {"x": 2}, "filter": berlin}, params=WAIT)
    resp = rest.post(f"/collections/{coll}/points/payload", json={"payload": {"x": 3}, "filter": unindexed}, params=WAIT)
    assert resp.status_code == 429
    assert "Write rate limit exceeded: Operation requires 6 tokens but only 2." in resp.json()["status"]["error"]
    none = {"must": [{"key": "city", "match": {"value": "Atlantis"}}]}  # matches nothing: still one token
    rest.ok("POST", f"/collections/{coll}/points/delete", json={"filter": none}, params=WAIT)
    resp = rest.post(f"/collections/{coll}/points/delete", json={"filter": berlin}, params=WAIT)
    assert resp.status_code == 429 and "Operation requires 4 tokens but only 1." in resp.json()["status"]["error"]
    assert rest.ok("POST", f"/collections/{coll}/points/count", json={"filter": berlin})["count"] == 4


def test_a_batch_is_charged_as_one_read(rest: RestClient, coll: str) -> None:
    """A query batch costs the sum of its searches, taken at once before any of them runs: a
    batch larger than the limit is refused without spending tokens, and Retry-After is the
    wait for the whole batch."""
    strict(rest, coll, enabled=True, read_rate_limit=2)
    search = {"query": [1.0, 0, 0, 0], "limit": 1}
    resp = rest.post(f"/collections/{coll}/points/query/batch", json={"searches": [search] * 3})
    assert resp.status_code == 429 and "request larger than than rate limiter capacity" in resp.json()["status"]["error"]
    assert len(rest.ok("POST", f"/collections/{coll}/points/query/batch", json={"searches": [search] * 2})) == 2
    resp = rest.post(f"/collections/{coll}/points/query/batch", json={"searches": [search] * 2})
    assert resp.status_code == 429 and "Operation requires 2 tokens but only 0.0 were available" in resp.json()["status"]["error"]
    assert 55 <= int(resp.headers["retry-after"]) <= 60  # two tokens at two a minute


def test_grpc_rate_limit_carries_retry_after(server: Any, rest: RestClient, coll: str) -> None:
    from helpers.server import HOST
    from qdrant_client.common.client_exceptions import ResourceExhaustedResponse

    strict(rest, coll, enabled=True, read_rate_limit=1)
    grpc_client = QdrantClient(host=HOST, port=server.port, grpc_port=server.grpc_port, prefer_grpc=True,
                               check_compatibility=False, timeout=30)
    try:
        grpc_client.count(coll)
        with pytest.raises(ResourceExhaustedResponse) as raised:
            grpc_client.count(coll)
        assert 55 <= raised.value.retry_after_s <= 60
    finally:
        grpc_client.close()


def test_without_exact_search_a_vector_search_needs_a_graph(rest: RestClient, collection_name: str) -> None:
    rest.ok("PUT", f"/collections/{collection_name}", json={
        "vectors": {"size": 2, "distance": "Dot"}, "hnsw_config": {"m": 0, "payload_m": 16}})
    rest.ok("PUT", f"/collections/{collection_name}/points", params=WAIT, json={
        "points": [{"id": 1, "vector": [1.0, 0.0], "payload": {"group": "a"}}]})
    rest.ok("PUT", f"/collections/{collection_name}/index", params=WAIT,
            json={"field_name": "group", "field_schema": {"type": "keyword", "is_tenant": True}})
    assert len(rest.ok("POST", f"/collections/{collection_name}/points/query", json={"query": [1.0, 0.0]})["points"]) == 1
    strict(rest, collection_name, enabled=True, search_allow_exact=False)
    message = refused(rest, "POST", f"/collections/{collection_name}/points/query", json={"query": [1.0, 0.0]})
    assert "because global vector indexing is disabled (hnsw_config.m = 0)" in message
    tenant = {"must": [{"key": "group", "match": {"value": "a"}}]}
    found = rest.ok("POST", f"/collections/{collection_name}/points/query", json={"query": [1.0, 0.0], "filter": tenant})
    assert [p["id"] for p in found["points"]] == [1]
    # Scroll, order_by and fusion over prefetches search no vectors of their own.
    rest.ok("POST", f"/collections/{collection_name}/points/scroll", json={"limit": 1})
