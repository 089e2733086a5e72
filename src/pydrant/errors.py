"""Error kinds shared by every layer; the API edge maps each kind to an HTTP status."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager


class PydrantError(Exception):
    """Base of every error the engine raises on purpose. `message` is shown to the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class BadInput(PydrantError):
    """The request is well-formed JSON but asks for something invalid (HTTP 400)."""

    def __init__(self, message: str) -> None:
        super().__init__(f"Wrong input: {message}")


class ValidationFailed(PydrantError):
    """The request is well-typed but breaks a constraint of the schema (a bound, a length, an
    allowed combination): HTTP 422, as Qdrant answers its validator's errors."""

    def __init__(self, message: str, *, where: str = "JSON body") -> None:
        super().__init__(f"Validation error in {where}: [{message}]")


class MalformedJson(PydrantError):
    """The body is not parseable JSON or has wrong types or shapes (HTTP 400, Qdrant's serde
    errors, which it reports as `Format error in JSON body: ...`)."""

    def __init__(self, message: str, *, where: str = "JSON body") -> None:
        super().__init__(f"Format error in {where}: {message}")


class NotFound(PydrantError):
    """A collection, point, alias or index does not exist (HTTP 404)."""

    def __init__(self, message: str) -> None:
        super().__init__(f"Not found: {message}")


class AlreadyExists(PydrantError):
    """Creating something that exists already (HTTP 409, Qdrant's wording keeps `Wrong input`)."""

    def __init__(self, message: str) -> None:
        super().__init__(f"Wrong input: {message}")


class Unauthorized(PydrantError):
    """No API key, or one that is not configured (HTTP 401; gRPC UNAUTHENTICATED)."""

    def __init__(self, message: str) -> None:
        super().__init__(f"Unauthorized: {message}")


class Forbidden(PydrantError):
    """A known API key that may not do this: the read-only key on a write (HTTP 403; gRPC
    PERMISSION_DENIED)."""

    def __init__(self, message: str) -> None:
        super().__init__(f"Forbidden: {message}")


class PayloadTooLarge(PydrantError):
    """The request body exceeds the configured limit (HTTP 400, as Qdrant's JSON size limit)."""


class Unsupported(PydrantError):
    """A valid Qdrant request that pydrant does not implement (HTTP 501 would lie about the
    request; Qdrant's clients treat 400 as a clean refusal, so this maps to 400)."""

    def __init__(self, message: str) -> None:
        super().__init__(f"Not supported by pydrant: {message}")


class NotAllowed(PydrantError):
    """A cluster operation on a standalone node (HTTP 405, as Qdrant answers it)."""

    def __init__(self, message: str) -> None:
        super().__init__(f"Method not allowed: {message}")


class Timeout(PydrantError):
    """The operation did not finish within the requested timeout (HTTP 408)."""

    def __init__(self, message: str) -> None:
        super().__init__(f"Timeout error: {message}")


class StorageFailure(PydrantError):
    """The storage refused a write (disk full, read-only); nothing was acknowledged (HTTP 500
    in Qdrant's terms is for bugs, so this is 503: retry once the disk is fixed)."""

    def __init__(self, message: str) -> None:
        super().__init__(f"Service internal error: {message}")


class BadRequest(PydrantError):
    """A request Qdrant's collection layer refuses as a bad request (HTTP 400, `Bad request`)."""

    def __init__(self, message: str) -> None:
        super().__init__(f"Bad request: {message}")


class StrictModeViolation(BadRequest):
    """A request that the collection's strict mode refuses (HTTP 400, Qdrant's `Bad request`)."""

    def __init__(self, description: str, solution: str | None = None) -> None:
        super().__init__(description + (f". Help: {solution}" if solution else ""))


class RateLimited(PydrantError):
    """Strict mode's read or write rate limit is used up (HTTP 429, with `Retry-After` seconds
    when waiting helps; None when the request is larger than the limit itself)."""

    def __init__(self, message: str, retry_after: int | None) -> None:
        super().__init__(f"Rate limiting exceeded: {message}")
        self.retry_after = retry_after


# A validator error's field path, at the start of its bracket (after a batch entry's `searches[i].`).
_FIELD_PATH = re.compile(r"^(Validation error in JSON body: \[(?:searches\[\d+\]\.)?)(?=[\w\[\].]+: )")


def name_validation_paths(exc: ValidationFailed, field: str) -> None:
    """Name a validator error's field the way Qdrant's validator does for a request struct
    that flattens another: `internal.limit` in a query body, `search_request.limit` in a
    legacy search body."""
    exc.message = _FIELD_PATH.sub(lambda m: f"{m.group(1)}{field}.", exc.message, count=1)


@contextmanager
def validation_paths_under(field: str) -> Iterator[None]:
    """`name_validation_paths` for every validator error raised in the block."""
    try:
        yield
    except ValidationFailed as exc:
        name_validation_paths(exc, field)
        raise
