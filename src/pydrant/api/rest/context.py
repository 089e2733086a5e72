"""What a REST handler receives: the service, path and query parameters, the body."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from pydrant.collection.collection import Collection, UpdateResult
from pydrant.collection.convert import decode_json
from pydrant.errors import MalformedJson, NotFound, ValidationFailed
from pydrant.service.toc import TableOfContents, check_collection_name

WRITE_ORDERINGS = ("weak", "medium", "strong")
MAX_WAIT_SECONDS = 86_400


class RequestContext:
    __slots__ = ("toc", "path", "query_string", "body", "content_type", "_query")

    def __init__(self, toc: TableOfContents, path: dict[str, str], query_string: bytes, body: bytes,
                 content_type: bytes = b"") -> None:
        self.toc = toc
        self.path = path
        self.query_string = query_string
        self.body = body
        self.content_type = content_type  # the request's Content-Type header (multipart uploads read it)
        self._query: dict[str, str] | None = None

    @property
    def query(self) -> dict[str, str]:
        """Query parameters, parsed on first use (most reads have none); a repeated key keeps
        its last value, blank values are kept (as Starlette's `dict(request.query_params)`)."""
        if self._query is None:
            self._query = dict(parse_qsl(self.query_string.decode("latin-1"), keep_blank_values=True)) if self.query_string else {}
        return self._query

    def json(self) -> Any:
        """The body decoded as JSON (an empty body is an empty object, as for Qdrant's optional bodies)."""
        if not self.body.strip():
            return {}
        return decode_json(self.body)

    def json_object(self) -> dict[str, Any]:
        value = self.json()
        if not isinstance(value, dict):
            raise MalformedJson("expected a JSON object as the request body")
        return value

    def collection(self) -> Collection:
        """The collection named in the path; under strict mode a `timeout` above its
        `max_timeout` is refused here, for every endpoint that takes one."""
        name = self.path["collection_name"]
        try:
            collection = self.toc.get(name)
        except NotFound:
            check_collection_name(name)  # as Qdrant: a name no collection can have is a 422
            raise
        strict = collection.config.strict
        if strict is not None and self.query_string:
            timeout = self.query.get("timeout")
            if timeout is not None and timeout.isdigit():
                strict.timeout(int(timeout))
        return collection

    # ---- query parameters ---------------------------------------------------------------------
    def flag(self, name: str, default: bool) -> bool:
        raw = self.query.get(name)
        if raw is None:
            return default
        if raw in ("true", "false"):
            return raw == "true"
        raise MalformedJson(f"{name}: expected `true` or `false`, got `{raw}`", where="query parameters")

    def positive_int(self, name: str) -> int | None:
        raw = self.query.get(name)
        if raw is None:
            return None
        if not raw.isdigit():
            raise MalformedJson(f"{name}: expected a positive integer, got `{raw}`", where="query parameters")
        if int(raw) < 1:  # Qdrant's validator: a 422
            raise ValidationFailed(f"{name}: value {int(raw)} invalid, must be 1 or larger", where="query parameters")
        return int(raw)

    def write_params(self) -> tuple[bool, float | None]:
        """(wait, timeout) of a write; `ordering` is checked and accepted (one node: always strong)."""
        ordering = self.query.get("ordering")
        if ordering is not None and ordering not in WRITE_ORDERINGS:
            raise MalformedJson(f"ordering: unknown variant `{ordering}`, expected one of weak, medium, strong", where="query parameters")
        timeout = self.positive_int("timeout")
        # Bounded: a wait longer than a day is no different for a client, and huge values
        # overflow the platform's timer.
        return self.flag("wait", False), None if timeout is None else float(min(timeout, MAX_WAIT_SECONDS))


def update_result(result: UpdateResult) -> dict[str, Any]:
    return {"operation_id": result.operation_id, "status": result.status}
