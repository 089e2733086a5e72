"""A collection's configuration: parsed from the create request, reported back, persisted."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any, Literal

import msgspec

from pydrant.collection.strict_mode import StrictMode
from pydrant.errors import BadInput, MalformedJson, NotFound, Unsupported, ValidationFailed
from pydrant.models.collections import (
    CreateCollection,
    SparseVectorParams,
    UpdateCollection,
    VectorParams,
    to_builtins,
)

DEFAULT_VECTOR = ""  # Qdrant's internal name of the unnamed vector

HNSW_DEFAULTS: dict[str, Any] = {
    "m": 16,
    "ef_construct": 100,
    "full_scan_threshold": 10000,
    "max_indexing_threads": 0,
    "on_disk": False,
}
OPTIMIZER_DEFAULTS: dict[str, Any] = {
    "deleted_threshold": 0.2,
    "vacuum_min_vector_number": 1000,
    "default_segment_number": 0,
    "max_segment_size": None,
    "memmap_threshold": None,
    "indexing_threshold": 10000,
    "flush_interval_sec": 5,
    "max_optimization_threads": None,
}
WAL_DEFAULTS: dict[str, Any] = {"wal_capacity_mb": 32, "wal_segments_ahead": 0, "wal_retain_closed": 1}

VectorKind = Literal["dense", "multi", "sparse"]


@dataclass(frozen=True)
class VectorSpec:
    """One vector name of a collection, with the params it was created with."""

    name: str
    kind: VectorKind
    params: dict[str, Any]

    @property
    def size(self) -> int:
        return int(self.params["size"])

    @property
    def distance(self) -> str:
        return str(self.params["distance"]) if self.kind != "sparse" else "Dot"

    @property
    def uses_idf(self) -> bool:
        """A sparse vector whose query weights are scaled by IDF (`modifier: idf`)."""
        return self.kind == "sparse" and str(self.params.get("modifier") or "none").lower() == "idf"


def decode_model(raw: object, model: type[Any], where: str = "") -> Any:
    """Convert decoded JSON into `model`, turning msgspec errors into Qdrant-style ones."""
    try:
        return msgspec.convert(raw, model)
    except msgspec.ValidationError as exc:
        message = str(exc)
        # A broken bound or length is a validation error (422); a wrong type or a missing
        # field is a format error (400), as Qdrant splits its validator from serde.
        if is_constraint_error(message):
            raise ValidationFailed(bound_message(message, raw, where)) from None
        if where:
            message = message.replace("`$", f"`{where}", 1)
        raise MalformedJson(message) from None


_CONSTRAINT = re.compile(r"Expected `[^`]*` (of length )?(>=|<=|>|<) |Expected `[^`]*` that (is|matches)|length")


_BOUND = re.compile(r"^Expected `(?:int|float)` (>=|<=) (\S+) - at `\$((?:\.\w+|\[\d+\])*)`$")
_STEP = re.compile(r"\.(\w+)|\[(\d+)\]")


def bound_message(message: str, raw: Any, where: str = "") -> str:
    """A msgspec numeric-bound error in Qdrant's validator wording, `limit: value 0 invalid,
    must be 1 or larger`, naming the field by its path in the body (`raw`, below `where`).
    Other constraint errors keep msgspec's wording, with `where` in the path."""
    match = _BOUND.match(message)
    if match is not None:
        op, bound, path = match.groups()
        value: Any = raw
        for name, index in _STEP.findall(path):
            if name and isinstance(value, dict) and name in value:
                value = value[name]
            elif index and isinstance(value, list) and int(index) < len(value):
                value = value[int(index)]
            else:
                break
        else:
            field = (where.removeprefix("$").removeprefix(".") + path).removeprefix(".")
            side = "larger" if op == ">=" else "smaller"
            return f"{field}: value {value} invalid, must be {bound} or {side}"
    return message.replace("`$", f"`{where}", 1) if where else message


def is_constraint_error(message: str) -> bool:
    """A msgspec error that Qdrant's validator would raise (422), not its parser (400). A value
    below zero for an unsigned field (`>= 0`) is a parse error there: the type cannot hold it."""
    return bool(_CONSTRAINT.search(message)) and "` >= 0" not in message


