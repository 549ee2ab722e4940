"""A tiny scripted HTTP/1.1 server on a real socket, for what an in-process transport hides.

Each request goes to ``handler(exchange)``, which answers through the exchange: JSON, a
chunked SSE body written piece by piece, or a connection cut in the middle of a body (the
socket is closed without the terminating chunk, exactly what a dropped network looks like
to the client). Every response says ``connection: close``. Runs in a thread, so sync and
async clients can both talk to it from the test's own thread/event loop.
"""

from __future__ import annotations

import contextlib
import json
import socket
import socketserver
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Exchange:
    """One request, and the means to answer it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    _wfile: Any = field(repr=False, default=None)
    _sock: socket.socket | None = field(repr=False, default=None)

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def _head(self, status: int, headers: dict[str, str]) -> None:
        reason = {200: "OK", 202: "Accepted", 204: "No Content", 404: "Not Found"}.get(status, "X")
        lines = [f"HTTP/1.1 {status} {reason}", "connection: close"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self._wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        self._wfile.flush()

    def send_json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(obj).encode()
        self._head(
            status,
            {
                "content-type": "application/json",
                "content-length": str(len(data)),
                **(headers or {}),
            },
        )
        self._wfile.write(data)
        self._wfile.flush()

    def start_chunked(self, content_type: str, headers: dict[str, str] | None = None) -> None:
        self._head(
            200,
            {"content-type": content_type, "transfer-encoding": "chunked", **(headers or {})},
        )

    def start_sse(self, headers: dict[str, str] | None = None) -> None:
        self.start_chunked("text/event-stream; charset=utf-8", headers)

    def chunk(self, data: bytes) -> None:
        if data:
            self._wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self._wfile.flush()

    def end(self) -> None:
        """Finish the chunked body properly."""
        self._wfile.write(b"0\r\n\r\n")
        self._wfile.flush()

    def cut(self) -> None:
        """Drop the connection mid-body (no terminating chunk; RST where the OS allows)."""
        self._wfile.flush()
        assert self._sock is not None
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)


def sse(event: str, data: Any, id: str | None = None) -> bytes:
    """One event framed as the reference server frames it."""
    out = f"event: {event}\r\ndata: {json.dumps(data, separators=(',', ':'))}\r\n"
    if id is not None:
        out += f"id: {id}\r\n"
    return (out + "\r\n").encode()


class FakeServer:
    """``with FakeServer(handler) as server: ... server.url ... server.requests``."""

    def __init__(self, handler: Callable[[Exchange], None]) -> None:
        self.handler = handler
        self.requests: list[Exchange] = []
        outer = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                line = self.rfile.readline().decode("latin-1").strip()
                if not line:
                    return
                method, target, _ = line.split(" ", 2)
                headers: dict[str, str] = {}
                while (h := self.rfile.readline().decode("latin-1").strip()) != "":
                    k, _, v = h.partition(":")
                    headers[k.strip().lower()] = v.strip()
                length = int(headers.get("content-length", "0") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(target)
                exchange = Exchange(
                    method,
                    parts.path,
                    dict(parse_qsl(parts.query, keep_blank_values=True)),
                    headers,
                    body,
                    self.wfile,
                    self.connection,
                )
                outer.requests.append(exchange)
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    outer.handler(exchange)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def paths(self) -> list[str]:
        return [f"{r.method} {r.path}" for r in self.requests]
