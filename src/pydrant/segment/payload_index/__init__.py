"""Payload (field) indexes: per-key structures that answer filter conditions without a scan."""

from pydrant.segment.payload_index.base import FieldIndex
from pydrant.segment.payload_index.factory import (
    SCHEMA_TYPES,
    make_field_index,
    parse_field_schema,
)

__all__ = ["SCHEMA_TYPES", "FieldIndex", "make_field_index", "parse_field_schema"]
