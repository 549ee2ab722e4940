"""Streams and long waits as pure ops: SSE parts, reconnects, and the v2 part shape.

An SSE op reads the body through :class:`~relaygraph.client._sse.SSEDecoder` and emits a
:class:`StreamPart` per event. When the body ends without an ``end``/``error`` event, or the
connection drops, it may reconnect: to the response's ``Location`` (the run's join-stream
URL), else to the request URL when that was a GET; sending ``Last-Event-ID`` when the server
gave ids, so a resumable run replays exactly what was missed.

- A clean end of a thread run's stream asks ``GET /threads/{t}/runs/{r}``; only a run that is
  still ``pending``/``running`` is rejoined (the official SDKs do the same).
- A dropped connection is rejoined when there is an event id to resume from; without one, a
  thread run is rejoined only while it is still running (the events it sent in the gap are
  lost: that run was not created with ``stream_resumable``).
- Attempts are bounded by the client's :class:`~relaygraph.client.RetryPolicy` and reset whenever an event
  arrives; giving up raises :class:`~relaygraph.client.APIConnectionError`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar

import httpx

from relaygraph.client._errors import (
    APIConnectionError,
    ProtocolError,
    RunError,
    error_for_response,
)
from relaygraph.client._json import loads
from relaygraph.client._protocol import READ, Emit, Op, Request, Retry, StreamOp
from relaygraph.client._sse import ServerSentEvent, SSEDecoder

__all__ = [
    "StreamPart",
    "read_json",
    "sse_stream",
    "to_v2",
]

T = TypeVar("T")

_THREAD_RUN_STREAM = re.compile(r"/threads/[^/]+/runs/[^/]+/stream/?$")
_LIVE = ("pending", "running")
_STOP = ("end", "error")


class StreamPart(NamedTuple):
    """One streamed event: its name as sent (``"updates|node_2:<task id>"``), data, id."""

    event: str
    data: Any
    id: str | None = None


def parse_data(data: str) -> Any:
    """An event's data as JSON; empty data is ``None``, data that is not JSON stays a string."""
    if not data:
        return None
    try:
        return loads(data)
    except ValueError:
        return None if data.isspace() else data


def to_v2(part: StreamPart) -> dict[str, Any]:
    """The ``version="v2"`` shape: ``{"type", "ns", "data", "interrupts"}``.

    ``type`` and ``ns`` come from splitting the event name on ``|``; a ``values`` part's
    ``__interrupt__`` key moves to ``interrupts``.
    """
    kind, *ns = part.event.split("|")
    data = part.data
    interrupts: list[Any] = []
    if kind == "values" and isinstance(data, dict) and "__interrupt__" in data:
        data = dict(data)
        interrupts = list(data.pop("__interrupt__") or ())
    return {"type": kind, "ns": ns, "data": data, "interrupts": interrupts}


def check_sse(response: httpx.Response) -> None:
    """Raise unless ``response`` is a 2xx ``text/event-stream``."""
    if response.status_code >= 300:
        raise error_for_response(response)
    ctype = response.headers.get("content-type", "")
    if "text/event-stream" not in ctype:
        raise ProtocolError(
            f"expected a text/event-stream response from {response.request.url}, "
            f"got {ctype or 'no content-type'!r}"
        )


def reconnect_target(request: Request, response: httpx.Response) -> str | None:
    """Where to rejoin this stream: its same-origin ``Location``, else a GET's own URL."""
    url = response.request.url
    location = response.headers.get("location")
    if location:
        target = url.join(location)
        if (target.scheme, target.host, target.port) == (url.scheme, url.host, url.port):
            return str(target)
        return None
    return str(url) if request.method == "GET" else None


def run_metadata(response: httpx.Response) -> dict[str, str | None] | None:
    """``{"run_id", "thread_id"}`` from ``Content-Location`` (``None`` if it has none)."""
    location = response.headers.get("content-location")
    if not location:
        return None
    parts = httpx.URL(location).path.rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2] == "runs":
        thread = parts[parts.index("threads") + 1] if "threads" in parts else None
        return {"run_id": parts[-1], "thread_id": thread}
    return None


def _run_is_live(stream_url: str) -> Op[bool]:
    """Ask whether the run behind a ``.../threads/{t}/runs/{r}/stream`` URL is still going."""
    run_url = stream_url.split("?", 1)[0].rstrip("/").removesuffix("/stream")
    response = yield Request(
        "GET", run_url, headers={"accept": "application/json", "cache-control": "no-store"}
    )
    if response.status_code == 404:
        return False
    if response.status_code >= 300:
        raise error_for_response(response)
    run = loads(response.content) if response.content else None
    return isinstance(run, dict) and run.get("status") in _LIVE


