"""Wire models of collection configuration (create / update / info), as msgspec Structs.

Optional fields default to UNSET so that encoding a model gives back exactly what the user
sent; defaults for reporting live in `pydrant.collection.config`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeAlias, TypeVar

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

Distance = Literal["Cosine", "Euclid", "Dot", "Manhattan"]
Datatype = Literal["float32", "uint8", "float16"]
MemoryPlacement = Literal["cold", "cached", "pinned"]
PositiveInt = Annotated[int, Meta(ge=1)]
UInt = Annotated[int, Meta(ge=0)]

_T = TypeVar("_T")
Opt: TypeAlias = _T | None | UnsetType  # optional field: absent (UNSET), null, or a value


class Model(Struct, omit_defaults=True, forbid_unknown_fields=False):
    """Base: unknown fields are ignored (as Qdrant's serde models do)."""


class HnswConfigDiff(Model):
    m: Opt[UInt] = UNSET
    ef_construct: Opt[Annotated[int, Meta(ge=4)]] = UNSET
    full_scan_threshold: Opt[Annotated[int, Meta(ge=10)]] = UNSET
    max_indexing_threads: Opt[UInt] = UNSET
    on_disk: Opt[bool] = UNSET
    memory: Opt[MemoryPlacement] = UNSET
    payload_m: Opt[UInt] = UNSET
    inline_storage: Opt[bool] = UNSET


class OptimizersConfigDiff(Model):
    deleted_threshold: Opt[Annotated[float, Meta(ge=0, le=1)]] = UNSET
    vacuum_min_vector_number: Opt[Annotated[int, Meta(ge=100)]] = UNSET
    default_segment_number: Opt[UInt] = UNSET
    max_segment_size: Opt[UInt] = UNSET
    memmap_threshold: Opt[UInt] = UNSET
    indexing_threshold: Opt[UInt] = UNSET
    flush_interval_sec: Opt[UInt] = UNSET
    max_optimization_threads: Any | UnsetType = UNSET
    prevent_unoptimized: Opt[bool] = UNSET


class WalConfigDiff(Model):
    wal_capacity_mb: Opt[PositiveInt] = UNSET
    wal_segments_ahead: Opt[UInt] = UNSET
    wal_retain_closed: Opt[UInt] = UNSET


class MultiVectorConfig(Model):
    comparator: Literal["max_sim"]


class VectorParams(Model):
    size: PositiveInt
    distance: Distance
    hnsw_config: Opt[HnswConfigDiff] = UNSET
    quantization_config: Opt[dict[str, Any]] = UNSET
    on_disk: Opt[bool] = UNSET
    memory: Opt[MemoryPlacement] = UNSET
    datatype: Opt[Datatype] = UNSET
    multivector_config: Opt[MultiVectorConfig] = UNSET


class SparseIndexParams(Model):
    full_scan_threshold: Opt[UInt] = UNSET
    on_disk: Opt[bool] = UNSET
    memory: Opt[MemoryPlacement] = UNSET
    datatype: Opt[Datatype] = UNSET


class SparseVectorParams(Model):
    index: Opt[SparseIndexParams] = UNSET
    modifier: Opt[Literal["none", "idf"]] = UNSET


class PayloadStorageParams(Model):
    memory: Opt[MemoryPlacement] = UNSET


class CreateCollection(Model):
    vectors: dict[str, Any] | UnsetType = UNSET
    shard_number: Opt[PositiveInt] = UNSET
    sharding_method: Opt[Literal["auto", "custom"]] = UNSET
    replication_factor: Opt[PositiveInt] = UNSET
    write_consistency_factor: Opt[PositiveInt] = UNSET
    on_disk_payload: Opt[bool] = UNSET
    payload: Opt[PayloadStorageParams] = UNSET
    hnsw_config: Opt[HnswConfigDiff] = UNSET
    wal_config: Opt[WalConfigDiff] = UNSET
    optimizers_config: Opt[OptimizersConfigDiff] = UNSET
    quantization_config: Opt[dict[str, Any]] = UNSET
    quantization: Opt[dict[str, Any]] = UNSET  # Qdrant's alias of quantization_config
    sparse_vectors: Opt[dict[str, SparseVectorParams]] = UNSET
    strict_mode_config: Opt[StrictModeConfig] = UNSET
    metadata: Opt[dict[str, Any]] = UNSET
    init_from: Opt[Any] = UNSET

    def __post_init__(self) -> None:
        if self.quantization_config is UNSET:
            self.quantization_config = self.quantization


class StrictModeMultivector(Model):
    max_vectors: Opt[PositiveInt] = UNSET


class StrictModeSparse(Model):
    max_length: Opt[PositiveInt] = UNSET


class StrictModeConfig(Model):
    """`strict_mode_config` as the contract types it (collection/strict_mode.py applies it)."""

    enabled: Opt[bool] = UNSET
    max_query_limit: Opt[PositiveInt] = UNSET
    max_timeout: Opt[PositiveInt] = UNSET
    unindexed_filtering_retrieve: Opt[bool] = UNSET
    unindexed_filtering_update: Opt[bool] = UNSET
    search_max_hnsw_ef: Opt[UInt] = UNSET
    search_allow_exact: Opt[bool] = UNSET
    search_max_oversampling: Opt[float] = UNSET
    upsert_max_batchsize: Opt[UInt] = UNSET
    search_max_batchsize: Opt[UInt] = UNSET
    max_collection_vector_size_bytes: Opt[UInt] = UNSET
    read_rate_limit: Opt[PositiveInt] = UNSET
    write_rate_limit: Opt[PositiveInt] = UNSET
    max_collection_payload_size_bytes: Opt[UInt] = UNSET
    max_points_count: Opt[PositiveInt] = UNSET
    filter_max_conditions: Opt[UInt] = UNSET
    condition_max_size: Opt[UInt] = UNSET
    multivector_config: Opt[dict[str, StrictModeMultivector]] = UNSET
    sparse_config: Opt[dict[str, StrictModeSparse]] = UNSET
    max_payload_index_count: Opt[UInt] = UNSET
    max_resident_memory_percent: Opt[Annotated[int, Meta(ge=1, le=100)]] = UNSET


class VectorParamsDiff(Model):
    hnsw_config: Opt[HnswConfigDiff] = UNSET
    quantization_config: Opt[Any] = UNSET
    on_disk: Opt[bool] = UNSET
    memory: Opt[MemoryPlacement] = UNSET


class CollectionParamsDiff(Model):
    replication_factor: Opt[PositiveInt] = UNSET
    write_consistency_factor: Opt[PositiveInt] = UNSET
    read_fan_out_factor: Opt[UInt] = UNSET
    read_fan_out_delay_ms: Opt[UInt] = UNSET
    on_disk_payload: Opt[bool] = UNSET
    payload: Opt[PayloadStorageParams] = UNSET


class UpdateCollection(Model):
    vectors: Opt[dict[str, VectorParamsDiff]] = UNSET
    optimizers_config: Opt[OptimizersConfigDiff] = UNSET
    params: Opt[CollectionParamsDiff] = UNSET
    hnsw_config: Opt[HnswConfigDiff] = UNSET
    quantization_config: Opt[Any] = UNSET
    sparse_vectors: Opt[dict[str, SparseVectorParams]] = UNSET
    strict_mode_config: Opt[StrictModeConfig] = UNSET
    metadata: Opt[dict[str, Any]] = UNSET


def to_builtins(model: Struct) -> dict[str, Any]:
    """A model as plain JSON-ready data, without unset fields."""
    out = msgspec.to_builtins(model)
    assert isinstance(out, dict)
    return out
