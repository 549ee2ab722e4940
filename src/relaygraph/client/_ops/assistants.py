"""``/assistants``: configured graphs (versions, schemas, drawing)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from relaygraph.client._protocol import (
    Op,
    QueryParams,
    Request,
    body,
    call_json,
    decode,
    p,
    query,
)
from relaygraph.client._schema import Assistant, Config, OnConflictBehavior, SortOrder

Headers = Mapping[str, str] | None
Params = QueryParams | None


def get(assistant_id: str, *, headers: Headers = None, params: Params = None) -> Op[Assistant]:
    """Get an assistant by id (``GET /assistants/{assistant_id}``)."""
    return call_json("GET", f"/assistants/{p(assistant_id)}", params=params, headers=headers)


def get_graph(
    assistant_id: str,
    *,
    xray: int | bool = False,
    headers: Headers = None,
    params: Params = None,
) -> Op[dict[str, list[dict[str, Any]]]]:
    """The assistant's graph as ``{"nodes": [...], "edges": [...]}``; ``xray`` expands
    subgraphs (``True``, or a depth)."""
    return call_json(
        "GET",
        f"/assistants/{p(assistant_id)}/graph",
        params=query({"xray": xray}, params),
        headers=headers,
    )


def get_schemas(
    assistant_id: str, *, headers: Headers = None, params: Params = None
) -> Op[dict[str, Any]]:
    """The graph's input, output, state, config and context JSON schemas."""
    return call_json(
        "GET", f"/assistants/{p(assistant_id)}/schemas", params=params, headers=headers
    )


def get_subgraphs(
    assistant_id: str,
    namespace: str | None = None,
    recurse: bool = False,
    *,
    headers: Headers = None,
    params: Params = None,
) -> Op[dict[str, Any]]:
    """The schemas of the graph's subgraphs, by namespace (``recurse`` for nested ones)."""
    path = f"/assistants/{p(assistant_id)}/subgraphs"
    if namespace is not None:
        path += f"/{p(namespace)}"
    return call_json("GET", path, params=query({"recurse": recurse}, params), headers=headers)


def create(
    graph_id: str | None,
    config: Config | None = None,
    *,
    context: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    assistant_id: str | None = None,
    if_exists: OnConflictBehavior | None = None,
    name: str | None = None,
    headers: Headers = None,
    description: str | None = None,
    params: Params = None,
) -> Op[Assistant]:
    """Create an assistant for ``graph_id`` (``POST /assistants``)."""
    payload = body(
        graph_id=graph_id,
        config=config,
        context=context,
        metadata=metadata,
        assistant_id=assistant_id,
        if_exists=if_exists,
        name=name,
        description=description,
    )
    return call_json("POST", "/assistants", json=payload, params=params, headers=headers)


def update(
    assistant_id: str,
    *,
    graph_id: str | None = None,
    config: Config | None = None,
    context: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    name: str | None = None,
    headers: Headers = None,
    description: str | None = None,
    params: Params = None,
) -> Op[Assistant]:
    """Update an assistant; the server keeps the old version (``PATCH /assistants/{id}``)."""
    payload = body(
        graph_id=graph_id,
        config=config,
        context=context,
        metadata=metadata,
        name=name,
        description=description,
    )
    return call_json(
        "PATCH", f"/assistants/{p(assistant_id)}", json=payload, params=params, headers=headers
    )


def delete(
    assistant_id: str,
    *,
    delete_threads: bool = False,
    headers: Headers = None,
    params: Params = None,
) -> Op[None]:
    """Delete an assistant (and, with ``delete_threads``, its threads)."""
    own = {"delete_threads": True} if delete_threads else None
    return call_json(
        "DELETE", f"/assistants/{p(assistant_id)}", params=query(own, params), headers=headers
    )


def search(
    *,
    metadata: Mapping[str, Any] | None = None,
    graph_id: str | None = None,
    name: str | None = None,
    limit: int = 10,
    offset: int = 0,
    sort_by: str | None = None,
    sort_order: SortOrder | None = None,
    select: list[str] | None = None,
    response_format: Literal["array", "object"] = "array",
    headers: Headers = None,
    params: Params = None,
) -> Op[Any]:
    """Search assistants (``POST /assistants/search``).

    Returns a list, or with ``response_format="object"`` ``{"assistants": [...], "next":
    <next offset or None>}`` (from the ``X-Pagination-Next`` header).
    """
    payload = body(
        {"limit": limit, "offset": offset},
        metadata=metadata,
        graph_id=graph_id,
        name=name,
        sort_by=sort_by,
        sort_order=sort_order,
        select=select,
    )
    response = yield Request(
        "POST", "/assistants/search", json=payload, has_body=True, params=params, headers=headers
    )
    found = decode(response)
    if response_format == "object":
        return {"assistants": found, "next": response.headers.get("x-pagination-next")}
    return found


def count(
    *,
    metadata: Mapping[str, Any] | None = None,
    graph_id: str | None = None,
    name: str | None = None,
    headers: Headers = None,
    params: Params = None,
) -> Op[int]:
    """How many assistants match (``POST /assistants/count``)."""
    payload = body(metadata=metadata, graph_id=graph_id, name=name)
    return call_json("POST", "/assistants/count", json=payload, params=params, headers=headers)


def get_versions(
    assistant_id: str,
    metadata: Mapping[str, Any] | None = None,
    limit: int = 10,
    offset: int = 0,
    *,
    headers: Headers = None,
    params: Params = None,
) -> Op[list[Assistant]]:
    """The assistant's versions, newest first."""
    payload = body({"limit": limit, "offset": offset}, metadata=metadata)
    return call_json(
        "POST",
        f"/assistants/{p(assistant_id)}/versions",
        json=payload,
        params=params,
        headers=headers,
    )


def set_latest(
    assistant_id: str, version: int, *, headers: Headers = None, params: Params = None
) -> Op[Assistant]:
    """Make ``version`` the assistant's current one."""
    return call_json(
        "POST",
        f"/assistants/{p(assistant_id)}/latest",
        json={"version": version},
        params=params,
        headers=headers,
    )
