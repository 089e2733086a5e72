"""The segment router dispatches exactly as Starlette's route list did (differential test)."""

from __future__ import annotations

import itertools
from typing import Any

import msgspec
import pytest
from starlette.routing import Match, Route

from pydrant.api.rest import routes_service as svc
from pydrant.api.rest.app import HEALTH_PATHS, ROUTES, UNSUPPORTED_PATHS, build_router
from pydrant.api.rest.asgi import Api, Endpoint, Static
from pydrant.api.rest.router import Router, segments_of

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
# Values for `{param}` segments, chosen to collide with the literal segments of other routes.
PARAM_VALUES = ["c", "aliases", "points", "query", "delete", "index", "snapshots", "upload", "recover", "1",
                "a b", "%", "?x", "ü", "{collection_name}", "batch", "groups", "exists"]


def _target(endpoint: Endpoint) -> Any:
    return endpoint.handler if isinstance(endpoint, Api) else endpoint.body


def _templates() -> list[tuple[str, str]]:
    return ([(m, p) for m, p, _ in ROUTES] + list(UNSUPPORTED_PATHS)
            + [("GET", p) for p in HEALTH_PATHS] + [("GET", "/")])


def _starlette_table() -> list[tuple[Route, Any]]:
    """The route list the Starlette app was built from, each with what it dispatched to."""
    targets: list[tuple[str, str, Any]] = [(m, p, h) for m, p, h in ROUTES]
    targets += [(m, p, svc.unsupported) for m, p in UNSUPPORTED_PATHS]
    targets += [("GET", p, svc.health_text(p).encode()) for p in HEALTH_PATHS]
    targets.append(("GET", "/", msgspec.json.encode(svc.root())))
    return [(Route(path, lambda request: None, methods=[method]), target) for method, path, target in targets]


def _starlette_match(table: list[tuple[Route, Any]], method: str, path: str) -> Any:
    scope = {"type": "http", "method": method, "path": path, "root_path": ""}
    partial = False
    for route, target in table:
        match, child = route.matches(scope)
        if match is Match.FULL:
            return target, child["path_params"]
        partial = partial or match is Match.PARTIAL
    return 405 if partial else 404


def _segment_match(router: Router[Endpoint], method: str, path: str) -> Any:
    segments = segments_of(path)
    found = None if segments is None else router.match(method, segments)
    if found is not None:
        return _target(found[0]), found[1]
    return 405 if segments is not None and router.allows_path(segments) else 404


def _paths() -> list[str]:
    paths = {"/", "//", "", "*", "/collections//", "/collections//exists", "//collections", "/COLLECTIONS"}
    for _, template in _templates():
        parts = template.split("/")
        slots = [i for i, p in enumerate(parts) if p.startswith("{")]
        for values in itertools.product(PARAM_VALUES[:6] if len(slots) > 1 else PARAM_VALUES, repeat=len(slots)):
            filled = list(parts)
            for i, v in zip(slots, values):
                filled[i] = v
            path = "/".join(filled)
            paths.update({path, path + "/", path + "/x", path.rsplit("/", 1)[0] or "/"})
    return sorted(paths)


EMPTY = "\x01"


def _expected(table: list[tuple[Route, Any]], method: str, path: str) -> Any:
    """Starlette's dispatch, except that an empty segment inside the path fills a `{param}`
    (as in Qdrant, whose handlers then refuse the empty name)."""
    segments = path.split("/")
    last = len(segments) - 1
    marked = "/".join(s if s or i in (0, last) else EMPTY for i, s in enumerate(segments))
    found = _starlette_match(table, method, marked)
    if isinstance(found, tuple):
        return found[0], {k: "" if v == EMPTY else v for k, v in found[1].items()}
    return found


def test_dispatch_equals_starlette() -> None:
    table = _starlette_table()
    router = build_router()
    paths = _paths()
    assert len(paths) > 500
    for path in paths:
        for method in METHODS:
            assert _segment_match(router, method, path) == _expected(table, method, path), (method, path)


def test_an_empty_name_inside_a_path_reaches_the_handler() -> None:
    router = build_router()
    found = router.match("GET", ["collections", "", "exists"])
    assert found is not None and found[1] == {"collection_name": ""}
    assert router.match("GET", ["collections", ""]) is None  # `/collections/` names nothing


def test_first_added_route_wins_over_later_literal() -> None:
    router: Router[str] = Router()
    router.add("GET", "/a/{x}", "param")
    router.add("GET", "/a/b", "literal")
    router.add("POST", "/a/b", "post")
    assert router.match("GET", ["a", "b"]) == ("param", {"x": "b"})
    assert router.match("POST", ["a", "b"]) == ("post", {})
    assert router.match("PUT", ["a", "b"]) is None and router.allows_path(["a", "b"])


@pytest.mark.parametrize(("path", "expected"), [("/a/", None), ("/a//b", None), ("//b", ("two", {"x": ""}))])
def test_params_match_empty_segments_only_inside_the_path(path: str, expected: Any) -> None:
    router: Router[str] = Router()
    router.add("GET", "/a/{x}", "one")
    router.add("GET", "/{x}/b", "two")
    segments = segments_of(path)
    assert segments is not None
    assert router.match("GET", segments) == expected


def test_static_endpoints_are_fixed_bodies() -> None:
    router = build_router()
    found = router.match("GET", ["healthz"])
    assert found is not None and isinstance(found[0], Static) and found[0].body == b"healthz check passed"
    head = router.match("HEAD", [""])
    assert head is not None and isinstance(head[0], Static) and b"qdrant - vector search engine" in head[0].body
