"""Run RPCs: api-key check, the blocking work in a thread pool (never on the event loop), and
errors as gRPC statuses (pydrant's kinds by status.py's table, anything else INTERNAL, logged)."""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Awaitable, Callable, Iterable, Mapping

import grpc
from google.protobuf.message import Message

from pydrant.api.access import ApiKeys
from pydrant.api.grpc.rest_call import Rpc
from pydrant.api.grpc.services import READ_METHODS
from pydrant.api.grpc.status import code_for
from pydrant.errors import PydrantError, RateLimited
from pydrant.service.toc import TableOfContents

log = logging.getLogger("pydrant.grpc")

Method = Callable[[Message, Any], Awaitable[Message]]
# As the REST threadpool: writes waiting for fsyncs or `wait=true` must not starve reads.
THREADS = 40


class Dispatcher:
    def __init__(self, toc: TableOfContents, keys: ApiKeys) -> None:
        self.toc = toc
        self.keys = keys
        self.pool = ThreadPoolExecutor(THREADS, thread_name_prefix="pydrant-grpc")

    def servicer(self, service: str, methods: Iterable[str], rpcs: Mapping[str, Rpc], public: bool = False) -> object:
        """An object with one coroutine per method of `service` (what the generated
        `add_*Servicer_to_server` functions look up by name)."""
        servicer = _Servicer()
        for name in methods:
            rpc = rpcs.get(name)
            writes = f"{service}/{name}" not in READ_METHODS
            method = (self._method(rpc, public, f"/{service}/{name}", writes) if rpc is not None
                      else self._unimplemented(f"{service}/{name}"))
            setattr(servicer, name, method)
        return servicer

    def _method(self, rpc: Rpc, public: bool, label: str, writes: bool) -> Method:
        """`label`: the RPC's full name, its key in telemetry (`/qdrant.Points/Upsert`);
        `writes`: refused to the read-only API key."""

        async def method(request: Message, context: Any) -> Message:
            if not public:
                await self._authorize(context, writes)
            started = time.perf_counter()
            try:
                answer = await asyncio.get_running_loop().run_in_executor(self.pool, rpc.run, self.toc, request)
                self.toc.grpc_stats.record(label, grpc.StatusCode.OK.value[0], time.perf_counter() - started)
                return answer
            except PydrantError as exc:
                code, message = code_for(exc), exc.message
                if isinstance(exc, RateLimited) and exc.retry_after is not None:
                    # As Qdrant: clients read the wait from this trailer (qdrant-client raises
                    # ResourceExhaustedResponse with it).
                    context.set_trailing_metadata((("retry-after", str(exc.retry_after)),))
            except RecursionError:  # a filter or payload nested past what recursive code can walk
                code = grpc.StatusCode.INVALID_ARGUMENT
                message = "Format error in gRPC request: recursion limit exceeded: the request (a filter or a payload) nests too deeply"
            except Exception as exc:  # our bug: logged with its traceback
                log.exception("internal error in gRPC %s", type(request).__name__)
                code, message = grpc.StatusCode.INTERNAL, f"Service internal error: {type(exc).__name__}: {exc}"
            self.toc.grpc_stats.record(label, code.value[0], time.perf_counter() - started)
            await context.abort(code, message)  # raises: the RPC ends with this status
            raise AssertionError("unreachable")

        return method

    def _unimplemented(self, full_name: str) -> Method:
        async def method(request: Message, context: Any) -> Message:
            await self._authorize(context, False)
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, f"Not supported by pydrant: gRPC method {full_name} is not implemented")
            raise AssertionError("unreachable")

        return method

    async def _authorize(self, context: Any, writes: bool) -> None:
        """As REST: the key in `api-key` metadata or `authorization: Bearer ...`."""
        if not self.keys.enabled:
            return
        api_key = authorization = None
        for name, value in context.invocation_metadata() or ():
            if name == "api-key" and api_key is None:
                api_key = _as_bytes(value)
            elif name == "authorization" and authorization is None:
                authorization = _as_bytes(value)
        try:
            self.keys.check(api_key, authorization, writes)
        except PydrantError as exc:
            await context.abort(code_for(exc), exc.message)


def _as_bytes(value: str | bytes) -> bytes:
    if isinstance(value, bytes):
        return value
    try:
        return value.encode("latin-1")  # as HTTP headers, to compare with the same encoded keys
    except UnicodeEncodeError:
        return value.encode("utf-8")  # matches no latin-1 key


class _Servicer:
    """Attributes are set per method by Dispatcher.servicer."""
