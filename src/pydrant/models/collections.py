"""Wire models of collection configuration (create / update / info), as msgspec Structs.

Optional fields default to UNSET so that encoding a model gives back exactly what the user
sent; defaults for reporting live in `pydrant.collection.config`.
"""

from __future__ import annotations

from typing import Any, Literal, Union

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType
from typing_extensions import Annotated

Distance = Literal["Cosine", "Euclid", "Dot", "Manhattan"]
Datatype = Literal["float32", "uint8", "float16"]
MemoryPlacement = Literal["cold", "cached", "pinned"]
PositiveInt = Annotated[int, Meta(ge=1)]
UInt = Annotated[int, Meta(ge=0)]

Opt = Union  # readability alias for `Opt[X, None, UnsetType]`


class Model(Struct, omit_defaults=True, forbid_unknown_fields=False):
    """Base: unknown fields are ignored (as Qdrant's serde models do)."""


class HnswConfigDiff(Model):
    m: Opt[UInt, None, UnsetType] = UNSET
    ef_construct: Opt[Annotated[int, Meta(ge=4)], None, UnsetType] = UNSET
    full_scan_threshold: Opt[Annotated[int, Meta(ge=10)], None, UnsetType] = UNSET
    max_indexing_threads: Opt[UInt, None, UnsetType] = UNSET
    on_disk: Opt[bool, None, UnsetType] = UNSET
    memory: Opt[MemoryPlacement, None, UnsetType] = UNSET
    payload_m: Opt[UInt, None, UnsetType] = UNSET
    inline_storage: Opt[bool, None, UnsetType] = UNSET


class OptimizersConfigDiff(Model):
    deleted_threshold: Opt[Annotated[float, Meta(ge=0, le=1)], None, UnsetType] = UNSET
    vacuum_min_vector_number: Opt[Annotated[int, Meta(ge=100)], None, UnsetType] = UNSET
    default_segment_number: Opt[UInt, None, UnsetType] = UNSET
    max_segment_size: Opt[UInt, None, UnsetType] = UNSET
    memmap_threshold: Opt[UInt, None, UnsetType] = UNSET
    indexing_threshold: Opt[UInt, None, UnsetType] = UNSET
    flush_interval_sec: Opt[UInt, None, UnsetType] = UNSET
    max_optimization_threads: Opt[Any, UnsetType] = UNSET
    prevent_unoptimized: Opt[bool, None, UnsetType] = UNSET


class WalConfigDiff(Model):
    wal_capacity_mb: Opt[PositiveInt, None, UnsetType] = UNSET
    wal_segments_ahead: Opt[UInt, None, UnsetType] = UNSET
    wal_retain_closed: Opt[UInt, None, UnsetType] = UNSET


class MultiVectorConfig(Model):
    comparator: Literal["max_sim"]


class VectorParams(Model):
    size: PositiveInt
    distance: Distance
    hnsw_config: Opt[HnswConfigDiff, None, UnsetType] = UNSET
    quantization_config: Opt[dict[str, Any], None, UnsetType] = UNSET
    on_disk: Opt[bool, None, UnsetType] = UNSET
    memory: Opt[MemoryPlacement, None, UnsetType] = UNSET
    datatype: Opt[Datatype, None, UnsetType] = UNSET
    multivector_config: Opt[MultiVectorConfig, None, UnsetType] = UNSET


class SparseIndexParams(Model):
    full_scan_threshold: Opt[UInt, None, UnsetType] = UNSET
    on_disk: Opt[bool, None, UnsetType] = UNSET
    memory: Opt[MemoryPlacement, None, UnsetType] = UNSET
    datatype: Opt[Datatype, None, UnsetType] = UNSET


class SparseVectorParams(Model):
    index: Opt[SparseIndexParams, None, UnsetType] = UNSET
    modifier: Opt[Literal["none", "idf"], None, UnsetType] = UNSET


class CreateCollection(Model):
    vectors: Opt[dict[str, Any], UnsetType] = UNSET
    shard_number: Opt[PositiveInt, None, UnsetType] = UNSET
    sharding_method: Opt[Literal["auto", "custom"], None, UnsetType] = UNSET
    replication_factor: Opt[PositiveInt, None, UnsetType] = UNSET
    write_consistency_factor: Opt[PositiveInt, None, UnsetType] = UNSET
    on_disk_payload: Opt[bool, None, UnsetType] = UNSET
    hnsw_config: Opt[HnswConfigDiff, None, UnsetType] = UNSET
    wal_config: Opt[WalConfigDiff, None, UnsetType] = UNSET
    optimizers_config: Opt[OptimizersConfigDiff, None, UnsetType] = UNSET
    quantization_config: Opt[dict[str, Any], None, UnsetType] = UNSET
    sparse_vectors: Opt[dict[str, SparseVectorParams], None, UnsetType] = UNSET
    strict_mode_config: Opt[dict[str, Any], None, UnsetType] = UNSET
    metadata: Opt[dict[str, Any], None, UnsetType] = UNSET
    init_from: Opt[Any, None, UnsetType] = UNSET


class VectorParamsDiff(Model):
    hnsw_config: Opt[HnswConfigDiff, None, UnsetType] = UNSET
    quantization_config: Opt[Any, None, UnsetType] = UNSET
    on_disk: Opt[bool, None, UnsetType] = UNSET
    memory: Opt[MemoryPlacement, None, UnsetType] = UNSET


class CollectionParamsDiff(Model):
    replication_factor: Opt[PositiveInt, None, UnsetType] = UNSET
    write_consistency_factor: Opt[PositiveInt, None, UnsetType] = UNSET
    read_fan_out_factor: Opt[UInt, None, UnsetType] = UNSET
    read_fan_out_delay_ms: Opt[UInt, None, UnsetType] = UNSET
    on_disk_payload: Opt[bool, None, UnsetType] = UNSET


class UpdateCollection(Model):
    vectors: Opt[dict[str, VectorParamsDiff], None, UnsetType] = UNSET
    optimizers_config: Opt[OptimizersConfigDiff, None, UnsetType] = UNSET
    params: Opt[CollectionParamsDiff, None, UnsetType] = UNSET
    hnsw_config: Opt[HnswConfigDiff, None, UnsetType] = UNSET
    quantization_config: Opt[Any, None, UnsetType] = UNSET
    sparse_vectors: Opt[dict[str, SparseVectorParams], None, UnsetType] = UNSET
    strict_mode_config: Opt[dict[str, Any], None, UnsetType] = UNSET
    metadata: Opt[dict[str, Any], None, UnsetType] = UNSET


def to_builtins(model: Struct) -> dict[str, Any]:
    """A model as plain JSON-ready data, without unset fields."""
    out = msgspec.to_builtins(model)
    assert isinstance(out, dict)
    return out
