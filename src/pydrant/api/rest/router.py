"""Path dispatch by segments: `{name}` matches one segment (any character but `/`), empty only
inside the path (`/collections//exists`, which the handler refuses as Qdrant does)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Route(Generic[T]):
    method: str
    literals: tuple[tuple[int, str], ...]  # (position, text) of the fixed segments
    params: tuple[tuple[int, str], ...]  # (position, name) of the `{name}` segments
    target: T

    def bind(self, segments: list[str]) -> dict[str, str] | None:
        for i, text in self.literals:
            if segments[i] != text:
                return None
        found: dict[str, str] = {}
        last = len(segments) - 1
        for i, name in self.params:
            if not segments[i] and i == last:  # `/collections/` names no collection
                return None
            found[name] = segments[i]  # inside a path, `//` is an empty name: the handler refuses it
        return found


def segments_of(path: str) -> list[str] | None:
    """`/a/b` -> ["a", "b"]; `/` -> [""]; a path that does not start with `/` matches nothing."""
    return path[1:].split("/") if path.startswith("/") else None


class Router(Generic[T]):
    """The first route added that matches path and method wins, as in Starlette's route list;
    `allows_path` tells a 405 (some route has this path) from a 404.

    Routes are indexed by method, segment count and last segment, so a lookup compares a
    route or two instead of scanning the table."""

    def __init__(self) -> None:
        self._routes: list[_Route[T]] = []
        # (method, segment count) -> (last literal segment -> candidates, candidates ending in a param)
        self._index: dict[tuple[str, int], tuple[dict[str, list[_Route[T]]], list[_Route[T]]]] = {}

    def add(self, method: str, template: str, target: T) -> None:
        parts = segments_of(template)
        if parts is None:
            raise ValueError(f"route template must start with `/`: {template!r}")
        literals = tuple((i, p) for i, p in enumerate(parts) if not (p.startswith("{") and p.endswith("}")))
        params = tuple((i, p[1:-1]) for i, p in enumerate(parts) if p.startswith("{") and p.endswith("}"))
        route = _Route(method, literals, params, target)
        self._routes.append(route)
        by_last, param_last = self._index.setdefault((method, len(parts)), ({}, []))
        last = len(parts) - 1
        if literals and literals[-1][0] == last:
            by_last.setdefault(parts[last], list(param_last)).append(route)
        else:
            param_last.append(route)
            for candidates in by_last.values():  # a param-ending route can also match those paths
                candidates.append(route)

    def match(self, method: str, segments: list[str]) -> tuple[T, dict[str, str]] | None:
        bucket = self._index.get((method, len(segments)))
        if bucket is None:
            return None
        by_last, param_last = bucket
        for route in by_last.get(segments[-1], param_last):
            params = route.bind(segments)
            if params is not None:
                return route.target, params
        return None

    def allows_path(self, segments: list[str]) -> bool:
        """Whether any route, whatever its method, matches these segments (only on misses)."""
        return any(len(r.literals) + len(r.params) == len(segments) and r.bind(segments) is not None for r in self._routes)
