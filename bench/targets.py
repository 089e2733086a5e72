"""Target adapters: one small interface over pydrant (raw HTTP or qdrant-client REST) and local mode."""

from __future__ import annotations

import shutil
from abc import ABC, abstractmethod
import time
import tempfile
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import psutil
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import UnexpectedResponse

from bench.data import Dataset
from bench.http_client import CurlConnection
from bench.server import PydrantServer

Filter = dict[str, Any]


class TargetError(Exception):
    """The target refused an operation (HTTP status for servers, 0 for local mode)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}" if status else message)
        self.status = status


class Target(ABC):
    """What every workload may call. Ids are ints; filters are Qdrant JSON filter dicts."""

    name = "target"
    description = ""
    is_pydrant = False
    max_points: int | None = None  # cap for slow targets; None = the run's N

    def setup(self) -> None: ...
    def teardown(self) -> None: ...
    def server_pid(self) -> int | None:
        return None

    def cpu_seconds(self) -> float:
        """CPU time of whatever does the database work: the server process, or this process for local mode."""
        pid = self.server_pid()
        if pid is None:
            return time.process_time()
        cpu = psutil.Process(pid).cpu_times()
        return float(cpu.user + cpu.system)

    @abstractmethod
    def create_collection(self, coll: str, dim: int) -> None: ...
    @abstractmethod
    def drop_collection(self, coll: str) -> None: ...
    @abstractmethod
    def prepare_upsert(self, coll: str, ds: Dataset, start: int, stop: int, form: str) -> Any: ...
    @abstractmethod
    def send_upsert(self, coll: str, prepared: Any) -> None: ...
    @abstractmethod
    def retrieve(self, coll: str, ids: list[int]) -> tuple[int, float | None]: ...
    @abstractmethod
    def create_index(self, coll: str, field: str, schema: str) -> None: ...
    @abstractmethod
    def count(self, coll: str, flt: Filter) -> int: ...
    @abstractmethod
    def scroll(self, coll: str, flt: Filter | None, limit: int, offset: Any,
               with_payload: bool, with_vectors: bool) -> tuple[list[int], Any]: ...
    @abstractmethod
    def set_payload(self, coll: str, payload: dict[str, Any], flt: Filter) -> None: ...
    @abstractmethod
    def update_vectors(self, coll: str, ids: list[int], vectors: np.ndarray) -> None: ...
    @abstractmethod
    def prepare_query(self, coll: str, vector: np.ndarray, limit: int, exact: bool, flt: Filter | None = None) -> Any:
        """The request for the top-`limit` ids of `vector` (exact or indexed), optionally
        filtered, built before the clock starts: request encoding is not timed, as for upserts."""

    @abstractmethod
    def run_query(self, prepared: Any) -> list[int]:
        """Send a `prepare_query` request; the ids found, best first."""

    def query(self, coll: str, vector: np.ndarray, limit: int, exact: bool, flt: Filter | None = None) -> list[int]:
        return self.run_query(self.prepare_query(coll, vector, limit, exact, flt))

    @abstractmethod
    def batch(self, coll: str, ops: list[dict[str, Any]]) -> None:
        """POST /points/batch with operations in the REST shape."""

    def wait_indexed(self, coll: str, max_s: float) -> float:
        """Wait (bounded) until background indexing is done; returns the seconds waited.
        Local mode has no background indexing."""
        return 0.0


class RawHttpTarget(Target):
    """pydrant driven with pre-encoded JSON bodies over one keep-alive HTTP/1.1 connection.

    The client is libcurl (bench/http_client.py): ~0.1 ms of client CPU per request here, against
    http.client's ~0.25 and httpx's ~0.6, so the numbers are mostly the server's."""

    name = "pydrant-http"
    description = "pydrant server, raw HTTP (keep-alive libcurl connection, msgspec-encoded bodies)"
    is_pydrant = True

    def __init__(self, profile: Path | None = None) -> None:
        self.server = PydrantServer(profile=profile)
        self.http: CurlConnection | None = None
        self.enc = msgspec.json.Encoder()
        self.dec = msgspec.json.Decoder()

    def setup(self) -> None:
        self.server.start()
        self.http = CurlConnection(f"http://127.0.0.1:{self.server.port}")

    def teardown(self) -> None:
        if self.http is not None:
            self.http.close()
        self.server.stop()
        self.server.cleanup()

    def server_pid(self) -> int | None:
        return self.server.pid

    def _call(self, method: str, path: str, body: Any = None, raw: bytes | None = None) -> dict[str, Any]:
        assert self.http is not None, "setup() not called"
        content = raw if raw is not None else (self.enc.encode(body) if body is not None else None)
        status, data = self.http.request(method, path, content)
        try:
            doc = self.dec.decode(data)
        except msgspec.DecodeError:
            doc = {"status": {"error": data[:200].decode(errors="replace")}}
        if status >= 300:
            problem = doc.get("status") if isinstance(doc, dict) else None
            msg = problem.get("error") if isinstance(problem, dict) else data[:200].decode(errors="replace")
            raise TargetError(status, str(msg))
        return doc  # type: ignore[no-any-return]

    def create_collection(self, coll: str, dim: int) -> None:
        self._call("PUT", f"/collections/{coll}", {"vectors": {"size": dim, "distance": "Cosine"}})

    def drop_collection(self, coll: str) -> None:
        self._call("DELETE", f"/collections/{coll}")

    def prepare_upsert(self, coll: str, ds: Dataset, start: int, stop: int, form: str) -> bytes:
        ids = list(range(start, stop))
        vectors = ds.vectors[start:stop].tolist()
        payloads = ds.payloads(start, stop)
        if form == "records":
            body: dict[str, Any] = {"points": [{"id": i, "vector": v, "payload": p}
                                               for i, v, p in zip(ids, vectors, payloads)]}
        else:
            body = {"batch": {"ids": ids, "vectors": vectors, "payloads": payloads}}
        return self.enc.encode(body)

    def send_upsert(self, coll: str, prepared: bytes) -> None:
        self._call("PUT", f"/collections/{coll}/points?wait=true", raw=prepared)

    def retrieve(self, coll: str, ids: list[int]) -> tuple[int, float | None]:
        doc = self._call("POST", f"/collections/{coll}/points",
                         {"ids": ids, "with_payload": True, "with_vector": False})
        return len(doc["result"]), float(doc["time"])

    def create_index(self, coll: str, field: str, schema: str) -> None:
        self._call("PUT", f"/collections/{coll}/index?wait=true", {"field_name": field, "field_schema": schema})

    def count(self, coll: str, flt: Filter) -> int:
        return int(self._call("POST", f"/collections/{coll}/points/count", {"filter": flt, "exact": True})["result"]["count"])

    def scroll(self, coll: str, flt: Filter | None, limit: int, offset: Any,
               with_payload: bool, with_vectors: bool) -> tuple[list[int], Any]:
        body: dict[str, Any] = {"limit": limit, "with_payload": with_payload, "with_vector": with_vectors}
        if flt is not None:
            body["filter"] = flt
        if offset is not None:
            body["offset"] = offset
        res = self._call("POST", f"/collections/{coll}/points/scroll", body)["result"]
        return [p["id"] for p in res["points"]], res.get("next_page_offset")

    def set_payload(self, coll: str, payload: dict[str, Any], flt: Filter) -> None:
        self._call("POST", f"/collections/{coll}/points/payload?wait=true", {"payload": payload, "filter": flt})

    def update_vectors(self, coll: str, ids: list[int], vectors: np.ndarray) -> None:
        points = [{"id": i, "vector": v} for i, v in zip(ids, vectors.tolist())]
        self._call("PUT", f"/collections/{coll}/points/vectors?wait=true", {"points": points})

    def prepare_query(self, coll: str, vector: np.ndarray, limit: int, exact: bool, flt: Filter | None = None) -> Any:
        body: dict[str, Any] = {"query": vector.tolist(), "limit": limit, "params": {"exact": exact}, "with_payload": False}
        if flt is not None:
            body["filter"] = flt
        return f"/collections/{coll}/points/query", self.enc.encode(body)

    def run_query(self, prepared: Any) -> list[int]:
        path, raw = prepared
        res = self._call("POST", path, raw=raw)["result"]
        return [p["id"] for p in res["points"]]

    def batch(self, coll: str, ops: list[dict[str, Any]]) -> None:
        self._call("POST", f"/collections/{coll}/points/batch?wait=true", {"operations": ops})

    def wait_indexed(self, coll: str, max_s: float) -> float:
        started = time.perf_counter()
        while time.perf_counter() - started < max_s:
            if self._call("GET", f"/collections/{coll}")["result"]["status"] == "green":
                break
            time.sleep(0.5)  # polling a server's status, not synchronising a test
        return time.perf_counter() - started


