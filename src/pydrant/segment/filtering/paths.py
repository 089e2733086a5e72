"""Payload key paths (`a.b`, `a[].b`, `a[0]`, `"a.b".c`): parsing and value lookup."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydrant.errors import ValidationFailed

PathItem = str | int | None
"""One step of a path: a dict key (str), an array index (int) or every array element (None)."""

Path = tuple[PathItem, ...]

_MAX_INDEX = 2**64 - 1


class PathError(ValueError):
    """A key that is not a valid payload path."""


@lru_cache(maxsize=4096)
def parse_path(key: str) -> Path:
    """Split a key into steps; raise PathError on a malformed path."""
    items: list[PathItem] = []
    rest = key
    if not rest:
        raise PathError("empty path")
    while True:
        if rest.startswith('"'):
            end = rest.find('"', 1)
            if end == -1:
                raise PathError("unterminated quote")
            items.append(rest[1:end])
            rest = rest[end + 1 :]
        else:
            n = 0
            while n < len(rest) and (rest[n].isalnum() or rest[n] in "_-"):
                n += 1
            if n == 0:
                raise PathError(f"unexpected character at {rest[:1]!r}")
            items.append(rest[:n])
            rest = rest[n:]
        while rest.startswith("["):
            end = rest.find("]")
            if end == -1:
                raise PathError("unterminated bracket")
            inner = rest[1:end]
            if inner == "":
                items.append(None)
            elif inner.isascii() and inner.isdigit() and int(inner) <= _MAX_INDEX:
                items.append(int(inner))
            else:
                raise PathError(f"bad array index {inner!r}")
            rest = rest[end + 1 :]
        if not rest:
            return tuple(items)
        if rest.startswith(".") and len(rest) > 1:
            rest = rest[1:]
        else:
            raise PathError(f"unexpected {rest!r}")


def checked_path(key: object, where: str) -> Path:
    """parse_path for user input: a ValidationFailed naming `where` on a bad key."""
    if not isinstance(key, str):
        raise ValidationFailed(f"{where}: key must be a string")
    try:
        return parse_path(key)
    except PathError as exc:
        raise ValidationFailed(f"{where}: invalid payload key {key!r}: {exc}") from None


def values_at(payload: Any, path: Path, flat: bool = True) -> list[Any]:
    """Every value `path` selects in `payload`; with `flat`, a selected array gives its elements.

    Steps never cross arrays implicitly: `a.b` does not look inside `a: [{b: 1}]`, `a[].b` does.
    """
    if len(path) == 1:
        # the common case, kept free of the general walk
        if type(payload) is not dict:
            return []
        k = path[0]
        if k not in payload:
            return []
        v = payload[k]
        if flat and type(v) is list:
            return v
        return [v]
    current = [payload]
    for step in path:
        nxt: list[Any] = []
        if isinstance(step, str):
            for data in current:
                if type(data) is dict and step in data:
                    nxt.append(data[step])
        elif step is None:
            for data in current:
                if type(data) is list:
                    nxt.extend(data)
        else:
            for data in current:
                if type(data) is list and step < len(data):
                    nxt.append(data[step])
        if not nxt:
            return []
        current = nxt
    if not flat:
        return current
    out: list[Any] = []
    for v in current:
        if type(v) is list:
            out.extend(v)
        else:
            out.append(v)
    return out
