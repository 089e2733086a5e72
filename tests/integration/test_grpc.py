"""The gRPC front end: qdrant-client with prefer_grpc=True against the real server, every answer
compared with the same call over REST (prefer_grpc=False) on the same server."""

from __future__ import annotations

import functools
import json
import math
import uuid
from typing import Any, Callable, Iterator

import grpc
import numpy as np
import pytest
from qdrant_client import QdrantClient, models
from qdrant_client import grpc as pb
from qdrant_client.http.exceptions import UnexpectedResponse

from helpers.server import HOST, ServerProcess

DIM = 4
UUID_A = str(uuid.UUID(int=0xA))
UUID_B = "6f2c1a9e-3b5d-4c7e-9f01-2a3b4c5d6e7f"


def grpc_client(server: ServerProcess, **kwargs: Any) -> QdrantClient:
    return QdrantClient(host=HOST, port=server.port, grpc_port=server.grpc_port, prefer_grpc=True,
                        check_compatibility=False, timeout=30, **kwargs)


@pytest.fixture(scope="module")
def g(server: ServerProcess) -> Iterator[QdrantClient]:
    qc = grpc_client(server)
    yield qc
    qc.close()


@pytest.fixture
def r(client: QdrantClient) -> QdrantClient:
    """The session's REST client (prefer_grpc=False) on the same server."""
    return client


def plain(value: Any) -> Any:
    """A model as plain data with floats rounded to float32: gRPC carries float32 (0.7 arrives as
    0.699999988079071), REST prints the shortest repr; both are one float32."""
    if hasattr(value, "model_dump"):
        value = value.model_dump()
    if isinstance(value, float):
        return float(np.float32(value))
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def by_id(records: list[Any]) -> dict[Any, Any]:
    return {str(rec.id): plain(rec) for rec in records}


def rpc_error(call: Callable[[], Any]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value


def rest_error(call: Callable[[], Any]) -> tuple[int, str]:
    with pytest.raises(UnexpectedResponse) as caught:
        call()
    return caught.value.status_code, json.loads(caught.value.content)["status"]["error"]


POINTS = [
    models.PointStruct(id=1, vector={"d": [1.0, 0.0, 0.0, 0.0], "s": models.SparseVector(indices=[1, 7], values=[0.5, 0.7])},
                       payload={"color": "red", "n": 1, "tags": ["a", "b"], "none": None}),
    models.PointStruct(id=2, vector={"d": [0.0, 1.0, 0.0, 0.0]}, payload={"color": "green", "n": 2}),
    models.PointStruct(id=UUID_A, vector={"d": [0.5, 0.5, 0.1, 0.0], "s": models.SparseVector(indices=[7], values=[1.5])},
                       payload={"color": "red", "n": 3, "nested": {"k": [1, 2.5, "x"]}}),
    models.PointStruct(id=UUID_B, vector={"d": [0.1, 0.2, 0.3, 0.4]}, payload={"color": "blue", "n": 4}),
    models.PointStruct(id=5, vector={"d": [0.9, 0.1, 0.0, 0.2]}, payload={"color": "red", "n": 5}),
]
IDS = [1, 2, UUID_A, UUID_B, 5]
RED = models.Filter(must=[models.FieldCondition(key="color", match=models.MatchValue(value="red"))])


@pytest.fixture
def coll(g: QdrantClient, collection_name: str) -> str:
    """Named dense (Dot keeps vectors as sent) + sparse vectors, five points, created over gRPC."""
    assert g.create_collection(collection_name, vectors_config={"d": models.VectorParams(size=DIM, distance=models.Distance.DOT)},
                               sparse_vectors_config={"s": models.SparseVectorParams()})
    result = g.upsert(collection_name, POINTS, wait=True)
    assert result.status == models.UpdateStatus.COMPLETED
    return collection_name


def test_health_check_is_rest_root(g: QdrantClient, r: QdrantClient) -> None:
    assert g.info() == r.info()


def test_collection_lifecycle(g: QdrantClient, r: QdrantClient, coll: str) -> None:
    assert g.collection_exists(coll) and not g.collection_exists(coll + "_none")
    assert coll in {c.name for c in g.get_collections().collections}
    assert g.get_collections() == r.get_collections()
    assert plain(g.get_collection(coll)) == plain(r.get_collection(coll))
    assert g.update_collection(coll, optimizers_config=models.OptimizersConfigDiff(indexing_threshold=20000))
    assert r.get_collection(coll).config.optimizer_config.indexing_threshold == 20000

    alias = coll + "_alias"
    assert g.update_collection_aliases([models.CreateAliasOperation(create_alias=models.CreateAlias(collection_name=coll, alias_name=alias))])
    assert g.get_collection_aliases(coll) == r.get_collection_aliases(coll)
    assert models.AliasDescription(alias_name=alias, collection_name=coll) in g.get_aliases().aliases
    assert g.get_aliases() == r.get_aliases()
    assert g.count(alias).count == len(POINTS)  # an alias resolves as over REST
    assert g.update_collection_aliases([models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=alias))])
    assert g.get_collection_aliases(coll).aliases == []

    assert g.delete_collection(coll)
    assert not r.collection_exists(coll)


