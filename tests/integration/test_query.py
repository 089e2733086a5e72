"""Query API over REST, compared with qdrant-client local mode on the same random data:
nearest (dense, sparse, multi, by id), filters, thresholds, prefetch + fusion, recommend,
discover, context, batch, groups, and 400s for bad requests."""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
import pytest
from qdrant_client import QdrantClient, models

from helpers.rest import RestClient

WAIT = {"wait": "true"}
N = 300
DIM = 8
DISTANCES = ["Cosine", "Dot", "Euclid", "Manhattan"]


def _payload(i: int) -> dict[str, Any]:
    return {"n": i, "group": i % 7, "tag": ["a", "b", "c"][i % 3], "city": f"c{i % 5}", "neg": -1 - i % 3}


def _rng_vectors(seed: int, n: int = N, dim: int = DIM) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)


def _make_dense(rest: RestClient, local: QdrantClient, distance: str, seed: int) -> tuple[str, np.ndarray]:
    name = f"q_{uuid.uuid4().hex[:10]}"
    vectors = _rng_vectors(seed)
    rest.ok("PUT", f"/collections/{name}", json={"vectors": {"size": DIM, "distance": distance}})
    for start in range(0, N, 100):  # several upserts: several ops (versions)
        ids = list(range(start, start + 100))
        rest.ok("PUT", f"/collections/{name}/points", params=WAIT, json={"batch": {
            "ids": ids, "vectors": vectors[start:start + 100].tolist(), "payloads": [_payload(i) for i in ids]}})
    local.create_collection(name, vectors_config=models.VectorParams(size=DIM, distance=distance))
    local.upsert(name, points=[models.PointStruct(id=i, vector=vectors[i].tolist(), payload=_payload(i)) for i in range(N)])
    return name, vectors


@pytest.fixture(scope="module", params=DISTANCES)
def dense(request: pytest.FixtureRequest, rest: RestClient, local: QdrantClient) -> tuple[str, np.ndarray, str]:
    name, vectors = _make_dense(rest, local, request.param, DISTANCES.index(request.param) + 1)
    return name, vectors, request.param


