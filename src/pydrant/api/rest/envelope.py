"""Response envelopes (JSON bytes, one msgspec encode each) and the one table that maps error
kinds to HTTP statuses."""

from __future__ import annotations

import logging
import time
from typing import Any

import msgspec

from pydrant import errors

log = logging.getLogger("pydrant.api")

STATUS_BY_KIND: dict[type[errors.PydrantError], int] = {
    errors.BadInput: 400,
    errors.ValidationFailed: 422,
    errors.MalformedJson: 400,
    errors.Unsupported: 400,
    errors.NotFound: 404,
    errors.NotAllowed: 405,
    errors.Timeout: 408,
    errors.AlreadyExists: 409,
    errors.PayloadTooLarge: 400,  # Qdrant answers an oversized JSON body with 400
    errors.StorageFailure: 503,
    errors.BadRequest: 400,
    errors.StrictModeViolation: 400,
    errors.RateLimited: 429,
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
}

_encoder = msgspec.json.Encoder()


def status_for(exc: errors.PydrantError) -> int:
    for kind in type(exc).__mro__:
        if kind in STATUS_BY_KIND:
            return STATUS_BY_KIND[kind]
    return 500


def ok(result: Any, started: float) -> bytes:
    return _encoder.encode({"result": result, "status": "ok", "time": time.perf_counter() - started})


def accepted(started: float) -> bytes:
    """Qdrant's 202 body for work started in the background (`wait=false` snapshots)."""
    return _encoder.encode({"status": "accepted", "time": time.perf_counter() - started})


def error(message: str, started: float) -> bytes:
    return _encoder.encode({"status": {"error": message}, "time": time.perf_counter() - started})


def from_exception(exc: BaseException, started: float) -> tuple[int, bytes]:
    """(status, body) of an error answer."""
    if isinstance(exc, errors.PydrantError):
        return status_for(exc), error(exc.message, started)
    log.exception("internal error", exc_info=exc)
    return 500, error(f"Service internal error: {type(exc).__name__}: {exc}", started)
