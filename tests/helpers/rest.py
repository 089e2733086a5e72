"""An httpx client for raw REST calls whose every response is checked against the contract."""

from __future__ import annotations

from typing import Any

import httpx

from helpers.contract import validate_response


class ServerBug(AssertionError):
    """The server answered 5xx: Qdrant reserves 500 for its own bugs, and so do we."""


class RestClient:
    """Thin wrapper over httpx.Client: `request` validates each response; `ok` unwraps `result`."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        self.base_url = base_url
        self._http = httpx.Client(base_url=base_url, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | str | None = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        allow_5xx: bool = False,
    ) -> httpx.Response:
        kwargs: dict[str, Any] = {"params": params, "headers": headers}
        if content is not None:
            kwargs["content"] = content
            kwargs["headers"] = {"content-type": "application/json", **(headers or {})}
        elif json is not None:
            kwargs["json"] = json
        resp = self._http.request(method, path, **kwargs)
        if resp.status_code >= 500 and not allow_5xx:
            raise ServerBug(f"{method} {path} -> {resp.status_code}: {resp.text[:1000]}")
        validate_response(method, path, resp.status_code, resp.headers.get("content-type", ""), resp.text)
        return resp

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("PUT", path, **kw)

    def patch(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("PATCH", path, **kw)

    def delete(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("DELETE", path, **kw)

    def ok(self, method: str, path: str, **kw: Any) -> Any:
        """Call and require 200; return the envelope's `result`."""
        resp = self.request(method, path, **kw)
        if resp.status_code != 200:
            raise AssertionError(f"{method} {path} -> {resp.status_code}: {resp.text[:1000]}")
        return resp.json()["result"]

    def error(self, method: str, path: str, status: int, **kw: Any) -> str:
        """Call and require `status`; return the error message from the envelope."""
        resp = self.request(method, path, **kw)
        if resp.status_code != status:
            raise AssertionError(f"{method} {path}: expected {status}, got {resp.status_code}: {resp.text[:1000]}")
        return str(resp.json()["status"]["error"])
