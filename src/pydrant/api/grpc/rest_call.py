"""One RPC = one REST call: the request becomes the REST handler's path, query and JSON body,
the SAME handler runs (so validation, `wait` and errors are those of REST), and its result
becomes the gRPC response."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urlencode

import pydantic
from google.protobuf.message import Message
from qdrant_client.conversions.conversion import GrpcToRest

from pydrant.api.rest.context import RequestContext
from pydrant.errors import MalformedJson
from pydrant.service.toc import TableOfContents

Handler = Callable[[RequestContext], Any]


@dataclass(frozen=True)
class RestCall:
    """What a REST handler receives, minus the service: path and query parameters, body."""

    path: dict[str, str]
    body: bytes = b""
    query: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Rpc:
    """A gRPC method as a REST handler between two conversions. `request` maps the gRPC
    request to the REST call; `response` maps the handler's result (the JSON `result` of the
    REST answer) and the elapsed seconds to the gRPC response."""

    handler: Handler
    request: Callable[[Any], RestCall]
    response: Callable[[Any, float], Message]

    def run(self, toc: TableOfContents, request: Message) -> Message:
        started = time.perf_counter()
        try:
            call = self.request(request)
        except ValueError as exc:
            # The generated converters raise ValueError on a missing `oneof`; pydantic's
            # ValidationError (a ValueError) refuses values the REST models do not allow. Both
            # are the client's mistake.
            raise MalformedJson(_one_line(exc), where="gRPC request") from None
        query = urlencode(call.query).encode() if call.query else b""
        result = self.handler(RequestContext(toc, call.path, query, call.body))
        return self.response(result, time.perf_counter() - started)


def _one_line(exc: ValueError) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def query_params(request: Any) -> dict[str, str]:
    """`wait`, `ordering` and `timeout` of a request that has them, as REST query parameters
    (read requests carry a `timeout` too; REST accepts and ignores it on reads, and so does this)."""
    fields = request.DESCRIPTOR.fields_by_name
    out: dict[str, str] = {}
    if "wait" in fields and request.HasField("wait"):
        out["wait"] = "true" if request.wait else "false"
    if "ordering" in fields and request.HasField("ordering"):
        out["ordering"] = GrpcToRest.convert_write_ordering(request.ordering).value
    if "timeout" in fields and request.HasField("timeout"):
        out["timeout"] = str(request.timeout)
    return out


def json_body(model: pydantic.BaseModel, request: Message | None = None) -> bytes:
    """A REST request model as the JSON the REST API takes: unset (None) fields left out (the
    converters fill every absent optional with None), aliases such as `except` used.

    JSON has no NaN or infinity, which a gRPC payload double can hold: the converters turn
    them into the strings "NaN" / "Infinity", which a payload would keep. Qdrant refuses them
    ("cannot convert to json number"), and so does this; the request is only walked when the
    body holds such a string at all."""
    body = model.model_dump_json(by_alias=True, exclude_none=True).encode()
    if request is not None and (b'"NaN"' in body or b'Infinity"' in body) and _holds_non_finite(request):
        raise MalformedJson("payload: cannot convert to json number: NaN and infinities have no JSON form")
    return body


_VALUE = "qdrant.Value"  # the gRPC payload value (a JSON value)


def _holds_non_finite(message: Message) -> bool:
    """Whether a payload value anywhere in `message` is a NaN or infinite double."""
    if message.DESCRIPTOR.full_name == _VALUE and message.WhichOneof("kind") == "double_value":
        return not math.isfinite(message.double_value)
    for field_descriptor, value in message.ListFields():
        if field_descriptor.message_type is None:
            continue
        if isinstance(value, Message):
            items = [value]
        elif field_descriptor.message_type.GetOptions().map_entry:
            items = list(value.values())
        else:  # a repeated field
            items = list(value)
        if any(isinstance(item, Message) and _holds_non_finite(item) for item in items):
            return True
    return False


def collection_call(request: Any, model: pydantic.BaseModel | None = None, **path: str) -> RestCall:
    """A call on `/collections/{collection_name}...` with the request's write parameters."""
    body = b"" if model is None else json_body(model, request)
    return RestCall({"collection_name": request.collection_name, **path}, body, query_params(request))

