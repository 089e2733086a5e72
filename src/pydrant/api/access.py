"""API keys, as Qdrant checks them: the key comes in the `api-key` header (or gRPC metadata) or
as `Authorization: Bearer <key>`; `service.api_key` may do everything, `service.read_only_api_key`
only reads. Shared by the REST and gRPC front ends."""

from __future__ import annotations

import enum
import hmac

from pydrant.errors import Forbidden, Unauthorized

BEARER = b"Bearer "


class Access(enum.Enum):
    FULL = "full"
    READ_ONLY = "read-only"


class ApiKeys:
    """The configured keys; `enabled` is False when neither is set (every request is let in)."""

    def __init__(self, read_write: str | None, read_only: str | None = None) -> None:
        self._read_write = _encoded(read_write)
        self._read_only = _encoded(read_only)
        self.enabled = read_write is not None or read_only is not None

    def access(self, api_key: bytes | None, authorization: bytes | None) -> Access:
        """What the presented key may do; Unauthorized without a key or with an unknown one."""
        key = api_key
        if key is None and authorization is not None and authorization.startswith(BEARER):
            key = authorization[len(BEARER):]
        if key is None:
            raise Unauthorized("Must provide an API key or an Authorization bearer token")
        if self._read_write is not None and hmac.compare_digest(key, self._read_write):
            return Access.FULL
        if self._read_only is not None and hmac.compare_digest(key, self._read_only):
            return Access.READ_ONLY
        raise Unauthorized("Invalid API key or JWT")

    def check(self, api_key: bytes | None, authorization: bytes | None, writes: bool) -> None:
        """Raise unless the presented key may run a request that writes (`writes`) or reads."""
        if self.access(api_key, authorization) is Access.READ_ONLY and writes:
            raise Forbidden("Write access denied: the read-only API key allows reads only")


def _encoded(key: str | None) -> bytes | None:
    """Header values are bytes (latin-1); a key latin-1 cannot encode matches no header."""
    if key is None:
        return None
    try:
        return key.encode("latin-1")
    except UnicodeEncodeError:
        return None
