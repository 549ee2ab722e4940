"""``/assistants``: search, count, CRUD, versions, and what a graph looks like."""

from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from relaygraph.server._errors import HTTPError, conflict, not_found
from relaygraph.server._ids import now_iso
from relaygraph.server._introspect import graph_json, schemas, subgraphs
from relaygraph.server._resources import assistant_json, select
from relaygraph.server.routes._common import ctx_of, json, page, path_id, query_bool, read_json
from relaygraph.server.storage import Row

__all__ = ["routes"]


async def _get(request: Request) -> Row:
    assistant_id = path_id(request, "assistant_id", "assistant")
    row = await ctx_of(request).storage.get_assistant(assistant_id)
    if row is None:
        raise not_found()
    return row


async def create(request: Request) -> Response:
    ctx = ctx_of(request)
    body = await read_json(request)
    graph_id = body.get("graph_id")
    if isinstance(graph_id, str) and graph_id not in ctx.graphs:
        raise not_found(f"Graph '{graph_id}' not found. Expected one of: {ctx.graphs.ids}")
    ctx.openapi.validate(body, "AssistantCreate")
    assistant_id = body.get("assistant_id") or str(uuid.uuid4())
    now = now_iso()
    row = {
        "assistant_id": assistant_id,
        "graph_id": graph_id,
        "name": body.get("name") or "Untitled",
        "description": body.get("description"),
        "config": body.get("config") or {},
        "context": body.get("context") or {},
        "metadata": body.get("metadata") or {},
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }
    if not await ctx.storage.create_assistant(row):
        if body.get("if_exists") == "do_nothing":
            existing = await ctx.storage.get_assistant(assistant_id)
            assert existing is not None
            return json(assistant_json(existing))
        raise conflict(f"Assistant {assistant_id} already exists")
    return json(assistant_json(row))


async def search(request: Request) -> Response:
    ctx = ctx_of(request)
    body = await read_json(request, default={})
    ctx.openapi.validate(body, "AssistantSearchRequest")
    limit, offset = body.get("limit", 10), body.get("offset", 0)
    rows, total = await ctx.storage.search_assistants(
        graph_id=body.get("graph_id"),
        name=body.get("name"),
        metadata=body.get("metadata"),
        limit=limit,
        offset=offset,
        sort_by=body.get("sort_by") or "created_at",
        descending=(body.get("sort_order") or "desc") == "desc",
    )
    return page(select(map(assistant_json, rows), body.get("select")), total, offset)


async def count(request: Request) -> Response:
    ctx = ctx_of(request)
    body = await read_json(request, default={})
    ctx.openapi.validate(body, "AssistantCountRequest")
    _, total = await ctx.storage.search_assistants(
        graph_id=body.get("graph_id"),
        name=body.get("name"),
        metadata=body.get("metadata"),
        limit=1,
        offset=0,
        sort_by="created_at",
        descending=True,
    )
    return json(total)


async def get(request: Request) -> Response:
    return json(assistant_json(await _get(request)))


async def patch(request: Request) -> Response:
    ctx = ctx_of(request)
    row = await _get(request)
    body = await read_json(request, default={})
    ctx.openapi.validate(body, "AssistantPatch")
    versions = await ctx.storage.list_assistant_versions(row["assistant_id"], None, 1, 0)
    latest = max([v["version"] for v in versions] + [row["version"]])
    now = now_iso()
    updated = {
        **row,
        "graph_id": body.get("graph_id", row["graph_id"]),
        "name": body.get("name", row["name"]),
        "description": body.get("description", row.get("description")),
        "config": body["config"] if "config" in body else row["config"],
        "context": body["context"] if "context" in body else row["context"],
        "metadata": {**(row.get("metadata") or {}), **(body.get("metadata") or {})},
        "version": latest + 1,
        "created_at": now,
        "updated_at": now,
    }
    await ctx.storage.add_assistant_version(updated)
    fresh = await ctx.storage.get_assistant(row["assistant_id"])
    assert fresh is not None
    return json(assistant_json(fresh))


async def delete(request: Request) -> Response:
    row = await _get(request)
    await ctx_of(request).storage.delete_assistant(row["assistant_id"])
    return Response(status_code=204)


async def versions(request: Request) -> Response:
    ctx = ctx_of(request)
    row = await _get(request)
    body = await read_json(request, default={})
    ctx.openapi.validate(body, "AssistantVersionsSearchRequest")
    found = await ctx.storage.list_assistant_versions(
        row["assistant_id"], body.get("metadata"), body.get("limit", 10), body.get("offset", 0)
    )
    return json([assistant_json(v | {"version": v["version"]}, with_updated=False) for v in found])


async def latest(request: Request) -> Response:
    ctx = ctx_of(request)
    row = await _get(request)
    body = await read_json(request)
    ctx.openapi.validate(body, "AssistantVersionChange")
    version = body.get("version")
    if not isinstance(version, int):
        raise HTTPError(422, "version must be an integer")
    updated = await ctx.storage.set_assistant_version(row["assistant_id"], version)
    if updated is None:
        raise not_found()
    return json(assistant_json(updated))


def _graph(request: Request, row: Row) -> object:
    ctx = ctx_of(request)
    if row["graph_id"] not in ctx.graphs:
        raise not_found(f"Graph '{row['graph_id']}' not found")
    return ctx.graphs.get(row["graph_id"])


async def graph(request: Request) -> Response:
    row = await _get(request)
    return json(graph_json(_graph(request, row), _xray(request)))


def _xray(request: Request) -> int | bool:
    """``xray``: how many levels of subgraphs to draw (``true``: all of them); like other
    boolean query parameters, any other word is false."""
    raw = request.query_params.get("xray", "false").strip().lower()
    if raw.isascii() and raw.isdigit():
        return int(raw) if len(raw) <= 9 else True
    return raw == "true"


async def get_subgraphs(request: Request) -> Response:
    row = await _get(request)
    namespace = request.path_params.get("namespace")
    return json(subgraphs(_graph(request, row), namespace, query_bool(request, "recurse")))


async def get_schemas(request: Request) -> Response:
    row = await _get(request)
    return json(schemas(_graph(request, row), row["graph_id"]))


routes = [
    Route("/assistants", create, methods=["POST"]),
    Route("/assistants/search", search, methods=["POST"]),
    Route("/assistants/count", count, methods=["POST"]),
    Route("/assistants/{assistant_id}", get, methods=["GET"]),
    Route("/assistants/{assistant_id}", patch, methods=["PATCH"]),
    Route("/assistants/{assistant_id}", delete, methods=["DELETE"]),
    Route("/assistants/{assistant_id}/versions", versions, methods=["POST"]),
    Route("/assistants/{assistant_id}/latest", latest, methods=["POST"]),
    Route("/assistants/{assistant_id}/graph", graph, methods=["GET"]),
    Route("/assistants/{assistant_id}/subgraphs", get_subgraphs, methods=["GET"]),
    Route("/assistants/{assistant_id}/subgraphs/{namespace}", get_subgraphs, methods=["GET"]),
    Route("/assistants/{assistant_id}/schemas", get_schemas, methods=["GET"]),
]
