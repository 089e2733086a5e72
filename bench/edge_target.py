"""Benchmark target for qdrant-edge-py: Qdrant's Rust engine embedded in this process (optional package)."""

from __future__ import annotations

import shutil
import tempfile
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any, cast

import numpy as np
import qdrant_edge as qe

from bench.data import Dataset
from bench.targets import Filter, Target, TargetError

SCHEMAS = {
    "keyword": qe.PayloadSchemaType.Keyword,
    "integer": qe.PayloadSchemaType.Integer,
    "float": qe.PayloadSchemaType.Float,
    "bool": qe.PayloadSchemaType.Bool,
    "geo": qe.PayloadSchemaType.Geo,
    "text": qe.PayloadSchemaType.Text,
    "datetime": qe.PayloadSchemaType.Datetime,
    "uuid": qe.PayloadSchemaType.Uuid,
}


def _match(m: dict[str, Any]) -> Any:
    if "value" in m:
        return qe.MatchValue(m["value"])
    if "any" in m:
        return qe.MatchAny(m["any"])
    if "except" in m:
        return qe.MatchExcept(m["except"])
    if "text" in m:
        return qe.MatchText(m["text"])
    raise TargetError(0, f"filter: match {sorted(m)} is not translated for qdrant-edge")


def _condition(c: dict[str, Any]) -> Any:
    if "key" in c:
        if "match" in c:
            return qe.FieldCondition(c["key"], match=_match(c["match"]))
        if "range" in c:
            return qe.FieldCondition(c["key"], range=qe.RangeFloat(**c["range"]))
        raise TargetError(0, f"filter: field condition {sorted(c)} is not translated for qdrant-edge")
    if "has_id" in c:
        return qe.HasIdCondition(set(c["has_id"]))
    if "is_empty" in c:
        return qe.IsEmptyCondition(c["is_empty"]["key"])
    if "is_null" in c:
        return qe.IsNullCondition(c["is_null"]["key"])
    if "nested" in c:
        return qe.NestedCondition(c["nested"]["key"], _required(c["nested"]["filter"]))
    if any(k in c for k in ("must", "should", "must_not")):
        return to_filter(c)
    raise TargetError(0, f"filter: condition {sorted(c)} is not translated for qdrant-edge")


def to_filter(flt: Filter | None) -> qe.Filter | None:
    """The REST JSON filter dict as qdrant_edge objects (the subset the workloads use, plus a few)."""
    if flt is None:
        return None
    def clause(name: str) -> list[Any] | None:
        conds = flt.get(name)
        if conds is None:
            return None
        return [_condition(c) for c in (conds if isinstance(conds, list) else [conds])]

    return qe.Filter(must=clause("must"), should=clause("should"), must_not=clause("must_not"))


def _required(flt: Filter) -> qe.Filter:
    """A filter where the operation needs one (update by filter)."""
    out = to_filter(flt)
    if out is None:
        raise TargetError(0, "a filter is required for this operation")
    return out