def test_upsert_retrieve_matches_rest(g: QdrantClient, r: QdrantClient, coll: str) -> None:
    got = g.retrieve(coll, IDS, with_payload=True, with_vectors=True)
    assert by_id(got) == by_id(r.retrieve(coll, IDS, with_payload=True, with_vectors=True))
    assert len(got) == len(POINTS)
    one = by_id(got)["1"]
    assert one["payload"] == {"color": "red", "n": 1, "tags": ["a", "b"], "none": None}
    assert one["vector"]["s"] == {"indices": [1, 7], "values": plain([0.5, 0.7])}
    assert by_id(g.retrieve(coll, [UUID_A], with_payload=["n"], with_vectors=["s"])) == \
        by_id(r.retrieve(coll, [UUID_A], with_payload=["n"], with_vectors=["s"]))


def test_query_with_filter_matches_rest(g: QdrantClient, r: QdrantClient, coll: str) -> None:
    for kwargs in (
        dict(query=[1.0, 0.2, 0.0, 0.1], using="d", query_filter=RED, with_payload=True),
        dict(query=models.SparseVector(indices=[7], values=[1.0]), using="s", with_vectors=True),
        dict(query=models.RecommendQuery(recommend=models.RecommendInput(positive=[1], negative=[2])), using="d", limit=3),
        dict(prefetch=[models.Prefetch(query=[1.0, 0.0, 0.0, 0.0], using="d", limit=4)],
             query=models.FusionQuery(fusion=models.Fusion.RRF), limit=3),
    ):
        grpc_points = g.query_points(coll, **kwargs).points  # type: ignore[arg-type]
        assert grpc_points, kwargs
        assert [plain(p) for p in grpc_points] == [plain(p) for p in r.query_points(coll, **kwargs).points]  # type: ignore[arg-type]
    hits = g.query_points(coll, query=[1.0, 0.2, 0.0, 0.1], using="d", query_filter=RED).points
    assert {str(h.id) for h in hits} == {"1", UUID_A, "5"}

    requests = [models.QueryRequest(query=[0.0, 1.0, 0.0, 0.0], using="d", limit=2),
                models.QueryRequest(query=[1.0, 0.0, 0.0, 0.0], using="d", filter=RED, with_payload=True)]
    assert plain(g.query_batch_points(coll, requests)) == plain(r.query_batch_points(coll, requests))
    groups = dict(query=[1.0, 0.0, 0.0, 0.0], using="d", group_by="color", group_size=2, limit=3, with_payload=True)
    assert plain(g.query_points_groups(coll, **groups)) == plain(r.query_points_groups(coll, **groups))  # type: ignore[arg-type]


