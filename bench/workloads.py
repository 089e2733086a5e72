"""The workload registry: each workload takes a target adapter and a run context, returns metrics."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import psutil

from bench.data import BUCKETS, CITIES, Dataset, cosine_top_k, filtered_truth
from bench.targets import Target, TargetError

COLL = "bench"


class Skip(Exception):
    """The workload cannot run on this target (unsupported endpoint, no server process, ...)."""


@dataclass
class Metric:
    name: str
    value: float
    unit: str
    better: str  # "higher" or "lower"


@dataclass
class Budget:
    """Bounds for every measuring loop: iterations and seconds."""

    upsert_s: float = 120.0
    latency_iters: int = 200
    latency_s: float = 20.0
    heavy_iters: int = 30
    heavy_s: float = 20.0
    pass_s: float = 30.0  # full scroll / re-embedding pass
    # Distinct query vectors per search phase. pydrant answers ~1,000-1,500 a second: 100 of them
    # (until session 7) made a 70-100 ms phase, in which a one-time cost (the first query of a
    # filter) or one VM hiccup moved the QPS by half. Slow targets stop at heavy_s.
    queries: int = 2000


@dataclass
class Context:
    ds: Dataset
    n: int  # points this target gets (the run's N, or the target's cap)
    budget: Budget
    loaded: int = 0  # points currently in COLL
    notes: list[str] = field(default_factory=list)
    rss_idle: int | None = None


@dataclass
class Workload:
    name: str
    fn: Callable[[Target, Context], list[Metric]]
    needs_data: bool
    mutates: bool
    help: str


REGISTRY: dict[str, Workload] = {}


def workload(name: str, needs_data: bool = True, mutates: bool = False, help: str = "") -> Callable[..., Any]:
    """Register a workload; registry order is run order (read-only before mutating ones)."""

    def deco(fn: Callable[[Target, Context], list[Metric]]) -> Callable[[Target, Context], list[Metric]]:
        REGISTRY[name] = Workload(name, fn, needs_data, mutates, help)
        return fn

    return deco


def latencies(fn: Callable[[int], Any], max_iters: int, max_s: float, warmup: int = 3) -> np.ndarray:
    """Seconds per call of fn(i), at most max_iters calls and about max_s seconds (after warmup)."""
    for i in range(warmup):
        fn(-1 - i)
    out = []
    deadline = time.perf_counter() + max_s
    for i in range(max_iters):
        t0 = time.perf_counter()
        fn(i)
        out.append(time.perf_counter() - t0)
        if time.perf_counter() > deadline:
            break
    return np.asarray(out)


def pct_ms(samples: np.ndarray, q: float) -> float:
    return float(np.percentile(samples, q) * 1000.0)


def load(target: Target, ctx: Context, form: str = "columns", max_s: float | None = None) -> tuple[int, float, float]:
    """(Re)create COLL and upsert ctx.n points in batches of 1000.

    Returns (points, seconds spent sending, CPU seconds of the database side while sending)."""
    try:
        target.drop_collection(COLL)
    except (TargetError, ValueError):
        pass  # absent: fine
    target.create_collection(COLL, ctx.ds.dim)
    ctx.loaded = 0
    sending = 0.0
    cpu = 0.0
    started = time.perf_counter()
    for start, stop in ctx.ds.batches(ctx.n, 1000):
        prepared = target.prepare_upsert(COLL, ctx.ds, start, stop, form)  # encoding is not timed
        c0, t0 = target.cpu_seconds(), time.perf_counter()
        target.send_upsert(COLL, prepared)
        sending += time.perf_counter() - t0
        cpu += target.cpu_seconds() - c0
        ctx.loaded = stop
        if max_s is not None and time.perf_counter() - started > max_s:
            break
    return ctx.loaded, sending, cpu


@workload("upsert", needs_data=False, help="batch upsert of N points (batches of 1000, wait=true), record and column form")
def upsert(target: Target, ctx: Context) -> list[Metric]:
    out = []
    for form in ("records", "columns"):
        done, secs, cpu = load(target, ctx, form, max_s=ctx.budget.upsert_s)
        if done < ctx.n:
            ctx.notes.append(f"upsert {form}: stopped by the time bound after {done} of {ctx.n} points")
        out.append(Metric(f"upsert {form} (wait=true)", done / secs, "points/s", "higher"))
        # CPU per point is far less sensitive than wall time to other load on a shared 2-core box
        out.append(Metric(f"upsert {form}: DB-side CPU per 1k points", cpu / done * 1000 * 1000, "ms", "lower"))
    if ctx.loaded < ctx.n:
        load(target, ctx)  # later workloads need the full set; untimed
    return out


@workload("rss", help="server RSS (psutil) idle and after loading N points")
def rss(target: Target, ctx: Context) -> list[Metric]:
    pid = target.server_pid()
    if pid is None:
        raise Skip("in-process target: no server process to measure")
    loaded = psutil.Process(pid).memory_info().rss
    out = [Metric(f"server RSS with {ctx.loaded} points", loaded / 2**20, "MiB", "lower")]
    if ctx.rss_idle is not None:
        out.insert(0, Metric("server RSS idle", ctx.rss_idle / 2**20, "MiB", "lower"))
        out.append(Metric("RSS growth per point", (loaded - ctx.rss_idle) / max(ctx.loaded, 1), "bytes", "lower"))
    payload = ctx.ds.payload_bytes(ctx.loaded)
    vectors = ctx.loaded * ctx.ds.dim * 4
    ctx.notes.append(f"rss: raw float32 vectors {vectors / 2**20:.1f} MiB, payload JSON {payload / 2**20:.1f} MiB "
                     f"for {ctx.loaded} points")
    return out


@workload("retrieve", help="retrieve 100 random ids with payload, no vector: p50/p95 latency")
def retrieve(target: Target, ctx: Context) -> list[Metric]:
    rng = np.random.default_rng(7)
    id_lists = [rng.choice(ctx.loaded, 100, replace=False).tolist() for _ in range(64)]  # drawn untimed
    server_times: list[float] = []
    short: list[int] = []

    def one(i: int) -> None:
        ids = id_lists[i % len(id_lists)]
        got, server_time = target.retrieve(COLL, ids)
        if got != 100:
            short.append(got)
        if server_time is not None and i >= 0:
            server_times.append(server_time)

    lat = latencies(one, ctx.budget.latency_iters, ctx.budget.latency_s)
    if short:
        ctx.notes.append(f"retrieve: {len(short)} requests returned fewer than 100 points (e.g. {short[0]})")
    out = [Metric("retrieve 100 ids p50", pct_ms(lat, 50), "ms", "lower"),
           Metric("retrieve 100 ids p95", pct_ms(lat, 95), "ms", "lower")]
    if server_times:
        out.append(Metric("retrieve 100 ids p50, server `time`", pct_ms(np.asarray(server_times), 50), "ms", "lower"))
    return out


def _city_filter(i: int) -> dict[str, Any]:
    city = CITIES[i % len(CITIES)]
    return {"must": [{"key": "city", "match": {"value": city}}, {"key": "price", "range": {"gte": 100, "lt": 600}}]}


@workload("filtered", help="indexed keyword + integer range: exact count and first scroll page (100, payload)")
def filtered(target: Target, ctx: Context) -> list[Metric]:
    for field_name, schema in (("city", "keyword"), ("price", "integer")):
        try:
            target.create_index(COLL, field_name, schema)
        except TargetError as exc:
            ctx.notes.append(f"filtered: index on {field_name} not created ({exc}); ran unindexed")
    want = filtered_truth(ctx.ds, ctx.loaded, CITIES[0], 100, 600)
    got = target.count(COLL, _city_filter(0))
    if got != want:
        ctx.notes.append(f"filtered: count returned {got}, expected {want}")
    b = ctx.budget
    lat_count = latencies(lambda i: target.count(COLL, _city_filter(i)), b.heavy_iters, b.heavy_s, warmup=1)
    lat_scroll = latencies(lambda i: target.scroll(COLL, _city_filter(i), 100, None, True, False),
                           b.heavy_iters, b.heavy_s, warmup=1)
    return [Metric("filtered count p50", pct_ms(lat_count, 50), "ms", "lower"),
            Metric("filtered scroll page (100) p50", pct_ms(lat_scroll, 50), "ms", "lower")]


@workload("search", help="query API: exact and indexed top-10 QPS (1 client) and recall@10 vs numpy")
def search(target: Target, ctx: Context) -> list[Metric]:
    queries = ctx.ds.queries(ctx.budget.queries)
    truth = cosine_top_k(ctx.ds.vectors[: ctx.loaded], queries, 10)
    # Both phases run once background indexing is done: exact search measured during an
    # index build would measure the build's competition for the cores, not the scan.
    waited = target.wait_indexed(COLL, 600.0)
    out = [Metric("index build wait (after load)", waited, "s", "lower")]
    for exact in (True, False):
        label = "exact" if exact else "indexed"
        out.extend(_query_metrics(f"search {label}", ctx, truth, target,
                                  [target.prepare_query(COLL, q, 10, exact) for q in queries]))
    pid = target.server_pid()
    if pid is not None:
        # Sampled after the queries, not at the swap: the build's transient copies (sources
        # merged, faiss's own rows) and the first flush of the new segment are gone by then.
        indexed_rss = psutil.Process(pid).memory_info().rss
        out.append(Metric(f"server RSS, {ctx.loaded} points indexed", indexed_rss / 2**20, "MiB", "lower"))
    return out


def _query_metrics(label: str, ctx: Context, truth: np.ndarray, target: Target, requests: list[Any]) -> list[Metric]:
    """QPS of one client sending the prepared query requests (bounded in time; encoding them
    is not timed), then recall@10 of what came back."""
    found: list[list[int]] = []
    cpu_before = target.cpu_seconds()
    started = time.perf_counter()
    for request in requests:
        found.append(target.run_query(request))
        if time.perf_counter() - started > ctx.budget.heavy_s:
            break
    secs = time.perf_counter() - started
    cpu_us = (target.cpu_seconds() - cpu_before) / len(found) * 1e6
    hits = sum(len(set(ids) & set(truth[qi].tolist())) for qi, ids in enumerate(found))
    # The DB-side CPU does not depend on the client: the round trip (QPS) adds the client's
    # own cost and the wake-ups between the two processes.
    return [Metric(f"{label} top-10", len(found) / secs, "QPS", "higher"),
            Metric(f"{label}: DB-side CPU per query", cpu_us, "us", "lower"),
            Metric(f"{label} recall@10", hits / (10 * len(found)), "", "higher")]


@workload("filtered_search", help="indexed top-10 with a filter matching 1% and 30% of points: QPS and recall@10")
def filtered_search(target: Target, ctx: Context) -> list[Metric]:
    """`price` has an integer index (made here if `filtered` did not run); `bucket` has none."""
    target.create_index(COLL, "price", "integer")
    queries = ctx.ds.queries(ctx.budget.queries)
    vectors = ctx.ds.vectors[: ctx.loaded]
    price = ctx.ds.price[: ctx.loaded]
    buckets = np.arange(ctx.loaded) % 10
    cases = [
        ("1%", {"must": [{"key": "price", "range": {"lt": 10}}]}, price < 10),
        ("30%", {"must": [{"key": "bucket", "match": {"any": [0, 1, 2]}}]}, buckets < 3),
    ]
    target.wait_indexed(COLL, 600.0)
    out = []
    for label, flt, mask in cases:
        allowed = np.flatnonzero(mask)
        if len(allowed) <= 10:
            ctx.notes.append(f"filtered_search {label}: only {len(allowed)} matching points at this N; skipped")
            continue
        truth = allowed[cosine_top_k(vectors[allowed], queries, 10)]
        out.extend(_query_metrics(f"filtered search {label}", ctx, truth, target,
                                  [target.prepare_query(COLL, q, 10, False, flt) for q in queries]))
    return out


@workload("scroll_full", help="scroll all points with payload, page 1000, no vectors")
def scroll_full(target: Target, ctx: Context) -> list[Metric]:
    seen = 0
    offset = None
    started = time.perf_counter()
    while True:
        ids, offset = target.scroll(COLL, None, 1000, offset, True, False)
        seen += len(ids)
        if offset is None or not ids:
            break
        if time.perf_counter() - started > ctx.budget.pass_s:
            ctx.notes.append(f"scroll_full: stopped by the time bound after {seen} of {ctx.loaded} points")
            break
    secs = time.perf_counter() - started
    if offset is None and seen != ctx.loaded:
        ctx.notes.append(f"scroll_full: saw {seen} points, expected {ctx.loaded}")
    return [Metric("full scroll with payload (page 1000)", seen / secs, "points/s", "higher")]


@workload("set_payload", mutates=True, help="set_payload by filter (bucket == k) on 10% of points, wait=true")
def set_payload(target: Target, ctx: Context) -> list[Metric]:
    b = ctx.budget

    def one(i: int) -> None:
        k = i % BUCKETS
        target.set_payload(COLL, {"tag": f"updated-{k}"}, {"must": [{"key": "bucket", "match": {"value": k}}]})

    lat = latencies(one, min(b.heavy_iters, 10), b.heavy_s, warmup=1)
    per_op = float(np.median(lat))
    return [Metric("set_payload on 10% by filter p50", per_op * 1000.0, "ms", "lower"),
            Metric("set_payload by filter", (ctx.loaded / BUCKETS) / per_op, "points/s", "higher")]


@workload("reembed", mutates=True, help="re-embedding pass: scroll 1000 with payload, update_vectors per page")
def reembed(target: Target, ctx: Context) -> list[Metric]:
    rng = np.random.default_rng(11)
    done = 0
    offset = None
    started = time.perf_counter()
    while True:
        ids, offset = target.scroll(COLL, None, 1000, offset, True, False)
        if not ids:
            break
        target.update_vectors(COLL, ids, rng.standard_normal((len(ids), ctx.ds.dim), dtype=np.float32))
        done += len(ids)
        if offset is None:
            break
        if time.perf_counter() - started > ctx.budget.pass_s:
            ctx.notes.append(f"reembed: stopped by the time bound after {done} of {ctx.loaded} points")
            break
    secs = time.perf_counter() - started
    return [Metric("re-embed (scroll + update_vectors)", done / secs, "points/s", "higher")]


@workload("mixed_batch", mutates=True, help="POST /points/batch of upsert + set_payload + delete + update_vectors")
def mixed_batch(target: Target, ctx: Context) -> list[Metric]:
    rng = np.random.default_rng(13)
    dim = ctx.ds.dim
    base = ctx.loaded + 1_000_000  # ids of its own, so the loaded data stays as it was

    def one(i: int) -> None:
        ids = [base + 10 * i + j for j in range(10)]
        vectors = rng.standard_normal((10, dim), dtype=np.float32).tolist()
        target.batch(COLL, [
            {"upsert": {"points": [{"id": p, "vector": v, "payload": {"batch": i}} for p, v in zip(ids, vectors)]}},
            {"set_payload": {"payload": {"seen": True}, "points": ids[:5]}},
            {"delete": {"points": ids[8:]}},
            {"update_vectors": {"points": [{"id": ids[0], "vector": vectors[1]}]}},
        ])

    lat = latencies(one, ctx.budget.latency_iters, ctx.budget.latency_s)
    return [Metric("mixed batch request (4 ops)", 1000.0 / max(pct_ms(lat, 50), 1e-9), "req/s", "higher"),
            Metric("mixed batch request p50", pct_ms(lat, 50), "ms", "lower")]
