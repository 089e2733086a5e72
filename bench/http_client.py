"""One keep-alive HTTP/1.1 connection through libcurl (pycurl): the benchmark's raw HTTP client.

A request costs the client ~0.1 ms of CPU here, where the standard library's `http.client`
costs ~0.25 ms (it parses response headers with the `email` package) and httpx ~0.6 ms. A
single client waits for each answer, so whatever the client spends is added to every round
trip; the cheaper it is, the more the QPS measures the server.
"""

from __future__ import annotations

import pycurl

_JSON_HEADERS = ["Content-Type: application/json", "Expect:"]  # no 100-continue round trip
_NO_HEADERS: list[str] = []


class CurlConnection:
    """Requests to one server, in turn, over one reused connection."""

    def __init__(self, base_url: str, timeout_s: float = 300.0) -> None:
        self.base_url = base_url
        self._chunks: list[bytes] = []
        curl = pycurl.Curl()
        curl.setopt(pycurl.WRITEFUNCTION, self._chunks.append)
        curl.setopt(pycurl.TCP_NODELAY, 1)
        curl.setopt(pycurl.TIMEOUT_MS, int(timeout_s * 1000))
        curl.setopt(pycurl.NOSIGNAL, 1)
        self._curl = curl
        self._method: str | None = None  # what the handle is set up for, to skip unchanged options
        self._path: str | None = None
        self._sends_json: bool | None = None

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        """(HTTP status, response body) of one request; a JSON body when `body` is given."""
        curl = self._curl
        self._chunks.clear()
        if path != self._path:
            curl.setopt(pycurl.URL, self.base_url + path)
            self._path = path
        if body is not None:
            curl.setopt(pycurl.POSTFIELDS, body)  # makes it a POST; a custom method overrides it
        else:
            curl.setopt(pycurl.HTTPGET, 1)
        if (body is not None) is not self._sends_json:
            self._sends_json = body is not None
            curl.setopt(pycurl.HTTPHEADER, _JSON_HEADERS if self._sends_json else _NO_HEADERS)
        if method != ("POST" if body is not None else "GET"):
            curl.setopt(pycurl.CUSTOMREQUEST, method)
            self._method = method
        elif self._method is not None:
            curl.unsetopt(pycurl.CUSTOMREQUEST)
            self._method = None
        curl.perform()
        return int(curl.getinfo(pycurl.RESPONSE_CODE)), b"".join(self._chunks)

    def close(self) -> None:
        self._curl.close()
