"""A bound on how deeply JSON values nest, checked before anything is logged.

Qdrant's JSON parser refuses bodies nested deeper than 128 levels; pydrant bounds payload
values so that every accepted value also round-trips through the WAL codec and every recursive
reader, whatever the thread's stack depth."""

from __future__ import annotations

from typing import Any

from pydrant.errors import MalformedJson

MAX_PAYLOAD_DEPTH = 100


def check_nesting(value: Any, where: str, limit: int = MAX_PAYLOAD_DEPTH) -> None:
    """Raise MalformedJson if containers in `value` nest deeper than `limit` levels."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        if depth > limit:
            raise MalformedJson(f"{where}: nesting is deeper than {limit} levels")
        children = current.values() if type(current) is dict else current
        for child in children:
            if type(child) is dict or type(child) is list:
                stack.append((child, depth + 1))