def test_legacy_search_and_recommend_are_query_requests(g: QdrantClient, r: QdrantClient, coll: str) -> None:
    """The 1.20 client no longer calls Search/Recommend; older clients do: call the stubs."""
    stub = g.grpc_points
    flt = {"must": [models.FieldCondition(key="color", match=models.MatchValue(value="red"))]}
    grpc_filter = pb.Filter(must=[pb.Condition(field=pb.FieldCondition(key="color", match=pb.Match(keyword="red")))])
    search = stub.Search(pb.SearchPoints(collection_name=coll, vector=[1.0, 0.2, 0.0, 0.1], vector_name="d", limit=2,
                                         filter=grpc_filter, with_payload=pb.WithPayloadSelector(enable=True)), timeout=30)
    expected = r.query_points(coll, query=[1.0, 0.2, 0.0, 0.1], using="d", limit=2, query_filter=models.Filter(**flt), with_payload=True)
    assert [str(p.id.num or p.id.uuid) for p in search.result] == [str(p.id) for p in expected.points]
    assert [p.score for p in search.result] == pytest.approx([p.score for p in expected.points], rel=1e-6)
    assert search.time > 0

    sparse = stub.Search(pb.SearchPoints(collection_name=coll, vector=[1.0], sparse_indices=pb.SparseIndices(data=[7]),
                                         vector_name="s", limit=5), timeout=30)
    expected = r.query_points(coll, query=models.SparseVector(indices=[7], values=[1.0]), using="s", limit=5)
    assert [p.score for p in sparse.result] == pytest.approx([p.score for p in expected.points], rel=1e-6)

    batch = stub.SearchBatch(pb.SearchBatchPoints(collection_name=coll, search_points=[
        pb.SearchPoints(collection_name=coll, vector=[0.0, 1.0, 0.0, 0.0], vector_name="d", limit=1),
        pb.SearchPoints(collection_name=coll, vector=[1.0, 0.0, 0.0, 0.0], vector_name="d", limit=2, offset=1),
    ]), timeout=30)
    assert [p.id.num for p in batch.result[0].result] == [2]
    expected = r.query_points(coll, query=[1.0, 0.0, 0.0, 0.0], using="d", limit=2, offset=1)
    assert [p.id.num or p.id.uuid for p in batch.result[1].result] == [p.id for p in expected.points]
    assert len(expected.points) == 2

    rec = stub.Recommend(pb.RecommendPoints(collection_name=coll, positive=[pb.PointId(num=1)], negative=[pb.PointId(num=2)],
                                            using="d", limit=3, strategy=pb.RecommendStrategy.BestScore), timeout=30)
    expected = r.query_points(coll, query=models.RecommendQuery(recommend=models.RecommendInput(
        positive=[1], negative=[2], strategy=models.RecommendStrategy.BEST_SCORE)), using="d", limit=3)
    assert [p.id.num or p.id.uuid for p in rec.result] == [p.id for p in expected.points]
    assert 1 not in [p.id.num for p in rec.result]  # examples are excluded, as Qdrant's recommend


def test_scroll_pages_and_count_match_rest(g: QdrantClient, r: QdrantClient, coll: str) -> None:
    def pages(qc: QdrantClient, **kwargs: Any) -> list[Any]:
        out, offset = [], None
        while True:
            records, offset = qc.scroll(coll, limit=2, offset=offset, with_vectors=True, **kwargs)
            out.append(([plain(rec) for rec in records], offset))
            if offset is None:
                return out

    grpc_pages = pages(g)
    assert len(grpc_pages) == 3
    assert grpc_pages == pages(r)
    assert [rec["id"] for page, _ in grpc_pages for rec in page] == [1, 2, 5, UUID_A, UUID_B]  # ints, then UUIDs
    assert pages(g, scroll_filter=RED) == pages(r, scroll_filter=RED)
    assert g.count(coll) == r.count(coll) == models.CountResult(count=5)
    assert g.count(coll, count_filter=RED, exact=True).count == r.count(coll, count_filter=RED).count == 3


def test_payload_writes(g: QdrantClient, r: QdrantClient, coll: str) -> None:
    def payload(point_id: Any) -> Any:
        return r.retrieve(coll, [point_id])[0].payload

    g.set_payload(coll, {"extra": {"deep": True}, "n": 10}, points=[1], wait=True)
    assert payload(1) == {"color": "red", "n": 10, "tags": ["a", "b"], "none": None, "extra": {"deep": True}}
    g.set_payload(coll, {"k": 1}, points=[1], key="extra", wait=True)
    assert payload(1)["extra"] == {"deep": True, "k": 1}
    g.set_payload(coll, {"flag": True}, points=RED, wait=True)  # a filter selector
    assert [bool((p.payload or {}).get("flag")) for p in r.retrieve(coll, IDS)] == [True, False, True, False, True]
    g.overwrite_payload(coll, {"only": "this"}, points=[UUID_A], wait=True)
    assert payload(UUID_A) == {"only": "this"}
    g.delete_payload(coll, ["n", "extra"], points=[1], wait=True)
    assert payload(1) == {"color": "red", "tags": ["a", "b"], "none": None, "flag": True}
    g.clear_payload(coll, points_selector=[2], wait=True)
    assert payload(2) == {}
    g.clear_payload(coll, points_selector=models.FilterSelector(filter=RED), wait=True)
    assert payload(5) == {} and payload(1) == {}


