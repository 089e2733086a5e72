"""Wire models of point request bodies (the shapes; semantics are checked in the collection)."""

from __future__ import annotations

from typing import Annotated, Any

from msgspec import Meta, Struct

from pydrant.errors import ValidationFailed

IdWire = int | str


class Body(Struct, forbid_unknown_fields=False):
    """Base: unknown fields are ignored, as Qdrant's serde models do."""


def check_min(value: int | None, field: str, minimum: int = 1) -> None:
    """Qdrant's validator: a typed value below its bound is a 422 naming the field."""
    if value is not None and value < minimum:
        raise ValidationFailed(f"{field}: value {value} invalid, must be {minimum} or larger")


class WithVectorsAlias(Body):
    """Qdrant's request models also read `with_vector` under the name `with_vectors`."""

    with_vector: Any = None
    with_vectors: Any = None

    def __post_init__(self) -> None:
        if self.with_vector is None:
            self.with_vector = False if self.with_vectors is None else self.with_vectors


class RetrieveBody(WithVectorsAlias, kw_only=True):
    ids: list[IdWire]
    with_payload: Any = None
    shard_key: Any = None


class SelectorBody(Body):
    points: list[IdWire] | None = None
    filter: Any = None
    shard_key: Any = None


class SetPayloadBody(Body):
    payload: dict[str, Any]
    points: list[IdWire] | None = None
    filter: Any = None
    key: str | None = None
    shard_key: Any = None


class DeletePayloadBody(Body):
    keys: list[str]
    points: list[IdWire] | None = None
    filter: Any = None
    shard_key: Any = None


class DeleteVectorsBody(Body):
    vector: Annotated[list[str], Meta(min_length=1)]
    points: list[IdWire] | None = None
    filter: Any = None
    shard_key: Any = None


UInt = Annotated[int, Meta(ge=0)]


class ScrollBody(WithVectorsAlias):
    offset: IdWire | None = None
    limit: UInt | None = None  # >= 1, checked with Qdrant's validator wording
    filter: Any = None
    with_payload: Any = None
    order_by: Any = None
    shard_key: Any = None


class CountBody(Body):
    filter: Any = None
    exact: bool = True
    shard_key: Any = None


class FacetBody(Body):
    key: str
    limit: UInt | None = None  # >= 1, checked with Qdrant's validator wording
    filter: Any = None
    exact: bool | None = None
    shard_key: Any = None


class CreateIndexBody(Body):
    field_name: str
    field_schema: Any = None


class AliasCreate(Body):
    collection_name: str
    alias_name: str


class AliasDelete(Body):
    alias_name: str


class AliasRename(Body):
    old_alias_name: str
    new_alias_name: str


class AliasAction(Body):
    create_alias: AliasCreate | None = None
    delete_alias: AliasDelete | None = None
    rename_alias: AliasRename | None = None


class AliasesBody(Body):
    actions: list[AliasAction]