class EdgeTarget(Target):
    """One EdgeShard per collection, each in its own directory under a temp dir. In-process, so
    CPU time is this process's (the harness's own share is small: it only calls the engine)."""

    name = "qdrant-edge"
    description = f"qdrant-edge-py {version('qdrant-edge-py')} EdgeShard (Qdrant's Rust engine, in-process, temp dir)"

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="qdrant-edge-bench-"))
        self.shards: dict[str, qe.EdgeShard] = {}

    def teardown(self) -> None:
        for shard in self.shards.values():
            shard.close()
        self.shards.clear()
        shutil.rmtree(self.root, ignore_errors=True)

    def _shard(self, coll: str) -> qe.EdgeShard:
        try:
            return self.shards[coll]
        except KeyError:
            raise TargetError(0, f"collection {coll} not found") from None

    def _update(self, coll: str, op: Any) -> None:
        # update() returns once the operation is applied and visible: the equivalent of wait=true
        self._shard(coll).update(op)

    def create_collection(self, coll: str, dim: int) -> None:
        if coll in self.shards:
            raise TargetError(0, f"collection {coll} already exists")
        cfg = qe.EdgeConfig(vectors=qe.EdgeVectorParams(size=dim, distance=qe.Distance.Cosine))
        self.shards[coll] = qe.EdgeShard.create(str(self.root / coll), cfg)

    def drop_collection(self, coll: str) -> None:
        self._shard(coll).close()
        del self.shards[coll]
        shutil.rmtree(self.root / coll, ignore_errors=True)

    def prepare_upsert(self, coll: str, ds: Dataset, start: int, stop: int, form: str) -> Any:
        # Edge has one point form. Only the Python data is prepared here: turning it into engine
        # objects (qe.Point) is timed, as decoding the request body is for a server.
        return list(range(start, stop)), ds.vectors[start:stop], ds.payloads(start, stop)

    def send_upsert(self, coll: str, prepared: Any) -> None:
        ids, vectors, payloads = prepared
        points = [qe.Point(i, v, p) for i, v, p in zip(ids, vectors, payloads)]
        self._update(coll, qe.UpdateOperation.upsert_points(points))

    def retrieve(self, coll: str, ids: list[int]) -> tuple[int, float | None]:
        recs = self._shard(coll).retrieve(cast("list[qe.PointId]", ids), with_payload=True, with_vector=False)
        return len(recs), None

    def create_index(self, coll: str, field: str, schema: str) -> None:
        if schema not in SCHEMAS:
            raise TargetError(0, f"payload schema {schema!r} is not translated for qdrant-edge")
        self._update(coll, qe.UpdateOperation.create_field_index(field, SCHEMAS[schema]))

    def count(self, coll: str, flt: Filter) -> int:
        return int(self._shard(coll).count(qe.CountRequest(exact=True, filter=to_filter(flt))))

    def scroll(self, coll: str, flt: Filter | None, limit: int, offset: Any,
               with_payload: bool, with_vectors: bool) -> tuple[list[int], Any]:
        recs, nxt = self._shard(coll).scroll(qe.ScrollRequest(
            offset=offset, limit=limit, filter=to_filter(flt), with_payload=with_payload, with_vector=with_vectors))
        return [int(r.id) for r in recs], nxt

    def set_payload(self, coll: str, payload: dict[str, Any], flt: Filter) -> None:
        self._update(coll, qe.UpdateOperation.set_payload_by_filter(_required(flt), payload))

    def update_vectors(self, coll: str, ids: list[int], vectors: np.ndarray) -> None:
        pvs = [qe.PointVectors(i, v) for i, v in zip(ids, vectors)]
        self._update(coll, qe.UpdateOperation.update_vectors(pvs))

    def prepare_query(self, coll: str, vector: np.ndarray, limit: int, exact: bool, flt: Filter | None = None) -> Any:
        return coll, qe.QueryRequest(limit=limit, query=qe.Query.Nearest(vector.tolist()), filter=to_filter(flt),
                                     params=qe.SearchParams(exact=exact), with_payload=False, with_vector=False)

    def run_query(self, prepared: Any) -> list[int]:
        coll, req = prepared
        return [int(p.id) for p in self._shard(coll).query(req)]

    def batch(self, coll: str, ops: list[dict[str, Any]]) -> None:
        """Edge has no batch call: the operations are applied one `update` after another, which is
        also what Qdrant's /points/batch promises (in order, not atomic)."""
        translated = [self._batch_op(op) for op in ops]  # translate all first: refuse before applying any
        for op in translated:
            self._update(coll, op)

    def _batch_op(self, op: dict[str, Any]) -> Any:
        U = qe.UpdateOperation
        (kind, body), = op.items()
        if kind == "upsert":
            if "points" not in body:
                raise TargetError(0, "batch upsert: only the record form is translated for qdrant-edge")
            return U.upsert_points([qe.Point(p["id"], p["vector"], p.get("payload")) for p in body["points"]])
        if kind == "delete":
            return (U.delete_points(body["points"]) if "points" in body
                    else U.delete_points_by_filter(_required(body["filter"])))
        if kind in ("set_payload", "overwrite_payload"):
            by_ids, by_filter = ((U.set_payload, U.set_payload_by_filter) if kind == "set_payload"
                                 else (U.overwrite_payload, U.overwrite_payload_by_filter))
            if "points" in body:
                return by_ids(body["points"], body["payload"], body.get("key"))
            return by_filter(_required(body["filter"]), body["payload"], body.get("key"))
        if kind == "update_vectors":
            return U.update_vectors([qe.PointVectors(p["id"], p["vector"]) for p in body["points"]])
        raise TargetError(0, f"batch operation {kind!r} is not translated for qdrant-edge")

    def wait_indexed(self, coll: str, max_s: float) -> float:
        """Edge indexes only when asked: optimize() builds the HNSW graph synchronously (max_s cannot
        bound it). New points are searched brute force until then."""
        started = time.perf_counter()
        self._shard(coll).optimize()
        return time.perf_counter() - started