class ClientTarget(Target):
    """Anything reached through a `QdrantClient`: pydrant over REST, or local mode."""

    def __init__(self) -> None:
        self.client: QdrantClient | None = None

    def _client(self) -> QdrantClient:
        assert self.client is not None, "setup() not called"
        return self.client

    def _guard(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except UnexpectedResponse as exc:
            raise TargetError(exc.status_code, exc.content.decode(errors="replace")[:200]) from exc

    def create_collection(self, coll: str, dim: int) -> None:
        self._guard(self._client().create_collection, coll,
                    vectors_config=models.VectorParams(size=dim, distance=models.Distance.COSINE))

    def drop_collection(self, coll: str) -> None:
        self._guard(self._client().delete_collection, coll)

    def prepare_upsert(self, coll: str, ds: Dataset, start: int, stop: int, form: str) -> Any:
        ids = list(range(start, stop))
        vectors = ds.vectors[start:stop].tolist()
        payloads = ds.payloads(start, stop)
        if form == "records":
            return [models.PointStruct(id=i, vector=v, payload=p) for i, v, p in zip(ids, vectors, payloads)]
        return models.Batch(ids=ids, vectors=vectors, payloads=payloads)

    def send_upsert(self, coll: str, prepared: Any) -> None:
        self._guard(self._client().upsert, coll, points=prepared, wait=True)

    def retrieve(self, coll: str, ids: list[int]) -> tuple[int, float | None]:
        recs = self._guard(self._client().retrieve, coll, ids=ids, with_payload=True, with_vectors=False)
        return len(recs), None

    def create_index(self, coll: str, field: str, schema: str) -> None:
        self._guard(self._client().create_payload_index, coll, field_name=field,
                    field_schema=models.PayloadSchemaType(schema), wait=True)

    def count(self, coll: str, flt: Filter) -> int:
        res = self._guard(self._client().count, coll, count_filter=models.Filter.model_validate(flt), exact=True)
        return int(res.count)

    def scroll(self, coll: str, flt: Filter | None, limit: int, offset: Any,
               with_payload: bool, with_vectors: bool) -> tuple[list[int], Any]:
        qf = models.Filter.model_validate(flt) if flt is not None else None
        recs, nxt = self._guard(self._client().scroll, coll, scroll_filter=qf, limit=limit, offset=offset,
                                with_payload=with_payload, with_vectors=with_vectors)
        return [r.id for r in recs], nxt

    def set_payload(self, coll: str, payload: dict[str, Any], flt: Filter) -> None:
        self._guard(self._client().set_payload, coll, payload=payload,
                    points=models.FilterSelector(filter=models.Filter.model_validate(flt)), wait=True)

    def update_vectors(self, coll: str, ids: list[int], vectors: np.ndarray) -> None:
        points = [models.PointVectors(id=i, vector=v) for i, v in zip(ids, vectors.tolist())]
        self._guard(self._client().update_vectors, coll, points=points, wait=True)

    def batch(self, coll: str, ops: list[dict[str, Any]]) -> None:
        parsed = [models.UpdateOperations.model_validate({"operations": [op]}).operations[0] for op in ops]
        self._guard(self._client().batch_update_points, coll, update_operations=parsed, wait=True)

    def prepare_query(self, coll: str, vector: np.ndarray, limit: int, exact: bool, flt: Filter | None = None) -> Any:
        qf = models.Filter.model_validate(flt) if flt is not None else None
        return coll, {"query": vector.tolist(), "limit": limit, "query_filter": qf,
                      "search_params": models.SearchParams(exact=exact), "with_payload": False}

    def run_query(self, prepared: Any) -> list[int]:
        coll, kwargs = prepared
        res = self._guard(self._client().query_points, coll, **kwargs)
        return [p.id for p in res.points]


class PydrantClientTarget(ClientTarget):
    """pydrant server driven through qdrant-client over REST (pydantic models, its own JSON encoding)."""

    name = "pydrant-qc"
    description = "pydrant server, qdrant-client REST (prefer_grpc=False)"
    is_pydrant = True

    def __init__(self, profile: Path | None = None) -> None:
        super().__init__()
        self.server = PydrantServer(profile=profile)

    def setup(self) -> None:
        self.server.start()
        self.client = QdrantClient(url=self.server.url, prefer_grpc=False, timeout=300, check_compatibility=False)

    def teardown(self) -> None:
        if self.client is not None:
            self.client.close()
        self.server.stop()
        self.server.cleanup()

    def server_pid(self) -> int | None:
        return self.server.pid


class LocalMemoryTarget(ClientTarget):
    name = "local-mem"
    description = 'qdrant-client local mode QdrantClient(":memory:")'

    def setup(self) -> None:
        self.client = QdrantClient(":memory:")

    def teardown(self) -> None:
        if self.client is not None:
            self.client.close()


class LocalDiskTarget(ClientTarget):
    name = "local-disk"
    description = "qdrant-client local mode QdrantClient(path=tmpdir) (sqlite, one commit per point)"

    def __init__(self, max_points: int) -> None:
        super().__init__()
        self.max_points = max_points
        self.path = Path(tempfile.mkdtemp(prefix="qdrant-local-bench-"))

    def setup(self) -> None:
        self.client = QdrantClient(path=str(self.path))

    def teardown(self) -> None:
        if self.client is not None:
            self.client.close()
        shutil.rmtree(self.path, ignore_errors=True)
