"""Runs on a thread (``/threads/{id}/runs...``) and stateless runs (``/runs...``)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from relaygraph.server import _json
from relaygraph.server._errors import HTTPError, not_found
from relaygraph.server._resources import run_json, select
from relaygraph.server._streaming import EventStreamResponse, KeepAliveJSONResponse, frame
from relaygraph.server.routes._common import (
    INT64_MAX,
    ctx_of,
    json,
    path_id,
    query_bool,
    query_int,
    read_json,
)
from relaygraph.server.runs import WIRE_MODES
from relaygraph.server.storage import Row

__all__ = ["routes"]

_RUN_NOT_FOUND = {"error": "HTTPException", "message": "404: Run not found"}


def _locations(run: Row, suffix: str) -> dict[str, str]:
    if run["kwargs"].get("temporary"):
        base = f"/runs/{run['run_id']}"
    else:
        base = f"/threads/{run['thread_id']}/runs/{run['run_id']}"
    return {"location": base + suffix, "content-location": base}


async def _create(request: Request, *, stateless: bool) -> tuple[Row, Row]:
    thread_id = None if stateless else path_id(request, "thread_id", "thread", status=400)
    body = await read_json(request)
    run = await ctx_of(request).runs.create(thread_id, body, stateless=stateless)
    return run, body


def _on_disconnect(request: Request, run: Row, body: Row) -> Any:
    if body.get("on_disconnect") != "cancel":
        return None
    runs = ctx_of(request).runs
    return lambda: runs.cancel_run(run, "disconnect")


def _stream(
    request: Request, run: Row, on_disconnect: Any, after: int = 0, modes: Any = None
) -> Response:
    ctx = ctx_of(request)
    return EventStreamResponse(  # type: ignore[return-value]
        ctx.log,
        run["run_id"],
        after=after,
        modes=modes,
        headers=_locations(run, "/stream"),
        heartbeat_s=ctx.settings.heartbeat_s,
        on_disconnect=on_disconnect,
    )


def _wait(request: Request, run: Row, on_disconnect: Any) -> Response:
    ctx = ctx_of(request)
    return KeepAliveJSONResponse(  # type: ignore[return-value]
        ctx.runs.outcome(run["run_id"]),
        headers=_locations(run, "/join"),
        interval_s=ctx.settings.heartbeat_s,
        on_disconnect=on_disconnect,
    )


async def create(request: Request) -> Response:
    run, _ = await _create(request, stateless=False)
    return json(
        run_json(run), headers={"content-location": _locations(run, "")["content-location"]}
    )


async def create_stateless(request: Request) -> Response:
    run, _ = await _create(request, stateless=True)
    return json(
        run_json(run), headers={"content-location": _locations(run, "")["content-location"]}
    )


async def stream(request: Request) -> Response:
    run, body = await _create(request, stateless=False)
    return _stream(request, run, _on_disconnect(request, run, body))


async def stream_stateless(request: Request) -> Response:
    run, body = await _create(request, stateless=True)
    return _stream(request, run, _on_disconnect(request, run, body))


async def wait(request: Request) -> Response:
    run, body = await _create(request, stateless=False)
    return _wait(request, run, _on_disconnect(request, run, body))


async def wait_stateless(request: Request) -> Response:
    run, body = await _create(request, stateless=True)
    return _wait(request, run, _on_disconnect(request, run, body))


async def batch(request: Request) -> Response:
    ctx = ctx_of(request)
    body = await read_json(request, object_only=False)
    ctx.openapi.validate(body, "RunBatchCreate")
    for item in body:  # all or nothing: reject the batch before any run is created
        ctx.openapi.validate(item, "RunCreateStateless")
        await ctx.runs.resolve_assistant(item["assistant_id"])
    runs = [await ctx.runs.create(None, item, stateless=True) for item in body]
    return json([run_json(r) for r in runs])


async def _thread_run(request: Request) -> tuple[str, str, Row | None]:
    """``(thread_id, run_id, run)`` from the path; stateless paths (``/runs/{run_id}/...``)
    take the thread from the run."""
    run_id = path_id(request, "run_id", "run")
    run = await ctx_of(request).storage.get_run(run_id)
    if "thread_id" not in request.path_params:
        return (run["thread_id"] if run is not None else ""), run_id, run
    thread_id = path_id(request, "thread_id", "thread")
    if run is not None and run["thread_id"] != thread_id:
        run = None
    return thread_id, run_id, run


def _run_path(request: Request, thread_id: str, run_id: str) -> str:
    if "thread_id" not in request.path_params:
        return f"/runs/{run_id}"
    return f"/threads/{thread_id}/runs/{run_id}"


async def list_runs(request: Request) -> Response:
    ctx = ctx_of(request)
    thread_id = path_id(request, "thread_id", "thread")
    if await ctx.storage.get_thread(thread_id) is None:
        raise not_found(f"Thread with ID {thread_id} not found")
    status = request.query_params.get("status") or None
    rows = await ctx.storage.list_runs(
        thread_id,
        limit=query_int(request, "limit", 10, minimum=1),
        offset=query_int(request, "offset", 0),
        status=status,
    )
    fields = [f for f in request.query_params.getlist("select") if f] or None
    return json(select(map(run_json, rows), fields))


async def get(request: Request) -> Response:
    _, _, run = await _thread_run(request)
    if run is None:
        raise not_found()
    return json(run_json(run))


async def delete(request: Request) -> Response:
    thread_id, run_id, run = await _thread_run(request)
    if run is None or not await ctx_of(request).runs.delete(thread_id, run_id):
        raise not_found()
    return Response(status_code=204)


async def join(request: Request) -> Response:
    ctx = ctx_of(request)
    thread_id, run_id, run = await _thread_run(request)
    base = _run_path(request, thread_id, run_id)
    headers = {"location": base + "/join", "content-location": base}

    async def outcome() -> Any:
        if run is None:
            return {"__error__": _RUN_NOT_FOUND}
        return await ctx.runs.outcome(run_id, thread_id)

    return KeepAliveJSONResponse(outcome(), headers=headers, interval_s=ctx.settings.heartbeat_s)  # type: ignore[return-value]


def _join_modes(request: Request) -> frozenset[str] | None:
    values: list[str] = []
    for raw in request.query_params.getlist("stream_mode"):
        raw = raw.strip()
        if not raw:
            continue
        if raw.startswith("["):
            try:
                parsed = _json.loads(raw)
            except ValueError:
                raise HTTPError(422, f"Invalid stream_mode: {raw}") from None
            values.extend(str(v) for v in parsed) if isinstance(parsed, list) else None
        else:
            values.extend(v for v in raw.split(",") if v)
    bad = [v for v in values if v not in WIRE_MODES]
    if bad:
        raise HTTPError(
            422, f"Invalid stream_mode: {bad[0]!r}; expected one of {', '.join(WIRE_MODES)}"
        )
    return frozenset(values) or None


def _last_event_id(request: Request) -> int:
    """The event to resume after: ``Last-Event-ID`` when it is a stored event's id (a
    non-negative 64-bit integer), else 0 (from the start)."""
    raw = (request.headers.get("last-event-id") or "").strip()
    try:
        after = int(raw)
    except ValueError:
        return 0
    return after if 0 <= after <= INT64_MAX else 0


async def join_stream(request: Request) -> Response:
    ctx = ctx_of(request)
    thread_id, run_id, run = await _thread_run(request)
    modes = _join_modes(request)
    if run is None:
        base = _run_path(request, thread_id, run_id)
        return EventStreamResponse(  # type: ignore[return-value]
            None,
            run_id,
            headers={"location": base + "/stream", "content-location": base},
            prelude=frame("error", _json.dumps(_RUN_NOT_FOUND), None),
        )
    on_disconnect = None
    if query_bool(request, "cancel_on_disconnect"):
        runs = ctx.runs
        on_disconnect = lambda: runs.cancel_run(run, "disconnect")  # noqa: E731
    return _stream(request, run, on_disconnect, after=_last_event_id(request), modes=modes)


def _action(request: Request) -> str:
    action = request.query_params.get("action") or "interrupt"
    if action not in ("interrupt", "rollback"):
        raise HTTPError(422, f"Invalid action: {action!r}; expected 'interrupt' or 'rollback'")
    return action


async def cancel(request: Request) -> Response:
    ctx = ctx_of(request)
    thread_id, run_id, run = await _thread_run(request)
    action = _action(request)
    if run is None:
        raise not_found("No runs found to cancel.")
    await ctx.runs.cancel(thread_id, [run_id], action)
    if not query_bool(request, "wait"):
        return Response(status_code=202)
    return KeepAliveJSONResponse(  # type: ignore[return-value]
        ctx.runs.outcome(run_id, thread_id, gone={}),  # a rolled-back pending run is gone
        headers=_locations(run, "/join"),
        interval_s=ctx.settings.heartbeat_s,
    )


async def cancel_many(request: Request) -> Response:
    ctx = ctx_of(request)
    action = _action(request)
    body = await read_json(request)
    ctx.openapi.validate(body, "RunsCancel")
    if body.get("run_ids") is not None:
        found = await ctx.runs.cancel(body.get("thread_id"), body["run_ids"], action)
    else:
        status = body.get("status")
        wanted = ("pending", "running") if status == "all" else (status,)
        matching = await ctx.storage.runs_with_status(wanted, body.get("thread_id"))
        ids = [r["run_id"] for r in matching]
        found = await ctx.runs.cancel(body.get("thread_id"), ids, action)
    if not found:
        raise not_found("No runs found to cancel.")
    return Response(status_code=204)


routes = [
    Route("/threads/{thread_id}/runs", create, methods=["POST"]),
    Route("/threads/{thread_id}/runs", list_runs, methods=["GET"]),
    Route("/threads/{thread_id}/runs/stream", stream, methods=["POST"]),
    Route("/threads/{thread_id}/runs/wait", wait, methods=["POST"]),
    Route("/threads/{thread_id}/runs/{run_id}", get, methods=["GET"]),
    Route("/threads/{thread_id}/runs/{run_id}", delete, methods=["DELETE"]),
    Route("/threads/{thread_id}/runs/{run_id}/join", join, methods=["GET"]),
    Route("/threads/{thread_id}/runs/{run_id}/stream", join_stream, methods=["GET"]),
    Route("/threads/{thread_id}/runs/{run_id}/cancel", cancel, methods=["POST"]),
    Route("/runs", create_stateless, methods=["POST"]),
    Route("/runs/stream", stream_stateless, methods=["POST"]),
    Route("/runs/wait", wait_stateless, methods=["POST"]),
    Route("/runs/batch", batch, methods=["POST"]),
    Route("/runs/cancel", cancel_many, methods=["POST"]),
    # Where a stateless stream's Location points: rejoin after a dropped connection.
    Route("/runs/{run_id}/join", join, methods=["GET"]),
    Route("/runs/{run_id}/stream", join_stream, methods=["GET"]),
]
