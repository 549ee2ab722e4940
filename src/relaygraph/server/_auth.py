"""The optional API key: every route but ``/ok`` needs ``x-api-key`` when one is set."""

from __future__ import annotations

import hmac
from typing import Any

from relaygraph.server import _json

__all__ = ["ApiKeyMiddleware"]

_OPEN_PATHS = frozenset(("/ok",))


class ApiKeyMiddleware:
    """Pure ASGI middleware answering 401 ``{"detail": ...}`` without the right key."""

    def __init__(self, app: Any, api_key: str) -> None:
        self.app = app
        self.key = api_key.encode()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] in _OPEN_PATHS or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        given = b""
        for name, value in scope["headers"]:
            if name == b"x-api-key":
                given = value
                break
        if given and hmac.compare_digest(given, self.key):
            await self.app(scope, receive, send)
            return
        body = _json.dumps({"detail": "Missing or invalid API key (x-api-key header)"})
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