def test_non_finite_payload_numbers_are_refused(g: QdrantClient, r: QdrantClient, coll: str) -> None:
    """A gRPC double can be NaN or infinite, a JSON number cannot: refused (as Qdrant), not
    stored as the strings "NaN" / "Infinity". Those strings as strings are kept."""
    before = r.retrieve(coll, [1])[0].payload
    writes = [
        lambda: g.upsert(coll, [models.PointStruct(id=1, vector={"d": [1.0, 0, 0, 0]}, payload={"x": math.nan})], wait=True),
        lambda: g.set_payload(coll, {"deep": {"x": [1, -math.inf]}}, points=[1], wait=True),
        lambda: g.batch_update_points(coll, [models.SetPayloadOperation(set_payload=models.SetPayload(
            payload={"x": math.inf}, points=[1]))], wait=True),
    ]
    for write in writes:
        error = rpc_error(write)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and "cannot convert to json number" in error.details()
    assert r.retrieve(coll, [1])[0].payload == before
    g.set_payload(coll, {"s": "NaN", "t": "-Infinity", "f": 1.5}, points=[1], wait=True)
    assert {k: r.retrieve(coll, [1])[0].payload[k] for k in "stf"} == {"s": "NaN", "t": "-Infinity", "f": 1.5}


def test_payload_index_and_facet(g: QdrantClient, r: QdrantClient, coll: str) -> None:
    assert g.create_payload_index(coll, "color", models.PayloadSchemaType.KEYWORD, wait=True).status == models.UpdateStatus.COMPLETED
    g.create_payload_index(coll, "n", models.IntegerIndexParams(type=models.IntegerIndexType.INTEGER, lookup=True, range=False), wait=True)
    schema = r.get_collection(coll).payload_schema
    assert schema["color"].data_type == models.PayloadSchemaType.KEYWORD and schema["color"].points == 5
    assert schema["n"].data_type == models.PayloadSchemaType.INTEGER
    assert plain(g.get_collection(coll).payload_schema) == plain(schema)
    assert g.facet(coll, "color") == r.facet(coll, "color")
    assert {h.value: h.count for h in g.facet(coll, "color").hits} == {"red": 3, "green": 1, "blue": 1}
    g.delete_payload_index(coll, "n", wait=True)
    assert set(r.get_collection(coll).payload_schema) == {"color"}


def test_vector_writes_and_deletes(g: QdrantClient, r: QdrantClient, coll: str) -> None:
    g.update_vectors(coll, [models.PointVectors(id=2, vector={"s": models.SparseVector(indices=[3], values=[2.0])}),
                            models.PointVectors(id=UUID_B, vector={"d": [4.0, 3.0, 2.0, 1.0]})], wait=True)
    got = by_id(r.retrieve(coll, [2, UUID_B], with_vectors=True))
    assert got["2"]["vector"] == {"d": [0.0, 1.0, 0.0, 0.0], "s": {"indices": [3], "values": [2.0]}}
    assert got[UUID_B]["vector"]["d"] == [4.0, 3.0, 2.0, 1.0]
    g.delete_vectors(coll, ["s"], points=[1, 2], wait=True)
    assert set(r.retrieve(coll, [1], with_vectors=True)[0].vector) == {"d"}  # type: ignore[arg-type]

    g.delete(coll, [2, UUID_A], wait=True)
    g.delete(coll, models.FilterSelector(filter=models.Filter(must=[
        models.FieldCondition(key="n", range=models.Range(gte=5))])), wait=True)
    assert sorted(str(p.id) for p in r.scroll(coll, limit=10)[0]) == sorted(["1", UUID_B])


def test_batch_update(g: QdrantClient, r: QdrantClient, coll: str) -> None:
    results = g.batch_update_points(coll, [
        models.UpsertOperation(upsert=models.PointsList(points=[models.PointStruct(id=10, vector={"d": [1.0, 1.0, 1.0, 1.0]}, payload={"b": 1})])),
        models.SetPayloadOperation(set_payload=models.SetPayload(payload={"c": 2}, points=[10])),
        models.UpdateVectorsOperation(update_vectors=models.UpdateVectors(points=[models.PointVectors(id=10, vector={"d": [2.0, 0.0, 0.0, 0.0]})])),
        models.DeleteOperation(delete=models.PointIdsList(points=[2])),
        models.DeletePayloadOperation(delete_payload=models.DeletePayload(keys=["color"], filter=RED)),
    ], wait=True)
    assert [res.status for res in results] == [models.UpdateStatus.COMPLETED] * 5
    ten = plain(r.retrieve(coll, [10], with_vectors=True)[0])
    assert ten["payload"] == {"b": 1, "c": 2} and ten["vector"]["d"] == [2.0, 0.0, 0.0, 0.0]
    assert r.count(coll).count == 5
    assert r.retrieve(coll, [5])[0].payload == {"n": 5}