def _parts(
    events: list[ServerSentEvent], transform: Callable[[StreamPart], T] | None
) -> tuple[list[Any], bool]:
    out: list[Any] = []
    for e in events:
        name = e.event
        if name in _STOP:
            if name == "error":
                part = StreamPart(name, parse_data(e.data), e.id)
                out.append(transform(part) if transform else part)
            return out, True
        part = StreamPart(name, parse_data(e.data), e.id)
        out.append(transform(part) if transform else part)
    return out, False


def sse_stream(
    request: Request,
    *,
    transform: Callable[[StreamPart], T] | None = None,
    on_response: Callable[[httpx.Response], None] | None = None,
    last_event_id: str | None = None,
) -> StreamOp[Any]:
    """Send ``request`` and emit its events as :class:`StreamPart` (or ``transform(part)``).

    Stops after an ``error`` event (which is emitted) or an ``end`` event (which is not).
    """
    response: httpx.Response | None = yield request
    assert response is not None
    check_sse(response)
    if on_response is not None:
        on_response(response)
    target = reconnect_target(request, response)
    last_id = last_event_id
    reconnect_error: httpx.TransportError | None = None
    attempt = 0
    while True:
        dropped: httpx.TransportError | None = None
        if response is not None:
            decoder = SSEDecoder()
            while True:
                try:
                    chunk = yield READ
                except httpx.TransportError as exc:
                    dropped = exc
                    break
                if not chunk:
                    break
                events = decoder.feed(chunk)
                if events:
                    attempt = 0
                    items, finished = _parts(events, transform)
                    if items:
                        yield Emit(items)
                    if finished:
                        return
            if decoder.last_event_id is not None:
                last_id = decoder.last_event_id or None
        else:
            dropped = reconnect_error
        if target is None:
            if dropped is not None:
                raise dropped
            return
        thread_run = _THREAD_RUN_STREAM.search(httpx.URL(target).path) is not None
        if thread_run and (dropped is None or last_id is None):
            try:
                live = yield from _run_is_live(target)
            except httpx.TransportError as exc:
                dropped, live = exc, True
            if not live:
                return
        elif dropped is None:
            return  # a clean end, and no run to ask about
        attempt += 1
        if not (yield Retry(attempt)):
            raise APIConnectionError(
                f"stream from {target} broke off; gave up after {attempt - 1} reconnects"
            ) from dropped
        headers = {"accept": "text/event-stream", "cache-control": "no-store"}
        if last_id is not None:
            headers["last-event-id"] = last_id
        try:
            response = yield Request("GET", target, headers=headers, stream=True)
        except httpx.TransportError as exc:
            response, reconnect_error = None, exc
            continue
        assert response is not None
        if response.status_code >= 300:
            raise APIConnectionError(
                f"stream from {target} broke off and rejoining it failed"
            ) from error_for_response(response)
        check_sse(response)


def read_json(
    request: Request,
    *,
    raise_error: bool = False,
    on_response: Callable[[httpx.Response], None] | None = None,
) -> Op[Any]:
    """Send ``request`` and decode its (possibly long, ``\\n``-padded) JSON body.

    If the body breaks off and the response named a ``Location`` (the run's ``/join``), the
    body is fetched again from there. With ``raise_error``, a result carrying ``__error__``
    raises :class:`~relaygraph.client.RunError`.
    """
    response: httpx.Response | None = yield Request(
        request.method,
        request.url,
        json=request.json,
        has_body=request.has_body,
        params=request.params,
        headers=request.headers,
        stream=True,
    )
    assert response is not None
    if response.status_code >= 300:
        raise error_for_response(response)
    if on_response is not None:
        on_response(response)
    target = reconnect_target(request, response)
    reconnect_error: httpx.TransportError | None = None
    attempt = 0
    while True:
        buf = bytearray()
        error: httpx.TransportError | None = None
        if response is not None:
            while True:
                try:
                    chunk = yield READ
                except httpx.TransportError as exc:
                    error = exc
                    break
                if not chunk:
                    break
                buf += chunk
            if error is None:
                break
        else:
            error = reconnect_error
        if target is None:
            assert error is not None
            raise error
        attempt += 1
        if not (yield Retry(attempt)):
            raise APIConnectionError(
                f"reading {target} broke off; gave up after {attempt - 1} retries"
            ) from error
        try:
            response = yield Request("GET", target, stream=True)
        except httpx.TransportError as exc:
            response, reconnect_error = None, exc
            continue
        assert response is not None
        if response.status_code >= 300:
            raise error_for_response(response)
    result = loads(bytes(buf)) if bytes(buf).strip() else None
    if raise_error and isinstance(result, dict) and "__error__" in result:
        raise RunError.from_payload(result["__error__"])
    return result
