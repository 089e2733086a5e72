"""The one table that maps error kinds to gRPC status codes (the gRPC twin of rest/envelope.py)."""

from __future__ import annotations

import grpc

from pydrant import errors

CODE_BY_KIND: dict[type[errors.PydrantError], grpc.StatusCode] = {
    errors.BadInput: grpc.StatusCode.INVALID_ARGUMENT,  # REST 400
    errors.ValidationFailed: grpc.StatusCode.INVALID_ARGUMENT,  # REST 422
    errors.MalformedJson: grpc.StatusCode.INVALID_ARGUMENT,  # REST 400
    # REST answers 400 (its clients treat that as a clean refusal); gRPC has the exact code.
    errors.Unsupported: grpc.StatusCode.UNIMPLEMENTED,
    errors.NotFound: grpc.StatusCode.NOT_FOUND,  # REST 404
    errors.NotAllowed: grpc.StatusCode.FAILED_PRECONDITION,  # REST 405
    errors.Timeout: grpc.StatusCode.DEADLINE_EXCEEDED,  # REST 408
    errors.AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,  # REST 409
    errors.PayloadTooLarge: grpc.StatusCode.INVALID_ARGUMENT,  # REST 400
    errors.StorageFailure: grpc.StatusCode.UNAVAILABLE,  # REST 503
    errors.BadRequest: grpc.StatusCode.INVALID_ARGUMENT,  # REST 400
    errors.StrictModeViolation: grpc.StatusCode.INVALID_ARGUMENT,  # REST 400
    errors.RateLimited: grpc.StatusCode.RESOURCE_EXHAUSTED,  # REST 429
    errors.Unauthorized: grpc.StatusCode.UNAUTHENTICATED,  # REST 401
    errors.Forbidden: grpc.StatusCode.PERMISSION_DENIED,  # REST 403
}


def code_for(exc: errors.PydrantError) -> grpc.StatusCode:
    for kind in type(exc).__mro__:
        if kind in CODE_BY_KIND:
            return CODE_BY_KIND[kind]
    return grpc.StatusCode.INTERNAL