def test_wait_false_is_acknowledged(g: QdrantClient, r: QdrantClient, coll: str) -> None:
    result = g.upsert(coll, [models.PointStruct(id=20, vector={"d": [0.0, 0.0, 1.0, 0.0]})], wait=False)
    assert result.status == models.UpdateStatus.ACKNOWLEDGED
    assert result.operation_id is not None
    # a later waiting write is applied after it (one update worker, in order)
    g.set_payload(coll, {"after": True}, points=[20], wait=True)
    assert r.retrieve(coll, [20])[0].payload == {"after": True}


def test_search_matrix(g: QdrantClient, r: QdrantClient, coll: str) -> None:
    kwargs = dict(using="d", sample=5, limit=2)
    assert plain(g.search_matrix_pairs(coll, **kwargs)) == plain(r.search_matrix_pairs(coll, **kwargs))  # type: ignore[arg-type]
    assert plain(g.search_matrix_offsets(coll, **kwargs)) == plain(r.search_matrix_offsets(coll, **kwargs))  # type: ignore[arg-type]


def test_create_and_delete_vector_name(g: QdrantClient, r: QdrantClient, coll: str) -> None:
    g.create_vector_name(coll, "extra", models.DenseVectorNameConfig(dense=models.DenseVectorConfig(size=2, distance=models.Distance.EUCLID)))
    assert r.get_collection(coll).config.params.vectors["extra"].size == 2  # type: ignore[index]
    g.delete_vector_name(coll, "extra")
    assert "extra" not in r.get_collection(coll).config.params.vectors  # type: ignore[operator]


# ---- errors ---------------------------------------------------------------------------------------


def test_missing_collection_is_not_found(g: QdrantClient, r: QdrantClient) -> None:
    for call in (lambda qc: qc.get_collection("no_such_collection"),
                 lambda qc: qc.upsert("no_such_collection", [models.PointStruct(id=1, vector=[1.0])]),
                 lambda qc: qc.query_points("no_such_collection", query=[1.0])):
        err = rpc_error(functools.partial(call, g))
        assert err.code() == grpc.StatusCode.NOT_FOUND
        status, message = rest_error(functools.partial(call, r))
        assert status == 404 and err.details() == message


def test_bad_input_is_invalid_argument_with_rest_message(g: QdrantClient, r: QdrantClient, coll: str) -> None:
    def bad_dim(qc: QdrantClient) -> Any:
        return qc.upsert(coll, [models.PointStruct(id=1, vector={"d": [1.0, 2.0]})], wait=True)

    err = rpc_error(lambda: bad_dim(g))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    status, message = rest_error(lambda: bad_dim(r))
    assert status == 400 and err.details() == message and "dim" in message
    assert r.retrieve(coll, [1], with_vectors=True)[0].vector["d"] == [1.0, 0.0, 0.0, 0.0]  # type: ignore[index]

    err = rpc_error(lambda: g.query_points(coll, query=[1.0, 0.0, 0.0, 0.0], using="nope"))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    err = rpc_error(lambda: g.create_collection(coll, vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT)))
    assert err.code() == grpc.StatusCode.ALREADY_EXISTS
    assert err.details() == rest_error(lambda: r.create_collection(coll, vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT)))[1]


def test_unsupported_features_are_unimplemented(g: QdrantClient, coll: str) -> None:
    err = rpc_error(lambda: g.create_shard_key(coll, "k"))
    assert err.code() == grpc.StatusCode.UNIMPLEMENTED


def test_reads_without_payload(g: QdrantClient, r: QdrantClient, coll: str) -> None:
    """They answered INTERNAL: qdrant-client's record converter fails on a missing payload."""
    for kwargs in ({"with_payload": False}, {"with_payload": False, "with_vectors": True}):
        ours = g.retrieve(coll, IDS, **kwargs)
        theirs = r.retrieve(coll, IDS, **kwargs)
        assert [p.id for p in ours] == [p.id for p in theirs] and all(p.payload == {} for p in ours)
        # the same vectors (gRPC carries float32 values, REST their shortest decimals)
        assert [sorted(p.vector or {}) for p in ours] == [sorted(p.vector or {}) for p in theirs]
    points, _ = g.scroll(coll, with_payload=False, limit=10)
    assert {p.id for p in points} == {p.id for p in r.scroll(coll, with_payload=False, limit=10)[0]}


