"""``GET /threads/{thread_id}/stream``: the thread's runs as they happen, as SSE."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from relaygraph.server import _json
from relaygraph.server._errors import HTTPError, not_found
from relaygraph.server._thread_stream import THREAD_MODES, ThreadStreamResponse, parse_last_event_id
from relaygraph.server.routes._common import ctx_of, path_id

__all__ = ["routes"]


def _modes(request: Request) -> frozenset[str]:
    """``stream_modes`` (repeated, comma-separated or a JSON array; ``run_modes`` when absent).

    The reference reads ``stream_modes``, as its schema names it; the SDK sends
    ``stream_mode``, which it ignores, and so do we."""
    values: list[str] = []
    for raw in request.query_params.getlist("stream_modes"):
        raw = raw.strip()
        if raw.startswith("["):
            try:
                parsed = _json.loads(raw)
            except ValueError:
                parsed = None
            if not isinstance(parsed, list):
                raise HTTPError(422, f"Invalid stream_modes: {raw}")
            values.extend(str(v) for v in parsed)
        else:
            values.extend(v for v in raw.split(",") if v)
    bad = [v for v in values if v not in THREAD_MODES]
    if bad:
        raise HTTPError(
            422, f"Invalid stream_modes: {bad[0]!r}; expected one of {', '.join(THREAD_MODES)}"
        )
    return frozenset(values or ("run_modes",))


async def join_thread_stream(request: Request) -> Response:
    ctx = ctx_of(request)
    thread_id = path_id(request, "thread_id", "thread")
    modes = _modes(request)
    if await ctx.storage.get_thread(thread_id) is None:
        raise not_found(f"Thread with ID {thread_id} not found")
    return ThreadStreamResponse(  # type: ignore[return-value]
        ctx.log,
        ctx.storage,
        thread_id,
        resume=parse_last_event_id(request.headers.get("last-event-id")),
        modes=modes,
        heartbeat_s=ctx.settings.heartbeat_s,
    )


routes = [Route("/threads/{thread_id}/stream", join_thread_stream, methods=["GET"])]
