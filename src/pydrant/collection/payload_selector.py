"""`with_payload` include / exclude selectors: which parts of a payload a read returns.

Keys are payload paths (`a.b`, `l[].c`, `"a.b"`); they are merged into a prefix tree in which
`True` selects everything below. Inside arrays only `[]` applies (every element); an index like
`a[0]` selects nothing, as in Qdrant."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydrant.errors import MalformedJson
from pydrant.segment.filtering.paths import PathError, parse_path

Tree = dict[Any, Any]
"""Path step -> a subtree, or True for everything below."""


@lru_cache(maxsize=256)
def selector_tree(keys: tuple[str, ...]) -> Tree:
    """The prefix tree of `keys` (cached: built once per distinct selector, never modified)."""
    tree: Tree = {}
    for key in keys:
        try:
            *parents, last = parse_path(key)
        except (PathError, ValueError):
            raise MalformedJson(f"with_payload: `{key}` is not a payload key path") from None
        node: Any = tree
        for step in parents:
            node = node.setdefault(step, {})
            if node is True:  # a shorter key already selects everything below
                break
        else:
            node[last] = True
    return tree


def include(value: Any, tree: Tree) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            sub = tree.get(key)
            if sub is not None:
                out[key] = item if sub is True else include(item, sub)
        return out
    if isinstance(value, list):
        sub = tree.get(None)
        if sub is None:
            return []
        return value if sub is True else [include(item, sub) for item in value]
    return value


def exclude(value: Any, tree: Tree) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            sub = tree.get(key)
            if sub is None:
                out[key] = item
            elif sub is not True:
                out[key] = exclude(item, sub)
        return out
    if isinstance(value, list):
        sub = tree.get(None)
        if sub is None:
            return value
        return [] if sub is True else [exclude(item, sub) for item in value]
    return value
