"""``/store``: long-term memory items shared across threads, by namespace and key.

As the reference answers: a put or delete gives 204; a missing item gives 200 ``null``; a
search gives ``{"items": [item + "score": null]}`` and a listing ``{"namespaces": [[...]]}``.
A namespace label must be a non-empty string without ``"."`` (422 otherwise). ``GET`` takes
the namespace as one dotted ``namespace`` parameter (the last one when repeated, as the
reference reads it). ``index`` is accepted and ignored, and so is a search ``query``: there is
no vector index, so a query search lists by last update like one without a query.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from relaygraph.server._errors import HTTPError
from relaygraph.server.routes._common import ctx_of, json, read_json

__all__ = ["routes"]


def _namespace(labels: Any, *, required: bool = False) -> list[str]:
    """``labels`` checked as the reference does; ``required``: a put needs at least one."""
    if not isinstance(labels, (list, tuple)):
        raise HTTPError(422, "Namespace must be a list of labels")
    for label in labels:
        if not isinstance(label, str) or not label or "." in label:
            raise HTTPError(
                422, f"Namespace label {label!r} must be a non-empty string without periods"
            )
    if required and not labels:
        raise HTTPError(422, "Namespace cannot be empty.")
    if required and labels[0] == "langgraph":
        raise HTTPError(
            422, f'Root label for namespace cannot be "langgraph". Got: {tuple(labels)}'
        )
    return list(labels)


def _non_negative(body: dict[str, Any], name: str, default: int) -> int:
    value = body.get(name)
    if value is None:
        return default
    if value < 0:
        raise HTTPError(422, f"Invalid {name}: must be >= 0")
    return int(value)


def _refresh(value: Any) -> bool:
    """``refresh_ttl``: the store's default (refresh on read) unless ``false``."""
    return value is not False


async def put_item(request: Request) -> Response:
    ctx = ctx_of(request)
    body = await read_json(request)
    ctx.openapi.validate(body, "StorePutRequest")
    namespace = _namespace(body["namespace"], required=True)
    ttl = body.get("ttl")
    await ctx.storage.put_item(
        namespace, body["key"], body["value"], ttl_minutes=None if ttl is None else float(ttl)
    )
    return Response(status_code=204)


async def get_item(request: Request) -> Response:
    params = request.query_params
    namespace = _namespace((params.get("namespace") or "").split("."))
    key = params.get("key")
    if not key:
        raise HTTPError(400, "Key is required")
    raw = params.get("refresh_ttl")
    refresh = raw is None or raw.lower() == "true"
    item = await ctx_of(request).storage.get_item(namespace, key, refresh=refresh)
    return json(item)


async def delete_item(request: Request) -> Response:
    ctx = ctx_of(request)
    body = await read_json(request)
    ctx.openapi.validate(body, "StoreDeleteRequest")
    namespace = _namespace(body.get("namespace") or [])
    await ctx.storage.delete_item(namespace, body["key"])
    return Response(status_code=204)


async def search_items(request: Request) -> Response:
    ctx = ctx_of(request)
    body = await read_json(request, default={})
    ctx.openapi.validate(body, "StoreSearchRequest")
    prefix = _namespace(body.get("namespace_prefix") or [])
    try:
        items = await ctx.storage.search_items(
            prefix,
            filter=body.get("filter"),
            limit=_non_negative(body, "limit", 10),
            offset=_non_negative(body, "offset", 0),
            refresh=_refresh(body.get("refresh_ttl")),
        )
    except ValueError as e:  # an unknown filter operator
        raise HTTPError(422, str(e)) from None
    return json({"items": [{**item, "score": None} for item in items]})


async def list_namespaces(request: Request) -> Response:
    ctx = ctx_of(request)
    body = await read_json(request, default={})
    ctx.openapi.validate(body, "StoreListNamespacesRequest")
    prefix = _namespace(body.get("prefix") or [])
    suffix = _namespace(body.get("suffix") or [])
    max_depth = body.get("max_depth")
    if max_depth is not None and max_depth < 1:
        raise HTTPError(422, "Invalid max_depth: must be >= 1")
    namespaces = await ctx.storage.list_namespaces(
        prefix=prefix or None,
        suffix=suffix or None,
        max_depth=max_depth,
        limit=_non_negative(body, "limit", 100),
        offset=_non_negative(body, "offset", 0),
    )
    return json({"namespaces": namespaces})


routes = [
    Route("/store/items", put_item, methods=["PUT"]),
    Route("/store/items", get_item, methods=["GET"]),
    Route("/store/items", delete_item, methods=["DELETE"]),
    Route("/store/items/search", search_items, methods=["POST"]),
    Route("/store/namespaces", list_namespaces, methods=["POST"]),
]
