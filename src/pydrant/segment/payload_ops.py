"""Payload update operations (set, overwrite, delete keys, clear) as pure functions on dicts.

Inputs are never mutated: each function returns a new payload that shares nothing mutable with
`new`, so one request body applied to many points cannot alias between them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydrant.errors import ValidationFailed
from pydrant.segment.filtering.paths import Path, checked_path


def json_copy(value: Any) -> Any:
    """Deep copy of a JSON value (much cheaper than copy.deepcopy)."""
    if type(value) is dict:
        return _copy_object(value)
    if type(value) is list:
        return [json_copy(v) for v in value]
    return value


def _copy_object(value: dict[str, Any]) -> dict[str, Any]:
    return {k: json_copy(v) for k, v in value.items()}


def set_payload(current: dict[str, Any] | None, new: dict[str, Any], key: str | None = None) -> dict[str, Any]:
    """Merge `new` into the payload; a null in `new` removes that key.

    With `key` (a path such as `a.b`, `a[0].b`, `a[].b`), merge into the object(s) at that path
    instead, creating objects on the way and replacing non-objects that stand in the way.
    """
    if not isinstance(new, dict):
        raise ValidationFailed("payload: expected an object")
    if key is None:
        result = dict(current or {})
        _merge(result, new)
        return result
    path = checked_path(key, "key")
    result = _copy_object(current or {})
    _set_at(result, path, new)
    return result


def overwrite_payload(current: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """Replace the whole payload with `new`."""
    if not isinstance(new, dict):
        raise ValidationFailed("payload: expected an object")
    return _copy_object(new)


def delete_payload_keys(current: dict[str, Any] | None, keys: Iterable[str]) -> dict[str, Any]:
    """Remove each key path; a missing path is a no-op. `a[]` empties the array at `a`; a path
    ending in an index (`a[1]`) removes nothing, as in Qdrant (deleting by position is not
    idempotent)."""
    paths = [checked_path(k, f"keys[{i}]") for i, k in enumerate(keys)]
    result = _copy_object(current or {})
    for path in paths:
        _delete_at(result, path)
    return result


def clear_payload(current: dict[str, Any] | None = None) -> dict[str, Any]:
    """An empty payload."""
    return {}


def _merge(dest: dict[str, Any], src: dict[str, Any]) -> None:
    for k, v in src.items():
        if v is None:
            dest.pop(k, None)
        else:
            dest[k] = json_copy(v)


def _merged(target: Any, new: dict[str, Any]) -> dict[str, Any]:
    """`target` with `new` merged in, or a fresh object when `target` is not one."""
    obj = target if type(target) is dict else {}
    _merge(obj, new)
    return obj


def _set_at(root: dict[str, Any], path: Path, new: dict[str, Any]) -> None:
    # `holder[slot]` is the place the current step reads from, so a value of the wrong kind
    # can be replaced in its parent.
    _set_step({"root": root}, "root", path, new)


def _set_step(holder: Any, slot: Any, path: Path, new: dict[str, Any]) -> None:
    step, rest = path[0], path[1:]
    data = holder[slot]
    if isinstance(step, str):
        if type(data) is not dict:
            data = holder[slot] = {}
        if not rest:
            data[step] = _merged(data.get(step), new)
            return
        if step not in data:
            data[step] = {}
        _set_step(data, step, rest, new)
        return
    if type(data) is not list:
        # an index step into a non-array makes it an empty array, and there is nothing to set in it
        holder[slot] = []
        return
    targets = range(len(data)) if step is None else ([step] if step < len(data) else [])
    for i in targets:
        if not rest:
            data[i] = _merged(data[i], new)
        else:
            _set_step(data, i, rest, new)


def _delete_at(data: Any, path: Path) -> None:
    step, rest = path[0], path[1:]
    if not rest:
        if isinstance(step, str) and type(data) is dict:
            data.pop(step, None)
        elif step is None and type(data) is list:
            data.clear()
        return
    if isinstance(step, str):
        if type(data) is dict and step in data:
            _delete_at(data[step], rest)
    elif step is None:
        if type(data) is list:
            for item in data:
                _delete_at(item, rest)
    elif type(data) is list and step < len(data):
        _delete_at(data[step], rest)