def _vector_specs(vectors: Any) -> dict[str, VectorSpec]:
    if vectors is msgspec.UNSET or vectors is None:
        return {}
    if not isinstance(vectors, dict):
        raise MalformedJson("vectors: expected an object")
    # Qdrant tells the single form from the named map by the presence of `size`/`distance`.
    if "size" in vectors or "distance" in vectors:
        single = decode_model(vectors, VectorParams, "$.vectors")
        return {DEFAULT_VECTOR: _dense_spec(DEFAULT_VECTOR, single, "vectors")}
    specs = {}
    for name, raw in vectors.items():
        params = decode_model(raw, VectorParams, f"$.vectors.{name}")
        specs[name] = _dense_spec(name, params, f"vectors.{name}")
    return specs


MAX_DIMENSION = 65536  # Qdrant's limit on a dense vector's size


def _not_pinned(memory: Any, where: str, what: str) -> None:
    """As Qdrant: dense vectors and payloads have no heap variant to pin in RAM."""
    if memory == "pinned":
        raise ValidationFailed(f"{where}: `pinned` memory placement is not supported for {what}, use `cached` or `cold`")


def _dense_spec(name: str, params: VectorParams, where: str) -> VectorSpec:
    if params.size > MAX_DIMENSION:
        raise ValidationFailed(f"{where}.size: value {params.size} invalid, must be from 1 to {MAX_DIMENSION}")
    _not_pinned(params.memory, f"{where}.memory", "dense vector storage")
    kind: VectorKind = "multi" if params.multivector_config not in (msgspec.UNSET, None) else "dense"
    return VectorSpec(name, kind, _set_fields(params))


def _set_fields(diff: Any) -> dict[str, Any]:
    """The settings a config diff sets: as in Qdrant, a null leaves a setting as it was (at
    creation: its default), nested diffs (a vector's hnsw_config) included."""
    return {k: _set_fields(v) if isinstance(v, dict) else v for k, v in to_builtins(diff).items() if v is not None}


def _merged(defaults: dict[str, Any], diff: Any) -> dict[str, Any]:
    out = dict(defaults)
    if diff not in (msgspec.UNSET, None):
        out.update(_set_fields(diff))
    return out


def _payload_storage(current: dict[str, Any], diff: Any) -> dict[str, Any]:
    """`params.payload` (the payload storage's memory placement) after `diff`; {} while never set,
    so collections created without it report no `payload` section (as Qdrant)."""
    if diff in (msgspec.UNSET, None):
        return {"payload": current["payload"]} if "payload" in current else {}
    changes = _set_fields(diff)
    _not_pinned(changes.get("memory"), "params.payload.memory", "payload storage")
    return {"payload": {**current.get("payload", {}), **changes}}


# Strict mode settings pydrant cannot enforce: refused rather than stored and ignored.
UNENFORCED_STRICT_MODE = ("max_resident_memory_percent",)


def _strict_mode_config(current: dict[str, Any] | None, diff: Any) -> dict[str, Any] | None:
    """`current` updated with the set fields of `diff`. As in Qdrant, a null in an update leaves
    the setting as it was, and settings never set are left out of the answer."""
    if diff in (msgspec.UNSET, None):
        return current
    changes = _set_fields(diff)
    for key in UNENFORCED_STRICT_MODE:
        if key in changes:
            raise Unsupported(f"strict_mode_config.{key}: pydrant does not enforce it")
    return {**(current or {}), **changes}


