"""Streamed responses that race their body against the client's disconnect.

* ``EventStreamResponse``: a run's event log as Server-Sent Events, ``event``/``data``/``id``
  lines ended by CRLF, a ``: heartbeat`` comment after each quiet interval, and no ``end``
  event: the stream just closes when the run's log is complete.
* ``KeepAliveJSONResponse``: a JSON body computed slowly; a ``\\n`` is written every interval
  until it is ready (leading whitespace is valid JSON).

Both are plain ASGI callables (no per-event middleware). Either calls ``on_disconnect`` when
the client goes away before the body is complete.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from relaygraph.server import _json
from relaygraph.server.runs._modes import mode_of_event
from relaygraph.server.runs._stream import EventLog

__all__ = [
    "SSE_HEADERS",
    "Chunks",
    "EventStreamResponse",
    "KeepAliveJSONResponse",
    "frame",
    "stream_body",
]

Scope = Mapping[str, Any]
Receive = Callable[[], Awaitable[Mapping[str, Any]]]
Send = Callable[[Mapping[str, Any]], Awaitable[None]]

SSE_HEADERS = {
    "cache-control": "no-store",
    "connection": "keep-alive",
    "x-accel-buffering": "no",
    "content-type": "text/event-stream; charset=utf-8",
}
HEARTBEAT = b": heartbeat\r\n\r\n"
_MAX_CHUNK = 256 * 1024


def frame(event: str, data: bytes, seq: int | None) -> bytes:
    """One SSE frame: ``event``, ``data`` and (when given) ``id`` lines, then a blank line."""
    head = b"event: " + event.encode() + b"\r\ndata: " + data
    if seq is None:
        return head + b"\r\n\r\n"
    return head + b"\r\nid: " + str(seq).encode() + b"\r\n\r\n"


def _encode_headers(headers: Mapping[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode(), v.encode("latin-1")) for k, v in headers.items()]


async def _race(
    body: Callable[[], Awaitable[None]], receive: Receive, on_disconnect: Callable[[], Any] | None
) -> None:
    """Run ``body`` until it ends or the client disconnects (then cancel it)."""

    async def listen() -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return

    writer = asyncio.ensure_future(body())
    listener = asyncio.ensure_future(listen())
    try:
        done, _ = await asyncio.wait((writer, listener), return_when=asyncio.FIRST_COMPLETED)
    finally:
        listener.cancel()
    if writer in done:
        exc = writer.exception()
        if exc is not None and not isinstance(exc, OSError):
            raise exc
        if exc is None:
            return
    else:
        writer.cancel()
        await asyncio.gather(writer, return_exceptions=True)
    if on_disconnect is not None:
        result = on_disconnect()
        if asyncio.iscoroutine(result):
            await result


Chunks = AsyncIterator[tuple[bytes, bool]]
"""A body's chunks, each with whether it is the last (then it ends the response itself,
one write less than a separate empty end)."""


async def stream_body(
    send: Send,
    receive: Receive,
    headers: Mapping[str, str],
    chunks: Callable[[], Chunks],
    on_disconnect: Callable[[], Any] | None = None,
) -> None:
    """A 200 response of ``chunks()``, raced against the client's disconnect."""
    await send({"type": "http.response.start", "status": 200, "headers": _encode_headers(headers)})
    ended = False

    async def body() -> None:
        nonlocal ended
        async for chunk, last in chunks():
            await send({"type": "http.response.body", "body": chunk, "more_body": not last})
            ended = last

    await _race(body, receive, on_disconnect)
    if not ended:
        with contextlib.suppress(OSError):  # the client may be gone
            await send({"type": "http.response.body", "body": b"", "more_body": False})


class EventStreamResponse:
    """The events of one run's log after ``after``, as SSE, keeping those whose mode is in
    ``modes`` (all when ``None``); ``prelude`` frames go first (e.g. an ``error`` event)."""

    def __init__(
        self,
        log: EventLog | None,
        run_id: str,
        *,
        after: int = 0,
        modes: frozenset[str] | None = None,
        headers: Mapping[str, str] | None = None,
        heartbeat_s: float = 5.0,
        on_disconnect: Callable[[], Any] | None = None,
        prelude: bytes = b"",
    ) -> None:
        self.log = log
        self.run_id = run_id
        self.after = after
        self.modes = modes
        self.headers = {**(headers or {}), **SSE_HEADERS}
        self.heartbeat_s = heartbeat_s
        self.on_disconnect = on_disconnect
        self.prelude = prelude

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await stream_body(send, receive, self.headers, self._chunks, self.on_disconnect)

    async def _chunks(self) -> Chunks:
        """The prelude, then the log's frames; the chunk read when the log was complete
        ends the body."""
        if self.prelude:
            yield self.prelude, False
        if self.log is None:
            return
        modes = self.modes
        reader = self.log.read(self.run_id, self.after, heartbeat_s=self.heartbeat_s)
        async for rows in reader:
            if rows is None:
                yield HEARTBEAT, False
                continue
            parts = [
                frame(event, data, seq)
                for seq, event, data in rows
                if modes is None or mode_of_event(event) in modes or event in ("metadata", "error")
            ]
            chunk = b"".join(parts)
            for i in range(0, len(chunk), _MAX_CHUNK):
                piece = chunk[i : i + _MAX_CHUNK]
                yield piece, reader.complete and i + _MAX_CHUNK >= len(chunk)


class KeepAliveJSONResponse:
    """200 JSON from ``result`` (awaited), with a newline every ``interval_s`` until then."""

    def __init__(
        self,
        result: Awaitable[Any],
        *,
        headers: Mapping[str, str] | None = None,
        interval_s: float = 5.0,
        on_disconnect: Callable[[], Any] | None = None,
    ) -> None:
        self.result = result
        self.headers = {**(headers or {}), "content-type": "application/json"}
        self.interval_s = interval_s
        self.on_disconnect = on_disconnect

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await stream_body(send, receive, self.headers, self._chunks, self.on_disconnect)

    async def _chunks(self) -> Chunks:
        pending = asyncio.ensure_future(self.result)
        try:
            while True:
                done, _ = await asyncio.wait((pending,), timeout=self.interval_s)
                if done:
                    break
                yield b"\n", False
            payload = _json.dumps(pending.result())
        finally:
            if not pending.done():
                pending.cancel()
        yield payload, True