def query(rest: RestClient, name: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    return rest.ok("POST", f"/collections/{name}/points/query", json=body)["points"]  # type: ignore[no-any-return]


def assert_same(ours: list[dict[str, Any]], theirs: list[models.ScoredPoint]) -> None:
    assert [p["id"] for p in ours] == [p.id for p in theirs]
    np.testing.assert_allclose([p["score"] for p in ours], [p.score for p in theirs], rtol=1e-4, atol=1e-4)


# ---- nearest ------------------------------------------------------------------------------------


def test_nearest_matches_local_mode(rest: RestClient, local: QdrantClient, dense: Any) -> None:
    name, _, _ = dense
    for q in _rng_vectors(99, 5):
        ours = query(rest, name, {"query": q.tolist(), "limit": 15})
        theirs = local.query_points(name, query=q.tolist(), limit=15).points
        assert_same(ours, theirs)
        nested = query(rest, name, {"query": {"nearest": q.tolist()}, "limit": 15})
        assert [p["id"] for p in nested] == [p["id"] for p in ours]


def test_scored_point_shape_and_defaults(rest: RestClient, dense: Any) -> None:
    name, _, _ = dense
    points = query(rest, name, {"query": [0.1] * DIM})
    assert len(points) == 10  # default limit
    for p in points:
        assert set(p) >= {"id", "version", "score"}
        assert "payload" not in p and "vector" not in p  # query defaults: left out, as Qdrant does
        assert p["version"] >= 0
    with_all = query(rest, name, {"query": [0.1] * DIM, "limit": 3, "with_payload": True, "with_vector": True})
    for p in with_all:
        assert p["payload"] == _payload(p["id"])
        assert len(p["vector"]) == DIM
    only = query(rest, name, {"query": [0.1] * DIM, "limit": 3, "with_payload": ["tag"]})
    assert all(set(p["payload"]) == {"tag"} for p in only)


def test_versions_are_op_numbers(rest: RestClient, dense: Any) -> None:
    name, _, _ = dense
    points = query(rest, name, {"query": [0.2] * DIM, "limit": N})
    versions = {p["id"] // 100: p["version"] for p in points}
    # three upserts of 100 points each: later batches carry later op numbers
    assert versions[0] < versions[1] < versions[2]


def test_offset_and_threshold(rest: RestClient, local: QdrantClient, dense: Any) -> None:
    name, _, distance = dense
    q = _rng_vectors(7, 1)[0].tolist()
    full = query(rest, name, {"query": q, "limit": 20})
    paged = query(rest, name, {"query": q, "limit": 10, "offset": 5})
    assert [p["id"] for p in paged] == [p["id"] for p in full[5:15]]
    # halfway between two scores: local mode scores in float64, we in float32 as Qdrant does
    threshold = (full[8]["score"] + full[9]["score"]) / 2
    ours = query(rest, name, {"query": q, "limit": 50, "score_threshold": threshold})
    theirs = local.query_points(name, query=q, limit=50, score_threshold=threshold).points
    assert_same(ours, theirs)
    assert len(ours) == 9
    at_boundary = query(rest, name, {"query": q, "limit": 50, "score_threshold": full[9]["score"]})
    assert len(at_boundary) == 9  # strictly better than the threshold
    if distance in ("Euclid", "Manhattan"):
        assert all(p["score"] < threshold for p in ours)
    else:
        assert all(p["score"] > threshold for p in ours)


def test_filtered_search(rest: RestClient, local: QdrantClient, dense: Any) -> None:
    name, _, _ = dense
    q = _rng_vectors(8, 1)[0].tolist()
    flt = {"must": [{"key": "tag", "match": {"value": "b"}}], "must_not": [{"key": "group", "match": {"value": 3}}]}
    ours = query(rest, name, {"query": q, "limit": 25, "filter": flt})
    theirs = local.query_points(name, query=q, limit=25, query_filter=models.Filter(**flt)).points
    assert_same(ours, theirs)
    assert len(ours) == 25


def test_query_by_point_id_excludes_the_point(rest: RestClient, local: QdrantClient, dense: Any) -> None:
    name, _, _ = dense
    ours = query(rest, name, {"query": 17, "limit": 10})
    theirs = local.query_points(name, query=17, limit=10).points
    assert 17 not in [p["id"] for p in ours]
    assert_same(ours, theirs)


def test_no_query_returns_id_order(rest: RestClient, dense: Any) -> None:
    name, _, _ = dense
    points = query(rest, name, {"limit": 5, "offset": 3, "filter": {"must": [{"key": "tag", "match": {"value": "a"}}]}})
    assert [p["id"] for p in points] == [9, 12, 15, 18, 21]
    assert all(p["score"] == 1.0 for p in points)


def test_exact_and_hnsw_ef_params_accepted(rest: RestClient, dense: Any) -> None:
    name, _, _ = dense
    q = [0.3] * DIM
    a = query(rest, name, {"query": q, "limit": 5, "params": {"exact": True}})
    b = query(rest, name, {"query": q, "limit": 5, "params": {"hnsw_ef": 64}})
    assert [p["id"] for p in a] == [p["id"] for p in b]


# ---- prefetch, fusion ---------------------------------------------------------------------------


def test_prefetch_rescore_and_fusion(rest: RestClient, local: QdrantClient, dense: Any) -> None:
    name, _, _ = dense
    q1, q2 = _rng_vectors(11, 2).tolist()
    flt = {"must": [{"key": "tag", "match": {"any": ["a", "c"]}}]}
    for fusion_raw, fusion_model in [
        ({"fusion": "rrf"}, models.FusionQuery(fusion=models.Fusion.RRF)),
        ({"fusion": "dbsf"}, models.FusionQuery(fusion=models.Fusion.DBSF)),
        ({"rrf": {"k": 60}}, models.RrfQuery(rrf=models.Rrf(k=60))),
    ]:
        ours = query(rest, name, {
            "prefetch": [{"query": q1, "limit": 30}, {"query": q2, "limit": 20, "filter": flt}],
            "query": fusion_raw, "limit": 12})
        theirs = local.query_points(name, prefetch=[
            models.Prefetch(query=q1, limit=30), models.Prefetch(query=q2, limit=20, filter=models.Filter(**flt))],
            query=fusion_model, limit=12).points
        assert_same(ours, theirs)
    # re-score a prefetch with another vector, with nested prefetches and an outer filter
    ours = query(rest, name, {
        "prefetch": {"prefetch": [{"query": q1, "limit": 50}], "query": q2, "limit": 25},
        "query": q1, "limit": 10, "filter": flt})
    theirs = local.query_points(name, prefetch=models.Prefetch(
        prefetch=[models.Prefetch(query=q1, limit=50)], query=q2, limit=25),
        query=q1, limit=10, query_filter=models.Filter(**flt)).points
    assert_same(ours, theirs)


# ---- recommend, discover, context ---------------------------------------------------------------


def test_recommend_strategies(rest: RestClient, local: QdrantClient, dense: Any) -> None:
    name, _, _ = dense
    literal = _rng_vectors(12, 1)[0].tolist()
    for strategy in ("average_vector", "best_score", "sum_scores"):
        ours = query(rest, name, {"query": {"recommend": {"positive": [1, 2, literal], "negative": [3], "strategy": strategy}}, "limit": 10})
        theirs = local.query_points(name, query=models.RecommendQuery(recommend=models.RecommendInput(
            positive=[1, 2, literal], negative=[3], strategy=strategy)), limit=10).points
        assert not {1, 2, 3} & {p["id"] for p in ours}
        assert_same(ours, theirs)
    only_negative = query(rest, name, {"query": {"recommend": {"negative": [5], "strategy": "best_score"}}, "limit": 5})
    theirs = local.query_points(name, query=models.RecommendQuery(recommend=models.RecommendInput(
        negative=[5], strategy="best_score")), limit=5).points
    assert_same(only_negative, theirs)


def test_discover_and_context(rest: RestClient, local: QdrantClient, dense: Any) -> None:
    name, _, _ = dense
    pairs = [{"positive": 10, "negative": 11}, {"positive": 12, "negative": 13}]
    model_pairs = [models.ContextPair(**p) for p in pairs]
    ours = query(rest, name, {"query": {"discover": {"target": 20, "context": pairs}}, "limit": 10})
    theirs = local.query_points(name, query=models.DiscoverQuery(discover=models.DiscoverInput(target=20, context=model_pairs)), limit=10).points
    assert_same(ours, theirs)
    # context scores tie (every point satisfying all pairs scores 0): compare scores per id
    ours = query(rest, name, {"query": {"context": pairs}, "limit": 10})
    everything = local.query_points(name, query=models.ContextQuery(context=model_pairs), limit=N).points
    np.testing.assert_allclose([p["score"] for p in ours], [p.score for p in everything[:10]], atol=1e-4)
    local_score = {p.id: p.score for p in everything}
    for p in ours:
        assert abs(local_score[p["id"]] - p["score"]) < 1e-4


# ---- batch, groups ------------------------------------------------------------------------------


def test_batch(rest: RestClient, dense: Any) -> None:
    name, _, _ = dense
    q1, q2 = _rng_vectors(13, 2).tolist()
    result = rest.ok("POST", f"/collections/{name}/points/query/batch", json={"searches": [
        {"query": q1, "limit": 3}, {"query": q2, "limit": 4, "with_payload": True}]})
    assert [len(r["points"]) for r in result] == [3, 4]
    assert result[0]["points"] == query(rest, name, {"query": q1, "limit": 3})
    # plain entries (the short path) beside others (the general path), each as answered alone
    searches = [{"query": {"nearest": q1}, "limit": 2}, {"query": q2, "limit": 3, "filter": {"must": [{"key": "tag", "match": {"value": "b"}}]}},
                {"query": {"nearest": q2, "mmr": {"diversity": 0.5}}, "limit": 2}]
    result = rest.ok("POST", f"/collections/{name}/points/query/batch", json={"searches": searches})
    assert [r["points"] for r in result] == [query(rest, name, one) for one in searches]


def test_groups(rest: RestClient, local: QdrantClient, dense: Any) -> None:
    name, _, _ = dense
    q = _rng_vectors(14, 1)[0].tolist()
    ours = rest.ok("POST", f"/collections/{name}/points/query/groups", json={
        "query": q, "group_by": "group", "group_size": 2, "limit": 4, "with_payload": ["group"]})["groups"]
    theirs = local.query_points_groups(name, query=q, group_by="group", group_size=2, limit=4).groups
    assert [g["id"] for g in ours] == [g.id for g in theirs]
    for g, t in zip(ours, theirs):
        assert_same(g["hits"], t.hits)
        assert all(h["payload"] == {"group": g["id"]} for h in g["hits"])


def test_groups_with_lookup(rest: RestClient, dense: Any) -> None:
    name, _, _ = dense
    lookup = f"lk_{uuid.uuid4().hex[:10]}"
    rest.ok("PUT", f"/collections/{lookup}", json={"vectors": {"size": 2, "distance": "Dot"}})
    rest.ok("PUT", f"/collections/{lookup}/points", params=WAIT, json={"points": [
        {"id": g, "vector": [1.0, 0.0], "payload": {"title": f"group {g}"}} for g in range(7)]})
    groups = rest.ok("POST", f"/collections/{name}/points/query/groups", json={
        "query": [0.5] * DIM, "group_by": "group", "limit": 3,
        "with_lookup": {"collection": lookup, "with_payload": True, "with_vectors": False}})["groups"]
    assert len(groups) == 3
    for g in groups:
        assert g["lookup"]["id"] == g["id"]
        assert g["lookup"]["payload"] == {"title": f"group {g['id']}"}
        assert "vector" not in g["lookup"]
        assert 1 <= len(g["hits"]) <= 3
    # `with_vector` is Qdrant's alias of a lookup's `with_vectors`.
    aliased = rest.ok("POST", f"/collections/{name}/points/query/groups", json={
        "query": [0.5] * DIM, "group_by": "group", "limit": 2,
        "with_lookup": {"collection": lookup, "with_payload": False, "with_vector": True}})["groups"]
    assert [g["lookup"]["vector"] for g in aliased] == [[1.0, 0.0], [1.0, 0.0]]
    assert all("payload" not in g["lookup"] for g in aliased)


def test_groups_whose_lookup_finds_nothing_have_no_lookup_field(rest: RestClient, dense: Any) -> None:
    name, _, _ = dense
    lookup = f"lk_{uuid.uuid4().hex[:10]}"
    rest.ok("PUT", f"/collections/{lookup}", json={"vectors": {"size": 2, "distance": "Dot"}})
    rest.ok("PUT", f"/collections/{lookup}/points", params=WAIT, json={"points": [
        {"id": g, "vector": [1.0, 0.0], "payload": {"title": f"group {g}"}} for g in range(0, 7, 2)]})
    groups = rest.ok("POST", f"/collections/{name}/points/query/groups", json={
        "query": [0.5] * DIM, "group_by": "group", "limit": 7, "with_lookup": lookup})["groups"]
    assert {g["id"] for g in groups} == set(range(7))
    for g in groups:
        if g["id"] % 2 == 0:
            assert g["lookup"] == {"id": g["id"], "payload": {"title": f"group {g['id']}"}}
        else:
            assert "lookup" not in g  # left out, as Qdrant does, not null
    # Group ids that no point can have (words, negative numbers) get no lookup either.
    for key in ("tag", "neg"):
        groups = rest.ok("POST", f"/collections/{name}/points/query/groups", json={
            "query": [0.5] * DIM, "group_by": key, "limit": 3, "with_lookup": lookup})["groups"]
        assert groups and all("lookup" not in g for g in groups)


# ---- sparse, multivector, named vectors, lookup_from -------------------------------------------


@pytest.fixture(scope="module")
def mixed(rest: RestClient, local: QdrantClient) -> str:
    name = f"m_{uuid.uuid4().hex[:10]}"
    rng = np.random.default_rng(5)
    dense = rng.normal(size=(120, 4)).astype(np.float32)
    multi = [rng.normal(size=(int(rng.integers(1, 4)), 3)).astype(np.float32) for _ in range(120)]
    sparse = []
    for _ in range(120):
        idx = sorted(rng.choice(50, size=int(rng.integers(1, 6)), replace=False).tolist())
        sparse.append((idx, rng.random(len(idx)).astype(np.float32).tolist()))
    body = {
        "vectors": {"img": {"size": 4, "distance": "Euclid"},
                    "colbert": {"size": 3, "distance": "Cosine", "multivector_config": {"comparator": "max_sim"}}},
        "sparse_vectors": {"words": {}, "bm": {"modifier": "idf"}},
    }
    rest.ok("PUT", f"/collections/{name}", json=body)
    points = [{"id": i, "payload": _payload(i), "vector": {
        "img": dense[i].tolist(), "colbert": multi[i].tolist(),
        "words": {"indices": sparse[i][0], "values": sparse[i][1]},
        "bm": {"indices": sparse[i][0], "values": sparse[i][1]}}} for i in range(120)]
    rest.ok("PUT", f"/collections/{name}/points", params=WAIT, json={"points": points})
    local.create_collection(name, vectors_config={
        "img": models.VectorParams(size=4, distance="Euclid"),
        "colbert": models.VectorParams(size=3, distance="Cosine", multivector_config=models.MultiVectorConfig(comparator="max_sim"))},
        sparse_vectors_config={"words": models.SparseVectorParams(), "bm": models.SparseVectorParams(modifier=models.Modifier.IDF)})
    local.upsert(name, points=[models.PointStruct(id=p["id"], payload=p["payload"], vector=p["vector"]) for p in points])
    return name


def test_named_sparse_multi(rest: RestClient, local: QdrantClient, mixed: str) -> None:
    sparse_q = {"indices": [1, 7, 30, 44], "values": [0.5, 1.0, 0.3, 0.9]}
    for using, q in [("img", [0.1, -0.2, 0.3, 0.0]), ("words", sparse_q), ("bm", sparse_q),
                     ("colbert", [[0.1, 0.2, 0.3], [-0.3, 0.1, 0.0]])]:
        ours = query(rest, mixed, {"query": q, "using": using, "limit": 8})
        theirs = local.query_points(mixed, query=models.SparseVector(**q) if isinstance(q, dict) else q, using=using, limit=8).points
        assert_same(ours, theirs)
    # hybrid: sparse + dense fused
    ours = query(rest, mixed, {"prefetch": [{"query": sparse_q, "using": "words", "limit": 20},
                                            {"query": [0.1, -0.2, 0.3, 0.0], "using": "img", "limit": 20}],
                               "query": {"fusion": "rrf"}, "limit": 10})
    theirs = local.query_points(mixed, prefetch=[models.Prefetch(query=models.SparseVector(**sparse_q), using="words", limit=20),
                                                 models.Prefetch(query=[0.1, -0.2, 0.3, 0.0], using="img", limit=20)],
                                query=models.FusionQuery(fusion=models.Fusion.RRF), limit=10).points
    assert_same(ours, theirs)


def test_recommend_sparse_and_multi(rest: RestClient, local: QdrantClient, mixed: str) -> None:
    for using in ("words", "colbert", "img"):
        for strategy in ("average_vector", "best_score"):
            ours = query(rest, mixed, {"query": {"recommend": {"positive": [1, 2], "negative": [3], "strategy": strategy}}, "using": using, "limit": 6})
            theirs = local.query_points(mixed, query=models.RecommendQuery(recommend=models.RecommendInput(
                positive=[1, 2], negative=[3], strategy=strategy)), using=using, limit=6).points
            assert_same(ours, theirs)


def test_idf_corpus_statistics(rest: RestClient, local: QdrantClient, mixed: str) -> None:
    """params.idf: IDF over the points matching a corpus filter, or collection-wide ("global")."""
    sparse_q = {"indices": [1, 7, 30, 44], "values": [0.5, 1.0, 0.3, 0.9]}
    corpora = [{"must": [{"key": "group", "match": {"value": 2}}]},
               {"must": [{"key": "group", "match": {"value": 99}}]},  # matches nothing
               {"must_not": [{"key": "group", "match": {"any": [0, 1]}}]}]
    for corpus in corpora:
        params = models.SearchParams(idf=models.IdfCorpusParams(corpus=models.Filter(**corpus)))
        ours = query(rest, mixed, {"query": sparse_q, "using": "bm", "limit": 8, "params": {"idf": {"corpus": corpus}}})
        theirs = local.query_points(mixed, query=models.SparseVector(**sparse_q), using="bm", limit=8, search_params=params).points
        assert_same(ours, theirs)
    everywhere = query(rest, mixed, {"query": sparse_q, "using": "bm", "limit": 8})
    assert query(rest, mixed, {"query": sparse_q, "using": "bm", "limit": 8, "params": {"idf": "global"}}) == everywhere
    narrowed = query(rest, mixed, {"query": sparse_q, "using": "bm", "limit": 8, "params": {"idf": {"corpus": corpora[0]}}})
    assert [p["score"] for p in narrowed] != [p["score"] for p in everywhere]
    for bad in ({"corpus": {"must": [{"key": "group", "match": {"nope": 1}}]}}, "local", {"filter": {}}):
        rest.error("POST", f"/collections/{mixed}/points/query", 400,
                   json={"query": sparse_q, "using": "bm", "params": {"idf": bad}})


@pytest.mark.parametrize("dense", ["Dot"], indirect=True)  # one distance is enough here
def test_lookup_from(rest: RestClient, local: QdrantClient, mixed: str, dense: Any) -> None:
    name, vectors, distance = dense
    src = f"src_{uuid.uuid4().hex[:10]}"
    rest.ok("PUT", f"/collections/{src}", json={"vectors": {"other": {"size": DIM, "distance": "Dot"}}})
    rest.ok("PUT", f"/collections/{src}/points", params=WAIT, json={"points": [{"id": 1, "vector": {"other": vectors[5].tolist()}}]})
    ours = query(rest, name, {"query": 1, "lookup_from": {"collection": src, "vector": "other"}, "limit": 5})
    direct = query(rest, name, {"query": vectors[5].tolist(), "limit": 5})
    assert [p["id"] for p in ours] == [p["id"] for p in direct]
    everything = query(rest, name, {"query": 1, "lookup_from": {"collection": src, "vector": "other"}, "limit": N})
    assert 1 in {p["id"] for p in everything}  # not excluded: the id belongs to the other collection
    assert rest.error("POST", f"/collections/{name}/points/query", 400, json={"query": 1, "lookup_from": {"collection": src}}) == (
        "Wrong input: Not existing vector name error: ")  # Qdrant's empty name of the default vector
    # A missing lookup collection is a 404 even when nothing needs looking up (as Qdrant).
    for body in ({"query": vectors[5].tolist(), "lookup_from": {"collection": "no_such_" + src}},
                 {"prefetch": {"query": vectors[5].tolist(), "lookup_from": {"collection": "no_such_" + src}},
                  "query": {"fusion": "rrf"}}):
        assert rest.error("POST", f"/collections/{name}/points/query", 404, json=body) == f"Not found: Collection no_such_{src} not found"


# ---- filtered search never short -----------------------------------------------------------------


def test_filtered_search_returns_limit_when_enough_match(rest: RestClient) -> None:
    name = f"f_{uuid.uuid4().hex[:10]}"
    n = 3000
    vectors = _rng_vectors(21, n, 16)
    # full_scan_threshold 10 KB = 160 vectors of 16 dims: an indexed segment searches its graph
    rest.ok("PUT", f"/collections/{name}", json={"vectors": {"size": 16, "distance": "Cosine"},
                                                "hnsw_config": {"full_scan_threshold": 10}})
    rest.ok("PUT", f"/collections/{name}/points", params=WAIT, json={"batch": {
        "ids": list(range(n)), "vectors": vectors.tolist(), "payloads": [{"k": i % 100} for i in range(n)]}})
    for matching_values, limit in [([3], 30), ([3], 10), (list(range(50)), 100)]:
        flt = {"must": [{"key": "k", "match": {"any": matching_values}}]}
        points = query(rest, name, {"query": vectors[0].tolist(), "filter": flt, "limit": limit})
        expected = min(limit, 30 * len(matching_values))
        assert len(points) == expected
        assert all(p["id"] % 100 in matching_values for p in points)


# ---- maximal marginal relevance --------------------------------------------------------------------


def _mmr(diversity: float | None, candidates: int | None) -> dict[str, Any]:
    return {k: v for k, v in (("diversity", diversity), ("candidates_limit", candidates)) if v is not None}


def test_mmr_matches_local_mode(rest: RestClient, local: QdrantClient, dense: Any) -> None:
    """MMR picks, their order and their (nearest search) scores equal local mode's, for every
    distance, diversity from pure relevance to pure diversity, with filter, offset, threshold."""
    name, vectors, distance = dense
    rng = np.random.default_rng(11)
    flt = {"must_not": [{"key": "tag", "match": {"value": "b"}}]}
    cases = [(None, None, 0, None), (0.0, 40, 0, None), (0.5, 40, 3, flt), (0.8, 100, 0, None), (1.0, 30, 2, flt), (0.3, 5, 0, None)]
    for diversity, candidates, offset, body_filter in cases:
        q = rng.normal(size=DIM).astype(np.float32).tolist()
        mmr = _mmr(diversity, candidates)
        body: dict[str, Any] = {"query": {"nearest": q, "mmr": mmr}, "limit": 10, "offset": offset}
        if body_filter:
            body["filter"] = body_filter
        ours = query(rest, name, body)
        theirs = local.query_points(name, query=models.NearestQuery(nearest=q, mmr=models.Mmr(**mmr)), limit=10, offset=offset,
                                    query_filter=models.Filter(**body_filter) if body_filter else None).points
        assert_same(ours, theirs)
        assert len(ours) == max(0, min(10 + offset, candidates or 10) - offset)  # limit + offset picked of the candidates
    # Diversity changes the picks: the nearest 10 are not the MMR 10 when 100 candidates are spread.
    q = rng.normal(size=DIM).astype(np.float32).tolist()
    plain = [p["id"] for p in query(rest, name, {"query": q, "limit": 10})]
    diverse = [p["id"] for p in query(rest, name, {"query": {"nearest": q, "mmr": {"diversity": 0.9, "candidates_limit": 100}}, "limit": 10})]
    assert diverse[0] == plain[0] and set(diverse) != set(plain)
    # A score threshold limits the candidates (as the search that finds them).
    sixth, seventh = (p["score"] for p in query(rest, name, {"query": q, "limit": 7})[5:])
    threshold_body = {"query": {"nearest": q, "mmr": {"diversity": 0.5, "candidates_limit": 50}}, "limit": 10,
                      "score_threshold": (sixth + seventh) / 2}
    ours = query(rest, name, threshold_body)
    theirs = local.query_points(name, query=models.NearestQuery(nearest=q, mmr=models.Mmr(diversity=0.5, candidates_limit=50)), limit=10,
                                score_threshold=threshold_body["score_threshold"]).points
    assert_same(ours, theirs)
    assert len(ours) == 6


def test_mmr_in_prefetch_by_id_sparse_and_multi(rest: RestClient, local: QdrantClient, mixed: str) -> None:
    sparse_q = {"indices": [1, 7, 30, 44], "values": [0.5, 1.0, 0.3, 0.9]}
    mmr = {"diversity": 0.6, "candidates_limit": 40}
    for using, q in [("img", [0.1, -0.2, 0.3, 0.0]), ("words", sparse_q), ("colbert", [[0.1, 0.2, 0.3], [-0.3, 0.1, 0.0]]), ("img", 7)]:
        ours = query(rest, mixed, {"query": {"nearest": q, "mmr": mmr}, "using": using, "limit": 8})
        nearest = models.SparseVector(**q) if isinstance(q, dict) else q
        theirs = local.query_points(mixed, query=models.NearestQuery(nearest=nearest, mmr=models.Mmr(**mmr)), using=using, limit=8).points
        assert_same(ours, theirs)
    # MMR as a prefetch, rescored by another vector; and MMR over prefetched points.
    ours = query(rest, mixed, {"prefetch": {"query": {"nearest": [0.1, -0.2, 0.3, 0.0], "mmr": mmr}, "using": "img", "limit": 15},
                               "query": sparse_q, "using": "words", "limit": 5})
    theirs = local.query_points(mixed, prefetch=models.Prefetch(query=models.NearestQuery(nearest=[0.1, -0.2, 0.3, 0.0], mmr=models.Mmr(**mmr)),
                                                                using="img", limit=15),
                                query=models.SparseVector(**sparse_q), using="words", limit=5).points
    assert_same(ours, theirs)
    ours = query(rest, mixed, {"prefetch": {"query": sparse_q, "using": "words", "limit": 30},
                               "query": {"nearest": [0.1, -0.2, 0.3, 0.0], "mmr": mmr}, "using": "img", "limit": 6})
    theirs = local.query_points(mixed, prefetch=models.Prefetch(query=models.SparseVector(**sparse_q), using="words", limit=30),
                                query=models.NearestQuery(nearest=[0.1, -0.2, 0.3, 0.0], mmr=models.Mmr(**mmr)), using="img", limit=6).points
    assert_same(ours, theirs)


def test_mmr_bad_parameters(rest: RestClient, mixed: str) -> None:
    path = f"/collections/{mixed}/points/query"

    def body(mmr: Any) -> dict[str, Any]:
        return {"query": {"nearest": [0.1, -0.2, 0.3, 0.0], "mmr": mmr}, "using": "img"}

    assert "mmr.diversity" in rest.error("POST", path, 422, json=body({"diversity": 1.5}))
    assert "mmr.diversity" in rest.error("POST", path, 422, json=body({"diversity": -0.1}))
    assert "mmr.diversity" in rest.error("POST", path, 400, json=body({"diversity": "high"}))
    assert "mmr.candidates_limit" in rest.error("POST", path, 422, json=body({"candidates_limit": 16385}))
    assert "mmr.candidates_limit" in rest.error("POST", path, 400, json=body({"candidates_limit": -1}))
    assert "mmr" in rest.error("POST", path, 400, json=body({"lambda": 0.5}))
    assert "mmr" in rest.error("POST", path, 400, json=body([0.5]))
    assert query(rest, mixed, body({"candidates_limit": 0})) == []
    assert len(query(rest, mixed, body(None))) == 10  # null: a plain nearest query


# ---- score boosting (formula) ---------------------------------------------------------------------


FORMULAS = [
    # Qdrant's documentation example: boost by conditions
    {"sum": ["$score", {"mult": [0.5, {"key": "tag", "match": {"value": "a"}}]},
             {"mult": [0.25, {"key": "city", "match": {"any": ["c1", "c2"]}}]}]},
    # payload numbers, division, a prefetch score by index
    {"sum": ["$score[0]", {"mult": [0.001, "n"]}, {"div": {"left": "group", "right": {"sum": ["n", 1]}}}]},
    # decays around payload values and the score
    {"sum": [{"lin_decay": {"x": "n", "target": 100, "scale": 50}},
             {"exp_decay": {"x": "n", "target": 150, "scale": 20, "midpoint": 0.2}},
             {"gauss_decay": {"x": "$score", "scale": 2}}]},
    # the math operators
    {"sum": [{"sqrt": {"abs": "$score"}}, {"pow": {"base": "group", "exponent": 2}}, {"neg": {"ln": {"sum": ["n", 1]}}},
             {"log10": {"sum": ["n", 10]}}, {"exp": {"mult": ["$score", 0.1]}}]},
    # a zero factor stops a product before a missing key is read
    {"sum": ["$score", {"mult": [{"key": "tag", "match": {"value": "zzz"}}, "missing_key"]}]},
]


def test_formula_matches_local_mode(rest: RestClient, local: QdrantClient, dense: Any) -> None:
    name, vectors, _ = dense
    q = (vectors[7] + 0.2).tolist()
    for formula in FORMULAS:
        body = {"prefetch": {"query": q, "limit": 40}, "query": {"formula": formula}, "limit": 12}
        ours = query(rest, name, body)
        theirs = local.query_points(name, prefetch=models.Prefetch(query=q, limit=40),
                                    query=models.FormulaQuery(formula=formula), limit=12).points
        assert_same(ours, theirs)
        assert len(ours) == 12 and [p["score"] for p in ours] == sorted((p["score"] for p in ours), reverse=True)
    # two prefetches, a default for a point the second one did not find, offset and threshold
    formula = {"sum": [{"mult": [2, "$score[0]"]}, "$score[1]"]}
    prefetch = [{"query": q, "limit": 30}, {"query": (-np.asarray(q)).tolist(), "limit": 30, "filter": {"must": [{"key": "tag", "match": {"value": "b"}}]}}]
    body = {"prefetch": prefetch, "query": {"formula": formula, "defaults": {"$score[1]": -5.0}}, "limit": 10, "offset": 3}
    ours = query(rest, name, body)
    theirs = local.query_points(name, prefetch=[models.Prefetch(query=q, limit=30),
                                                models.Prefetch(query=prefetch[1]["query"], limit=30, filter=models.Filter(**prefetch[1]["filter"]))],
                                query=models.FormulaQuery(formula=formula, defaults={"$score[1]": -5.0}), limit=10, offset=3).points
    assert_same(ours, theirs)
    threshold = ours[4]["score"] - 1e-3
    assert [p["id"] for p in query(rest, name, {**body, "score_threshold": threshold})] == [p["id"] for p in ours[:5]]


def test_formula_geo_distance_and_datetimes(rest: RestClient, local: QdrantClient) -> None:
    name = f"f_{uuid.uuid4().hex[:10]}"
    rng = np.random.default_rng(9)
    vectors = rng.normal(size=(60, DIM)).astype(np.float32)
    payloads = [{"loc": {"lat": 52.0 + i * 0.01, "lon": 13.0 - i * 0.02}, "at": f"2024-01-{1 + i % 28:02d}T{i % 24:02d}:00:00Z",
                 "w": [float(i)]} for i in range(60)]
    rest.ok("PUT", f"/collections/{name}", json={"vectors": {"size": DIM, "distance": "Cosine"}})
    rest.ok("PUT", f"/collections/{name}/points", params=WAIT, json={"batch": {"ids": list(range(60)), "vectors": vectors.tolist(), "payloads": payloads}})
    local.create_collection(name, vectors_config=models.VectorParams(size=DIM, distance="Cosine"))
    local.upsert(name, points=[models.PointStruct(id=i, vector=vectors[i].tolist(), payload=payloads[i]) for i in range(60)])
    formula = {"sum": ["$score",
                       {"gauss_decay": {"x": {"geo_distance": {"origin": {"lat": 52.2, "lon": 12.6}, "to": "loc"}}, "scale": 5000}},
                       {"exp_decay": {"x": {"datetime_key": "at"}, "target": {"datetime": "2024-01-15T00:00:00Z"}, "scale": 86400 * 3}},
                       {"mult": ["w", 0.001]}]}  # a one-element array counts as its value
    ours = query(rest, name, {"prefetch": {"query": vectors[0].tolist(), "limit": 60}, "query": {"formula": formula}, "limit": 15})
    theirs = local.query_points(name, prefetch=models.Prefetch(query=vectors[0].tolist(), limit=60),
                                query=models.FormulaQuery(formula=formula), limit=15).points
    assert_same(ours, theirs)


def test_formula_errors(rest: RestClient, dense: Any) -> None:
    name, vectors, _ = dense
    path = f"/collections/{name}/points/query"

    def body(formula: Any, **extra: Any) -> dict[str, Any]:
        return {"prefetch": {"query": vectors[0].tolist(), "limit": 5}, "query": {"formula": formula, **extra}}

    assert "prefetch" in rest.error("POST", path, 400, json={"query": {"formula": "$score"}})
    assert "missing_key" in rest.error("POST", path, 400, json=body({"sum": ["$score", "missing_key"]}))
    assert "tag" in rest.error("POST", path, 400, json=body({"sum": ["$score", "tag"]}))  # a string, not a number
    assert "non-finite" in rest.error("POST", path, 400, json=body({"div": {"left": 1, "right": {"mult": ["n", 0]}}}))
    assert "non-finite" in rest.error("POST", path, 400, json=body({"sqrt": -1}))
    assert "non-finite" in rest.error("POST", path, 400, json=body({"ln": 0}))
    assert "non-finite" in rest.error("POST", path, 400, json=body({"pow": {"base": -8, "exponent": 0.5}}))
    assert "midpoint" in rest.error("POST", path, 400, json=body({"exp_decay": {"x": "n", "midpoint": 1.0}}))
    assert "scale" in rest.error("POST", path, 400, json=body({"lin_decay": {"x": "n", "scale": 0}}))
    assert "$score[x]" in rest.error("POST", path, 400, json=body("$score[x]"))
    assert "datetime" in rest.error("POST", path, 400, json=body({"datetime": "yesterday"}))
    assert "formula.sum" in rest.error("POST", path, 400, json=body({"sum": "n"}))
    assert "formula" in rest.error("POST", path, 400, json=body({"max": ["n"]}))  # not an expression of this API version
    assert "origin" in rest.error("POST", path, 400, json=body({"geo_distance": {"origin": {"lat": 91, "lon": 0}, "to": "loc"}}))
    # a default fills a missing key; by_zero_default answers a division by zero
    assert len(query(rest, name, body({"sum": ["$score", "missing_key"]}, defaults={"missing_key": 2}))) == 5
    # ... and a null or empty-array value, which is no value either
    rest.ok("POST", f"/collections/{name}/points/payload", params=WAIT,
            json={"payload": {"nullish": None, "empty": []}, "filter": {}})
    for key in ("nullish", "empty"):
        found = query(rest, name, body({"sum": ["$score", key]}, defaults={key: 2}))
        assert len(found) == 5, key
        assert key in rest.error("POST", path, 400, json=body({"sum": ["$score", key]}))
    scores = [p["score"] for p in query(rest, name, body({"div": {"left": 1, "right": {"mult": ["n", 0]}, "by_zero_default": 7}}))]
    assert scores == [7.0] * 5


# ---- relevance feedback -------------------------------------------------------------------------


def _feedback(target: Any, feedback: list[tuple[Any, float]], a: float = 1.0, b: float = 1.0, c: float = 1.0) -> dict[str, Any]:
    return {"relevance_feedback": {"target": target, "feedback": [{"example": e, "score": s} for e, s in feedback],
                                   "strategy": {"naive": {"a": a, "b": b, "c": c}}}}


def test_relevance_feedback_matches_local_mode(rest: RestClient, local: QdrantClient, dense: Any) -> None:
    name, vectors, _ = dense
    q = (vectors[11] + 0.1).tolist()
    cases = [
        (q, [(3, 0.9), (vectors[40].tolist(), 0.2), (77, 0.5)], 0.8, 1.5, 0.4, None, 0),
        (5, [(3, 0.9), (8, 0.9)], 1.0, 1.0, 1.0, {"must": [{"key": "tag", "match": {"value": "c"}}]}, 2),  # equal scores: no pairs
        (q, [(vectors[1].tolist(), 0.1), (vectors[2].tolist(), 0.7), (vectors[3].tolist(), 0.4), (9, 1.0)], 0.2, 0.0, 2.0, None, 0),
    ]
    for target, feedback, a, b, c, flt, offset in cases:
        body: dict[str, Any] = {"query": _feedback(target, feedback, a, b, c), "limit": 10, "offset": offset}
        if flt:
            body["filter"] = flt
        ours = query(rest, name, body)
        theirs = local.query_points(name, query=models.RelevanceFeedbackQuery(relevance_feedback=models.RelevanceFeedbackInput(
            target=target, feedback=[models.FeedbackItem(example=e, score=s) for e, s in feedback],
            strategy=models.NaiveFeedbackStrategy(naive=models.NaiveFeedbackStrategyParams(a=a, b=b, c=c)))),
            limit=10, offset=offset, query_filter=models.Filter(**flt) if flt else None).points
        assert_same(ours, theirs)
        mentioned = {x for x in [target, *(e for e, _ in feedback)] if isinstance(x, int)}
        assert len(ours) == 10 and not mentioned & {p["id"] for p in ours}  # ids given as inputs are left out


def test_relevance_feedback_on_sparse_and_multivectors(rest: RestClient, mixed: str) -> None:
    """With all feedback scores equal there are no pairs and a = 1: the ranking is the nearest one."""
    sparse_q = {"indices": [1, 7, 30, 44], "values": [0.5, 1.0, 0.3, 0.9]}
    for using, q in [("words", sparse_q), ("colbert", [[0.1, 0.2, 0.3], [-0.3, 0.1, 0.0]])]:
        nearest = query(rest, mixed, {"query": q, "using": using, "limit": 8})
        ours = query(rest, mixed, {"query": _feedback(q, [(1, 0.5), (2, 0.5)]), "using": using, "limit": 8})
        assert [p["id"] for p in ours] == [p["id"] for p in nearest if p["id"] not in (1, 2)][: len(ours)]
        shifted = query(rest, mixed, {"query": _feedback(q, [(1, 0.9), (2, 0.1)], c=5.0), "using": using, "limit": 8})
        assert [p["id"] for p in shifted] != [p["id"] for p in ours]


def test_relevance_feedback_bad_input(rest: RestClient, dense: Any) -> None:
    name, _, _ = dense
    path = f"/collections/{name}/points/query"
    good = _feedback([0.1] * DIM, [(3, 0.5)])
    assert "strategy.naive.b" in rest.error("POST", path, 422, json={"query": _feedback([0.1] * DIM, [(3, 0.5)], b=-1.0)})
    assert "strategy" in rest.error("POST", path, 400, json={"query": {"relevance_feedback": {**good["relevance_feedback"], "strategy": {"smart": {}}}}})
    assert "feedback[0]" in rest.error("POST", path, 400, json={"query": _feedback([0.1] * DIM, [(3, "high")])})  # type: ignore[list-item]
    assert "dim" in rest.error("POST", path, 400, json={"query": _feedback([0.1] * DIM, [([0.1, 0.2], 0.5)])})
    assert "123456" in rest.error("POST", path, 404, json={"query": _feedback(123456, [(3, 0.5)])})


# ---- errors -------------------------------------------------------------------------------------


def test_bad_requests(rest: RestClient, dense: Any, mixed: str) -> None:
    name, _, _ = dense
    path = f"/collections/{name}/points/query"
    assert "dim" in rest.error("POST", path, 400, json={"query": [0.1, 0.2]})
    assert "nope" in rest.error("POST", path, 400, json={"query": [0.1] * DIM, "using": "nope"})
    assert "limit" in rest.error("POST", path, 422, json={"query": [0.1] * DIM, "limit": 0})
    assert "fusion" in rest.error("POST", path, 400, json={"query": {"fusion": "rrf"}})
    assert "sparse" in rest.error("POST", f"/collections/{mixed}/points/query", 400, json={"query": [0.1] * 4, "using": "words"})
    assert "positive" in rest.error("POST", path, 400, json={"query": {"recommend": {"negative": [1]}}})
    assert "12345" in rest.error("POST", path, 404, json={"query": 12345})
    assert "relevance_feedback" in rest.error("POST", path, 400, json={"query": {"relevance_feedback": {"target": [0.1] * DIM, "feedback": []}}})
    assert "inference" in rest.error("POST", path, 400, json={"query": {"text": "find me", "model": "bm25"}})
    rest.error("POST", "/collections/does_not_exist/points/query", 404, json={"query": [0.1] * DIM})
    # Qdrant's words: a dimension error does not name the batch entry; validator paths name the
    # struct QueryRequest flattens (`internal`).
    assert rest.error("POST", f"{path}/batch", 400, json={"searches": [{"query": [0.1] * DIM}, {"query": [0.1]}]}) == (
        f"Wrong input: Vector dimension error: expected dim: {DIM}, got 1")
    assert "[internal.limit: value 0 invalid, must be 1 or larger]" in rest.error("POST", path, 422, json={"query": [0.1] * DIM, "limit": 0})
    assert "searches[0].internal.limit: value 0 invalid, must be 1 or larger" in rest.error("POST", f"{path}/batch", 422, json={"searches": [{"query": [0.1] * DIM, "limit": 0}]})


@pytest.mark.parametrize("dense", ["Dot"], indirect=True)
def test_query_nodes_are_checked_as_qdrant_does(rest: RestClient, dense: Any) -> None:
    name, _, _ = dense
    path = f"/collections/{name}/points/query"
    cases = [
        ({"prefetch": {"query": [0.1] * DIM}}, "A query is needed to merge the prefetches."),
        ({"prefetch": {"prefetch": {"query": [0.1] * DIM}}, "query": {"fusion": "rrf"}}, "A query is needed to merge the prefetches."),
        ({"score_threshold": 10}, "A query is needed to use the score_threshold."),
        ({"query": {"order_by": "n"}, "score_threshold": 0.5}, "Can't use score_threshold with an order_by query."),
    ]
    for body, message in cases:
        assert rest.error("POST", path, 400, json=body).startswith(f"Bad request: {message}"), body


@pytest.mark.parametrize("dense", ["Cosine"], indirect=True)  # one distance is enough here
def test_order_by_and_sample(rest: RestClient, dense: Any) -> None:
    name, _, distance = dense
    path = f"/collections/{name}/points/query"
    assert "range index" in rest.error("POST", path, 400, json={"query": {"order_by": "n"}})
    rest.ok("PUT", f"/collections/{name}/index", params=WAIT, json={"field_name": "n", "field_schema": "integer"})
    points = query(rest, name, {"query": {"order_by": {"key": "n", "direction": "desc"}}, "limit": 4, "offset": 1,
                                "filter": {"must": [{"key": "tag", "match": {"value": "a"}}]}})
    assert [p["id"] for p in points] == [294, 291, 288, 285]
    assert [p["order_value"] for p in points] == [294, 291, 288, 285]
    sampled = query(rest, name, {"query": {"sample": "random"}, "limit": 20, "filter": {"must": [{"key": "group", "match": {"value": 2}}]}})
    assert len(sampled) == 20 and len({p["id"] for p in sampled}) == 20
    assert all(p["id"] % 7 == 2 for p in sampled)
    # As Qdrant, a sample of the collection (no prefetch) ignores `offset`: 6 match, 6 come back.
    few = {"must": [{"key": "n", "range": {"lt": 6}}]}
    sampled = query(rest, name, {"query": {"sample": "random"}, "limit": 20, "offset": 5, "filter": few})
    assert sorted(p["id"] for p in sampled) == list(range(6))
    # Over a prefetch, the offset widens what the sample draws from (as Qdrant): one prefetched
    # point, offset 1, still one point back, drawn from the prefetch's best two.
    best_two = {p["id"] for p in query(rest, name, {"query": [0.1] * DIM, "limit": 2})}
    seen: set[int] = set()
    for _ in range(40):
        page = query(rest, name, {"prefetch": {"query": [0.1] * DIM, "limit": 1}, "query": {"sample": "random"}, "offset": 1})
        assert len(page) == 1 and page[0]["id"] in best_two
        seen.add(page[0]["id"])
    assert seen == best_two  # 40 draws miss one of two points with probability 2^-39


@pytest.mark.parametrize("dense", ["Cosine"], indirect=True)
def test_order_by_over_prefetches_and_as_a_prefetch(rest: RestClient, local: QdrantClient, dense: Any) -> None:
    """Qdrant's "re-ranking with payload values": prefetched points ordered by a payload key;
    and an order_by prefetch feeding a nearest rescoring and a fusion."""
    name, vectors, _ = dense
    rest.ok("PUT", f"/collections/{name}/index", params=WAIT, json={"field_name": "n", "field_schema": "integer"})
    q = (vectors[3] + 0.1).tolist()
    far = (-vectors[3]).tolist()
    flt = {"must": [{"key": "tag", "match": {"value": "a"}}]}
    desc = {"key": "n", "direction": "desc"}

    ours = query(rest, name, {"prefetch": [{"query": q, "limit": 20}, {"query": far, "limit": 20}],
                              "query": {"order_by": desc}, "filter": flt, "limit": 15, "offset": 2})
    theirs = local.query_points(name, prefetch=[models.Prefetch(query=q, limit=20), models.Prefetch(query=far, limit=20)],
                                query=models.OrderByQuery(order_by=models.OrderBy(**desc)), query_filter=models.Filter(**flt),
                                limit=15, offset=2).points
    assert len(ours) >= 5 and [p["id"] for p in ours] == [p.id for p in theirs]
    assert [p["order_value"] for p in ours] == [p.id for p in theirs] == sorted((p.id for p in theirs), reverse=True)
    assert all(p["id"] % 3 == 0 and p["score"] == 1.0 for p in ours)

    ours = query(rest, name, {"prefetch": {"query": {"order_by": "n"}, "limit": 30, "filter": flt}, "query": q, "limit": 5})
    theirs = local.query_points(name, prefetch=models.Prefetch(query=models.OrderByQuery(order_by="n"), limit=30, filter=models.Filter(**flt)),
                                query=q, limit=5).points
    assert_same(ours, theirs)
    assert all(p["id"] < 90 for p in ours)  # only the 30 smallest `n` of tag a were prefetched

    ours = query(rest, name, {"prefetch": [{"query": {"order_by": desc}, "limit": 10}, {"query": q, "limit": 10}],
                              "query": {"fusion": "rrf"}, "limit": 8})
    theirs = local.query_points(name, prefetch=[models.Prefetch(query=models.OrderByQuery(order_by=models.OrderBy(**desc)), limit=10),
                                                models.Prefetch(query=q, limit=10)],
                                query=models.FusionQuery(fusion=models.Fusion.RRF), limit=8).points
    assert_same(ours, theirs)


@pytest.mark.parametrize("dense", ["Cosine"], indirect=True)
def test_groups_of_an_order_by_query(rest: RestClient, local: QdrantClient, dense: Any) -> None:
    name, _, _ = dense
    rest.ok("PUT", f"/collections/{name}/index", params=WAIT, json={"field_name": "n", "field_schema": "integer"})
    desc = {"key": "n", "direction": "desc"}
    flt = {"must_not": [{"key": "tag", "match": {"value": "a"}}]}
    ours = rest.ok("POST", f"/collections/{name}/points/query/groups", json={
        "query": {"order_by": desc}, "group_by": "group", "limit": 4, "group_size": 3, "filter": flt})["groups"]
    theirs = local.query_points_groups(name, query=models.OrderByQuery(order_by=models.OrderBy(**desc)), group_by="group",
                                       limit=4, group_size=3, query_filter=models.Filter(**flt)).groups
    assert [g["id"] for g in ours] == [g.id for g in theirs]
    assert [[(h["id"], h["order_value"]) for h in g["hits"]] for g in ours] == [[(h.id, h.order_value) for h in g.hits] for g in theirs]
    assert ours[0]["hits"][0]["id"] == 299  # the largest `n` whose tag is not "a"


def test_search_matrix(rest: RestClient, local: QdrantClient, dense: Any) -> None:
    name, _, _ = dense
    flt = {"must": [{"key": "n", "range": {"lt": 12}}]}  # 12 points, all sampled: deterministic
    body = {"filter": flt, "sample": 50, "limit": 3}
    pairs = rest.ok("POST", f"/collections/{name}/points/search/matrix/pairs", json=body)["pairs"]
    theirs = local.search_matrix_pairs(name, query_filter=models.Filter(**flt), sample=50, limit=3).pairs
    assert [(p["a"], p["b"]) for p in pairs] == [(p.a, p.b) for p in theirs]
    np.testing.assert_allclose([p["score"] for p in pairs], [p.score for p in theirs], rtol=1e-4, atol=1e-4)
    offsets = rest.ok("POST", f"/collections/{name}/points/search/matrix/offsets", json=body)
    assert offsets["ids"] == list(range(12))
    assert offsets["offsets_row"] == [i for i in range(12) for _ in range(3)]
    assert [offsets["ids"][c] for c in offsets["offsets_col"]] == [p["b"] for p in pairs]
    small = rest.ok("POST", f"/collections/{name}/points/search/matrix/pairs", json={"sample": 5, "limit": 2})["pairs"]
    assert len(small) == 10
    assert "sample" in rest.error("POST", f"/collections/{name}/points/search/matrix/pairs", 422, json={"sample": 1})


# ---- exact search over an indexed segment (cluster-pruned scan) ------------------------------------


@pytest.mark.parametrize("distance", DISTANCES)
def test_exact_search_on_indexed_clustered_data_matches_local_mode(rest: RestClient, local: QdrantClient, distance: str) -> None:
    """10,000 clustered points in one indexed segment: exact searches skip most clusters, and
    must still return what local mode's brute force returns, with and without a filter."""
    from helpers.server import wait_until

    name = f"x_{uuid.uuid4().hex[:10]}"
    n, dim = 10_000, 16
    rng = np.random.default_rng(DISTANCES.index(distance) + 40)
    centres = rng.normal(size=(100, dim)).astype(np.float32) * 3
    vectors = (centres[rng.integers(0, 100, n)] + 0.3 * rng.normal(size=(n, dim))).astype(np.float32)
    rest.ok("PUT", f"/collections/{name}", json={"vectors": {"size": dim, "distance": distance},
                                                "optimizers_config": {"indexing_threshold": 1}})
    for start in range(0, n, 2500):
        ids = list(range(start, start + 2500))
        rest.ok("PUT", f"/collections/{name}/points", params=WAIT, json={"batch": {
            "ids": ids, "vectors": vectors[start:start + 2500].tolist(), "payloads": [{"k": i % 4} for i in ids]}})
    wait_until(lambda: rest.ok("GET", f"/collections/{name}")["status"] == "green", 120, 0.1, "indexed segment")
    info = rest.ok("GET", f"/collections/{name}")
    assert info["segments_count"] == 1 and info["indexed_vectors_count"] == (0 if distance == "Manhattan" else n)
    local.create_collection(name, vectors_config=models.VectorParams(size=dim, distance=distance))
    local.upsert(name, points=[models.PointStruct(id=i, vector=vectors[i].tolist(), payload={"k": i % 4}) for i in range(n)])
    flt = {"must": [{"key": "k", "match": {"any": [0, 1, 2]}}]}
    local_flt = models.Filter(must=[models.FieldCondition(key="k", match=models.MatchAny(any=[0, 1, 2]))])
    for pick in rng.integers(0, n, 8).tolist():
        q = (vectors[pick] + 0.1 * rng.normal(size=dim)).astype(np.float32).tolist()
        ours = query(rest, name, {"query": q, "limit": 10, "params": {"exact": True}})
        assert_same(ours, local.query_points(name, query=q, limit=10).points)
        ours = query(rest, name, {"query": q, "limit": 10, "filter": flt, "params": {"exact": True}})
        assert_same(ours, local.query_points(name, query=q, limit=10, query_filter=local_flt).points)
