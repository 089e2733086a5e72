"""Point ids: unsigned 64-bit integers or UUIDs (simple, hyphenated, urn, braced forms)."""

from __future__ import annotations

import uuid
from typing import cast

from pydrant.errors import MalformedJson

PointId = int | str
"""An external point id as held inside pydrant: an int in [0, 2**64) or a canonical
lowercase hyphenated UUID string."""

MAX_U64 = 2**64 - 1


def parse_point_id(raw: object, field: str = "id") -> PointId:
    """Turn a JSON id into its canonical form or raise MalformedJson naming `field`."""
    if type(raw) is int:
        if 0 <= raw <= MAX_U64:
            return raw
        raise MalformedJson(f"{field}: point id must be an unsigned 64-bit integer or a UUID, got {raw}")
    if isinstance(raw, str):
        try:
            return str(uuid.UUID(raw))
        except ValueError:
            raise MalformedJson(f"{field}: Unable to parse UUID: {raw}") from None
    raise MalformedJson(f"{field}: point id must be an unsigned integer or a UUID string, got {_describe(raw)}")


def parse_path_point_id(raw: str) -> PointId:
    """Parse an id that arrived in a URL path (`GET /points/{id}`)."""
    if raw.isdigit():
        value = int(raw)
        if value <= MAX_U64:
            return value
    return parse_point_id(raw, "id")


def id_sort_key(point_id: PointId) -> tuple[int, int]:
    """Qdrant's id order: every integer id before every UUID, UUIDs by their 128-bit value."""
    if type(point_id) is int:
        return (0, point_id)
    # not an exact int, so a UUID str (`type() is int` does not narrow the union)
    return (1, uuid.UUID(cast(str, point_id)).int)


def _describe(raw: object) -> str:
    if raw is None:
        return "null"
    if isinstance(raw, bool):
        return "a boolean"
    if isinstance(raw, float):
        return f"a float ({raw})"
    return type(raw).__name__