def test_collection_cluster_info_answers_as_rest(g: QdrantClient, r: QdrantClient, coll: str) -> None:
    info = g.collection_cluster_info(coll)
    # gRPC has no "absent" for the repeated resharding_operations: [] where REST leaves it out
    assert info.model_copy(update={"resharding_operations": None}) == r.collection_cluster_info(coll)
    assert info.shard_count == 1 and info.local_shards[0].points_count == len(POINTS)


def test_relevance_feedback_query_answers_as_rest(g: QdrantClient, r: QdrantClient, coll: str) -> None:
    feedback = models.RelevanceFeedbackQuery(relevance_feedback=models.RelevanceFeedbackInput(
        target=[1.0, 0.0, 0.0, 0.0], feedback=[models.FeedbackItem(example=2, score=0.9), models.FeedbackItem(example=[0.1, 0.2, 0.3, 0.4], score=0.2)],
        strategy=models.NaiveFeedbackStrategy(naive=models.NaiveFeedbackStrategyParams(a=1.0, b=1.0, c=2.0))))
    ours = g.query_points(coll, query=feedback, using="d", limit=3).points
    theirs = r.query_points(coll, query=feedback, using="d", limit=3).points
    assert len(ours) == 3 and 2 not in [p.id for p in ours] and [p.id for p in ours] == [p.id for p in theirs]
    assert [p.score for p in ours] == pytest.approx([p.score for p in theirs], rel=1e-6)


def test_formula_query_answers_as_rest(g: QdrantClient, r: QdrantClient, coll: str) -> None:
    formula = models.FormulaQuery(formula=models.SumExpression(sum=["$score", models.MultExpression(mult=[0.5, models.FieldCondition(
        key="color", match=models.MatchValue(value="red"))]), "n"]))
    prefetch = models.Prefetch(query=[1.0, 0.5, 0.0, 0.2], using="d", limit=5)
    ours = g.query_points(coll, prefetch=prefetch, query=formula, limit=4).points
    theirs = r.query_points(coll, prefetch=prefetch, query=formula, limit=4).points
    assert ours and [p.id for p in ours] == [p.id for p in theirs]
    assert [p.score for p in ours] == pytest.approx([p.score for p in theirs], rel=1e-6)


def test_mmr_query_answers_as_rest(g: QdrantClient, r: QdrantClient, coll: str) -> None:
    mmr = models.NearestQuery(nearest=[1.0, 0.5, 0.0, 0.2], mmr=models.Mmr(diversity=0.7, candidates_limit=4))
    ours = g.query_points(coll, query=mmr, using="d", limit=3).points
    theirs = r.query_points(coll, query=mmr, using="d", limit=3).points
    assert len(ours) == 3 and [p.id for p in ours] == [p.id for p in theirs]
    assert [p.score for p in ours] == pytest.approx([p.score for p in theirs], rel=1e-6)


def test_malformed_request_is_invalid_argument(g: QdrantClient, coll: str) -> None:
    """A request the REST models cannot express (a condition with no variant set)."""
    err = rpc_error(lambda: g.grpc_points.Count(pb.CountPoints(collection_name=coll, filter=pb.Filter(must=[pb.Condition()])), timeout=30))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and err.details().startswith("Format error in gRPC request")


# ---- api-key and lifecycle ----------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:Api key is used with an insecure connection")
def test_api_key_and_clean_stop(server_factory: Callable[..., ServerProcess]) -> None:
    proc = server_factory(env={"PYDRANT__SERVICE__API_KEY": "s3cret"})
    without = grpc_client(proc)
    assert without.info().title  # HealthCheck needs no key, as GET /
    err = rpc_error(lambda: without.get_collections())
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED
    keyed = grpc_client(proc, api_key="s3cret", https=False)
    assert keyed.create_collection("k", vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT))
    keyed.upsert("k", [models.PointStruct(id=1, vector=[1.0, 2.0])], wait=True)
    without.close()
    keyed.close()
    assert proc.stop() == 0
    proc.start()  # the acknowledged write survived the SIGTERM shutdown
    keyed = grpc_client(proc, api_key="s3cret", https=False)
    assert keyed.count("k").count == 1
    keyed.close()
