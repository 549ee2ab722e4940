"""``/threads``: CRUD, search, copy, and the thread's state and history."""

from __future__ import annotations

import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from relaygraph.server import _json
from relaygraph.server._errors import HTTPError, conflict, not_found, status_for
from relaygraph.server._ids import now_iso, parse_uuid, uuid7
from relaygraph.server._resources import EMPTY_STATE, select, state_json, thread_json
from relaygraph.server.routes._common import (
    ctx_of,
    json,
    page,
    path_id,
    query_bool,
    query_int,
    read_json,
)
from relaygraph.server.storage import Row

__all__ = ["routes"]


async def _get(request: Request) -> Row:
    thread_id = path_id(request, "thread_id", "thread")
    row = await ctx_of(request).storage.get_thread(thread_id)
    if row is None:
        raise not_found(f"Thread with ID {thread_id} not found")
    return row


async def create(request: Request) -> Response:
    ctx = ctx_of(request)
    body = await read_json(request, default={})
    ctx.openapi.validate(body, "ThreadCreate")
    thread_id = str(uuid.UUID(body["thread_id"])) if body.get("thread_id") else uuid7()
    now = now_iso()
    row = {"thread_id": thread_id, "created_at": now, "metadata": body.get("metadata") or {}}
    if not await ctx.storage.create_thread(row):
        if body.get("if_exists") == "do_nothing":
            existing = await ctx.storage.get_thread(thread_id)
            assert existing is not None
            return json(thread_json(existing))
        raise conflict(f"Thread with ID {thread_id} already exists")
    created = await ctx.storage.get_thread(thread_id)
    assert created is not None
    return json(thread_json(created))


def _search_args(body: Row) -> dict[str, Any]:
    ids = body.get("ids")
    if ids is not None:
        if not isinstance(ids, list):
            raise HTTPError(422, "ids must be a list of thread IDs")
        ids = [parse_uuid(str(i), "thread") for i in ids]
    return {
        "ids": ids,
        "metadata": body.get("metadata"),
        "values": body.get("values"),
        "status": body.get("status"),
    }


async def search(request: Request) -> Response:
    ctx = ctx_of(request)
    body = await read_json(request, default={})
    ctx.openapi.validate(body, "ThreadSearchRequest")
    limit, offset = body.get("limit", 10), body.get("offset", 0)
    rows, total = await ctx.storage.search_threads(
        **_search_args(body),
        limit=limit,
        offset=offset,
        sort_by=body.get("sort_by") or "created_at",
        descending=(body.get("sort_order") or "desc") == "desc",
    )
    return page(select(map(thread_json, rows), body.get("select")), total, offset)


async def count(request: Request) -> Response:
    ctx = ctx_of(request)
    body = await read_json(request, default={})
    ctx.openapi.validate(body, "ThreadCountRequest")
    _, total = await ctx.storage.search_threads(
        **_search_args(body), limit=1, offset=0, sort_by="created_at", descending=True
    )
    return json(total)


async def get(request: Request) -> Response:
    return json(thread_json(await _get(request)))


async def patch(request: Request) -> Response:
    ctx = ctx_of(request)
    row = await _get(request)
    body = await read_json(request, default={})
    ctx.openapi.validate(body, "ThreadPatch")
    metadata = {**(row.get("metadata") or {}), **(body.get("metadata") or {})}
    await ctx.storage.update_thread(
        row["thread_id"], {"metadata": metadata, "updated_at": now_iso()}
    )
    if request.headers.get("prefer", "").replace(" ", "") == "return=minimal":
        return Response(status_code=204)
    fresh = await ctx.storage.get_thread(row["thread_id"])
    assert fresh is not None
    return json(thread_json(fresh))


async def delete(request: Request) -> Response:
    ctx = ctx_of(request)
    row = await _get(request)
    thread_id = row["thread_id"]
    inflight = await ctx.storage.inflight_runs(thread_id)
    for run in inflight:
        await ctx.runs.cancel_run(run, "interrupt")
    for run in inflight:  # wherever they run: nothing may write to the thread afterwards
        await ctx.runs.log.wait_ended(run["run_id"])
    await ctx.storage.delete_thread(thread_id)
    await ctx.saver.adelete_thread(thread_id)
    return Response(status_code=204)


async def copy(request: Request) -> Response:
    ctx = ctx_of(request)
    row = await _get(request)
    new_id = str(uuid.uuid4())
    now = now_iso()
    await ctx.storage.create_thread(
        {
            "thread_id": new_id,
            "created_at": now,
            "metadata": row.get("metadata") or {},
            "config": row.get("config") or {},
            "values": row.get("values"),
            "interrupts": row.get("interrupts") or {},
            "status": "interrupted" if row.get("interrupts") else "idle",
        }
    )
    await ctx.saver.acopy_thread(row["thread_id"], new_id)
    fresh = await ctx.storage.get_thread(new_id)
    assert fresh is not None
    return json(thread_json(fresh))