class CollectionConfig:
    """Everything a collection was created with, plus later PATCH updates."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw  # the persisted form (see `to_persisted`)
        self.strict = StrictMode.from_config(raw.get("strict_mode_config"))  # None: off
        self.vectors_single = raw.get("vectors_single", False)
        self.vectors: dict[str, VectorSpec] = {
            name: VectorSpec(name, spec["kind"], spec["params"]) for name, spec in raw["vectors"].items()
        }
        self.sparse: dict[str, VectorSpec] = {
            name: VectorSpec(name, "sparse", params) for name, params in raw["sparse_vectors"].items()
        }

    # -- construction -------------------------------------------------------------------
    @classmethod
    def from_create_request(cls, body: object) -> "CollectionConfig":
        request: CreateCollection = decode_model(body if body is not None else {}, CreateCollection)
        dense = _vector_specs(request.vectors)
        raw_vectors = request.vectors if isinstance(request.vectors, dict) else {}
        single = DEFAULT_VECTOR in dense and ("size" in raw_vectors or "distance" in raw_vectors)
        sparse: dict[str, Any] = {}
        if request.sparse_vectors not in (msgspec.UNSET, None):
            for name, params in request.sparse_vectors.items():
                if not name:  # Qdrant's words
                    raise ValidationFailed("sparse_vectors: Sparse vector name cannot be empty")
                if name in dense:
                    raise BadInput(f"Dense and sparse vector names must be unique - duplicate found with '{name}'")  # Qdrant's words
                sparse[name] = _set_fields(params)
        if request.init_from not in (msgspec.UNSET, None):
            raise Unsupported("`init_from` (copying another collection's points at creation) is not implemented")
        if request.sharding_method == "custom":
            raise BadInput("custom sharding is not supported by pydrant (single node, one shard)")
        raw = {
            "vectors_single": single,
            "vectors": {n: {"kind": s.kind, "params": s.params} for n, s in dense.items()},
            "sparse_vectors": sparse,
            # Qdrant reports `sparse_vectors` once the collection has had the map, even empty.
            "sparse_declared": request.sparse_vectors not in (msgspec.UNSET, None),
            "params": {
                key: getattr(request, key)
                for key in ("shard_number", "replication_factor", "write_consistency_factor", "on_disk_payload")
                if getattr(request, key) not in (msgspec.UNSET, None)
            } | _payload_storage({}, request.payload),
            "hnsw_config": _merged(HNSW_DEFAULTS, request.hnsw_config),
            "optimizer_config": _merged(OPTIMIZER_DEFAULTS, request.optimizers_config),
            "wal_config": _merged(WAL_DEFAULTS, request.wal_config),
            "quantization_config": None if request.quantization_config is msgspec.UNSET else request.quantization_config,
            "strict_mode_config": _strict_mode_config(None, request.strict_mode_config),
            "metadata": None if request.metadata is msgspec.UNSET else request.metadata,
        }
        return cls(raw)

    def to_persisted(self) -> dict[str, Any]:
        return copy.deepcopy(self.raw)

    # -- lookups --------------------------------------------------------------------------
    def hnsw_for(self, spec: VectorSpec) -> dict[str, Any]:
        """The collection's hnsw_config with the vector's own settings over it."""
        return {**self.raw.get("hnsw_config", {}), **(spec.params.get("hnsw_config") or {})}

    def vector(self, name: str) -> VectorSpec:
        spec = self.vectors.get(name) or self.sparse.get(name)
        if spec is None:
            raise BadInput(f"Not existing vector name error: {name}")  # empty for the default vector, as Qdrant
        return spec

    def all_vectors(self) -> dict[str, VectorSpec]:
        return {**self.vectors, **self.sparse}

    # -- reporting ------------------------------------------------------------------------
    def report(self) -> dict[str, Any]:
        """The `config` object of GET /collections/{name}."""
        params: dict[str, Any] = {}
        if self.vectors_single:
            params["vectors"] = self.vectors[DEFAULT_VECTOR].params
        else:
            params["vectors"] = {name: spec.params for name, spec in self.vectors.items()}
        params.update(
            {
                "shard_number": self.raw["params"].get("shard_number", 1),
                "replication_factor": self.raw["params"].get("replication_factor", 1),
                "write_consistency_factor": self.raw["params"].get("write_consistency_factor", 1),
                "on_disk_payload": self.raw["params"].get("on_disk_payload", True),
            }
        )
        for key in ("read_fan_out_factor", "read_fan_out_delay_ms", "payload"):
            if key in self.raw["params"]:
                params[key] = self.raw["params"][key]
        if self.sparse or self.raw.get("sparse_declared"):
            params["sparse_vectors"] = {name: spec.params for name, spec in self.sparse.items()}
        report: dict[str, Any] = {
            "params": params,
            "hnsw_config": self.raw["hnsw_config"],
            "optimizer_config": self.raw["optimizer_config"],
            "wal_config": self.raw["wal_config"],
            "quantization_config": self.raw["quantization_config"],
        }
        if self.raw.get("strict_mode_config") is not None:
            report["strict_mode_config"] = self.raw["strict_mode_config"]
        if self.raw.get("metadata") is not None:
            report["metadata"] = self.raw["metadata"]
        return report

    # -- updates (PATCH and named-vector changes); each returns a new config ----------------
    def updated(self, body: object) -> "CollectionConfig":
        request: UpdateCollection = decode_model(body if body is not None else {}, UpdateCollection)
        raw = self.to_persisted()
        if request.vectors not in (msgspec.UNSET, None):
            for name, diff in request.vectors.items():
                if name not in raw["vectors"]:
                    raise BadInput(f"Not existing vector name error: {name}")
                params = raw["vectors"][name]["params"]
                changes = _set_fields(diff)
                if raw["vectors"][name]["kind"] != "sparse":
                    _not_pinned(changes.get("memory"), f"vectors.{name}.memory", "dense vector storage")
                if "hnsw_config" in changes:
                    params["hnsw_config"] = {**(params.get("hnsw_config") or {}), **changes.pop("hnsw_config")}
                if changes.get("quantization_config") == "Disabled":
                    del changes["quantization_config"]
                    params.pop("quantization_config", None)
                params.update(changes)
        if request.sparse_vectors not in (msgspec.UNSET, None):
            for name, sparse_params in request.sparse_vectors.items():
                if name not in raw["sparse_vectors"]:
                    raise BadInput(f"Not existing vector name error: {name}")
                raw["sparse_vectors"][name].update(_set_fields(sparse_params))
        if request.optimizers_config not in (msgspec.UNSET, None):
            raw["optimizer_config"].update(_set_fields(request.optimizers_config))
        if request.hnsw_config not in (msgspec.UNSET, None):
            raw["hnsw_config"].update(_set_fields(request.hnsw_config))
        if request.params not in (msgspec.UNSET, None):
            changes = _set_fields(request.params)
            changes.pop("payload", None)
            raw["params"].update(changes | _payload_storage(raw["params"], request.params.payload))
        if request.quantization_config is not msgspec.UNSET:
            raw["quantization_config"] = None if request.quantization_config == "Disabled" else request.quantization_config
        if request.strict_mode_config not in (msgspec.UNSET, None):
            raw["strict_mode_config"] = _strict_mode_config(raw.get("strict_mode_config"), request.strict_mode_config)
        if request.metadata not in (msgspec.UNSET, None):
            raw["metadata"] = {**(raw.get("metadata") or {}), **request.metadata}
        return CollectionConfig(raw)

    def with_vector(self, name: str, body: object) -> "CollectionConfig":
        """Add a named vector: body `{"dense": {size, distance, ...}}` or `{"sparse": {...}}`."""
        if name in self.vectors or name in self.sparse:
            raise BadInput(f"Vector with name `{name}` already exists")
        if not isinstance(body, dict) or len(body) != 1 or not ({"dense", "sparse"} & set(body)):
            raise MalformedJson("expected exactly one of `dense` or `sparse`")
        raw = self.to_persisted()
        if "dense" in body:
            params = decode_model(body["dense"], VectorParams, "$.dense")
            spec = _dense_spec(name, params, "dense")
            raw["vectors"][name] = {"kind": spec.kind, "params": spec.params}
            raw["vectors_single"] = False
        else:
            sparse = decode_model(body["sparse"] if body["sparse"] is not None else {}, SparseVectorParams, "$.sparse")
            raw["sparse_vectors"][name] = _set_fields(sparse)
            raw["sparse_declared"] = True
        return CollectionConfig(raw)

    def without_vector(self, name: str) -> "CollectionConfig":
        raw = self.to_persisted()
        if name in raw["vectors"]:
            del raw["vectors"][name]
        elif name in raw["sparse_vectors"]:
            del raw["sparse_vectors"][name]
        else:
            raise NotFound(f"Vector with name `{name}` does not exist")
        return CollectionConfig(raw)
