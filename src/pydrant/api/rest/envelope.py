"""Response envelopes and the one table that maps error kinds to HTTP statuses."""

from __future__ import annotations

import logging
import time
from typing import Any

import msgspec
from starlette.responses import Response

from pydrant import errors

log = logging.getLogger("pydrant.api")

STATUS_BY_KIND: dict[type[errors.PydrantError], int] = {
    errors.BadInput: 400,
    errors.ValidationFailed: 422,
    errors.MalformedJson: 400,
    errors.Unsupported: 400,
    errors.NotFound: 404,
    errors.Timeout: 408,
    errors.AlreadyExists: 409,
    errors.PayloadTooLarge: 400,  # Qdrant answers an oversized JSON body with 400
    errors.StorageFailure: 503,
}

_encoder = msgspec.json.Encoder()


class JsonBytes(Response):
    media_type = "application/json"


def status_for(exc: errors.PydrantError) -> int:
    for kind in type(exc).__mro__:
        if kind in STATUS_BY_KIND:
            return STATUS_BY_KIND[kind]
    return 500


def ok(result: Any, started: float) -> Response:
    body = _encoder.encode({"result": result, "status": "ok", "time": time.perf_counter() - started})
    return JsonBytes(body)


def error(message: str, status_code: int, started: float) -> Response:
    body = _encoder.encode({"status": {"error": message}, "time": time.perf_counter() - started})
    return JsonBytes(body, status_code=status_code)


def from_exception(exc: BaseException, started: float) -> Response:
    if isinstance(exc, errors.PydrantError):
        return error(exc.message, status_for(exc), started)
    log.exception("internal error", exc_info=exc)
    return error(f"Service internal error: {type(exc).__name__}: {exc}", 500, started)