async def _state(request: Request, row: Row, checkpoint: Row | None, subgraphs: bool) -> Response:
    graph = ctx_of(request).graph_of(row)
    if graph is None:
        return json(EMPTY_STATE)
    conf: Row = {"thread_id": row["thread_id"], "checkpoint_ns": ""}
    for key in ("checkpoint_id", "checkpoint_ns"):
        if checkpoint and checkpoint.get(key):
            conf[key] = checkpoint[key]
    try:
        snapshot = await graph.aget_state({"configurable": conf}, subgraphs=subgraphs)
    except Exception as exc:
        raise HTTPError(status_for(exc), f"{type(exc).__name__}: {exc}") from exc
    return json(state_json(snapshot))


async def get_state(request: Request) -> Response:
    row = await _get(request)
    return await _state(request, row, None, query_bool(request, "subgraphs"))


async def get_state_at(request: Request) -> Response:
    row = await _get(request)
    checkpoint = {"checkpoint_id": str(request.path_params["checkpoint_id"])}
    return await _state(request, row, checkpoint, query_bool(request, "subgraphs"))


async def post_state_checkpoint(request: Request) -> Response:
    ctx = ctx_of(request)
    row = await _get(request)
    body = await read_json(request, default={})
    ctx.openapi.validate(body, "ThreadStateCheckpointRequest")
    return await _state(request, row, body.get("checkpoint"), bool(body.get("subgraphs")))


async def update_state(request: Request) -> Response:
    ctx = ctx_of(request)
    row = await _get(request)
    body = await read_json(request, default={})
    ctx.openapi.validate(body, "ThreadStateUpdate")
    graph = ctx.graph_of(row, required=True)
    conf: Row = {"thread_id": row["thread_id"], "checkpoint_ns": ""}
    checkpoint = dict(body.get("checkpoint") or {})
    if body.get("checkpoint_id"):
        checkpoint["checkpoint_id"] = body["checkpoint_id"]
    if checkpoint.get("checkpoint_id"):
        conf["checkpoint_id"] = checkpoint["checkpoint_id"]
    try:
        saved = await graph.aupdate_state(
            {"configurable": conf}, body.get("values"), as_node=body.get("as_node")
        )
        snapshot = await graph.aget_state({"configurable": {"thread_id": row["thread_id"]}})
    except Exception as exc:
        raise HTTPError(status_for(exc), f"{type(exc).__name__}: {exc}") from exc
    now = now_iso()
    fields: Row = {
        "values": _json.plain(snapshot.values),
        "updated_at": now,
        "state_updated_at": now,
    }
    if not await ctx.storage.inflight_runs(row["thread_id"]):
        fields["status"] = "interrupted" if snapshot.next else "idle"
    await ctx.storage.update_thread(row["thread_id"], fields)
    saved_conf = dict((saved or {}).get("configurable") or {})
    out = {k: saved_conf.get(k) for k in ("thread_id", "checkpoint_ns", "checkpoint_id")}
    return json({"checkpoint": out, "configurable": out, "checkpoint_id": out["checkpoint_id"]})


async def _history(request: Request, row: Row, body: Row) -> Response:
    graph = ctx_of(request).graph_of(row)
    if graph is None:
        return json([])
    conf: Row = {"thread_id": row["thread_id"], "checkpoint_ns": ""}
    checkpoint = body.get("checkpoint") or {}
    if checkpoint.get("checkpoint_ns"):
        conf["checkpoint_ns"] = checkpoint["checkpoint_ns"]
    if checkpoint.get("checkpoint_id"):
        conf["checkpoint_id"] = checkpoint["checkpoint_id"]
    before = body.get("before")
    if isinstance(before, dict) and "configurable" not in before:
        before = {"configurable": before}
    try:
        states = [
            state_json(s)
            async for s in graph.aget_state_history(
                {"configurable": conf},
                limit=body.get("limit", 1),
                before=before,
                filter=body.get("metadata"),
            )
        ]
    except Exception as exc:
        raise HTTPError(status_for(exc), f"{type(exc).__name__}: {exc}") from exc
    return json(states)


async def history_get(request: Request) -> Response:
    row = await _get(request)
    body: Row = {"limit": query_int(request, "limit", 1, minimum=1)}
    if request.query_params.get("before"):
        body["before"] = {"configurable": {"checkpoint_id": request.query_params["before"]}}
    return await _history(request, row, body)


async def history_post(request: Request) -> Response:
    ctx = ctx_of(request)
    row = await _get(request)
    body = await read_json(request, default={})
    ctx.openapi.validate(body, "ThreadStateSearch")
    return await _history(request, row, body)


routes = [
    Route("/threads", create, methods=["POST"]),
    Route("/threads/search", search, methods=["POST"]),
    Route("/threads/count", count, methods=["POST"]),
    Route("/threads/{thread_id}", get, methods=["GET"]),
    Route("/threads/{thread_id}", patch, methods=["PATCH"]),
    Route("/threads/{thread_id}", delete, methods=["DELETE"]),
    Route("/threads/{thread_id}/copy", copy, methods=["POST"]),
    Route("/threads/{thread_id}/state", get_state, methods=["GET"]),
    Route("/threads/{thread_id}/state", update_state, methods=["POST"]),
    Route("/threads/{thread_id}/state/checkpoint", post_state_checkpoint, methods=["POST"]),
    Route("/threads/{thread_id}/state/{checkpoint_id}", get_state_at, methods=["GET"]),
    Route("/threads/{thread_id}/history", history_get, methods=["GET"]),
    Route("/threads/{thread_id}/history", history_post, methods=["POST"]),
]
