"""Browser clients: CORS preflights are answered and any origin is allowed (Qdrant's default)."""

from __future__ import annotations

import httpx

from helpers.server import ServerProcess


def test_preflight_and_origin_header(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url) as http:
        preflight = http.options("/collections", headers={
            "Origin": "http://example.test", "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "content-type",
        })
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] in ("*", "http://example.test")
        listed = http.get("/collections", headers={"Origin": "http://example.test"})
        assert listed.status_code == 200
        assert listed.headers["access-control-allow-origin"] == "*"
