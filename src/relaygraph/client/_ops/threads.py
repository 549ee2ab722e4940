"""``/threads``: conversations, their state and history."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from relaygraph.client._protocol import (
    Op,
    QueryParams,
    Request,
    StreamOp,
    body,
    call_json,
    p,
    query,
)
from relaygraph.client._schema import (
    Checkpoint,
    OnConflictBehavior,
    SortOrder,
    Thread,
    ThreadState,
    ThreadStatus,
    ThreadStreamMode,
)
from relaygraph.client._stream import StreamPart, sse_stream

Headers = Mapping[str, str] | None
Params = QueryParams | None

_SSE = {"accept": "text/event-stream", "cache-control": "no-store"}


def _ttl(ttl: int | Mapping[str, Any] | None) -> Any:
    if isinstance(ttl, (int, float)) and not isinstance(ttl, bool):
        return {"ttl": ttl, "strategy": "delete"}
    return ttl


def get(
    thread_id: str,
    *,
    include: Sequence[str] | None = None,
    headers: Headers = None,
    params: Params = None,
) -> Op[Thread]:
    """Get a thread by id (``GET /threads/{thread_id}``)."""
    own = {"include": ",".join(include)} if include else None
    return call_json("GET", f"/threads/{p(thread_id)}", params=query(own, params), headers=headers)


def create(
    *,
    metadata: Mapping[str, Any] | None = None,
    thread_id: str | None = None,
    if_exists: OnConflictBehavior | None = None,
    supersteps: Sequence[Mapping[str, Sequence[Mapping[str, Any]]]] | None = None,
    graph_id: str | None = None,
    ttl: int | Mapping[str, Any] | None = None,
    headers: Headers = None,
    params: Params = None,
) -> Op[Thread]:
    """Create a thread (``POST /threads``); ``graph_id`` is stored in its metadata."""
    if graph_id is not None:
        metadata = {**(metadata or {}), "graph_id": graph_id}
    payload = body(
        metadata=metadata,
        thread_id=thread_id,
        if_exists=if_exists,
        supersteps=supersteps,
        ttl=_ttl(ttl),
    )
    return call_json("POST", "/threads", json=payload, params=params, headers=headers)


def update(
    thread_id: str,
    *,
    metadata: Mapping[str, Any],
    ttl: int | Mapping[str, Any] | None = None,
    return_minimal: bool = False,
    headers: Headers = None,
    params: Params = None,
) -> Op[Thread | None]:
    """Merge ``metadata`` into the thread's (``PATCH /threads/{thread_id}``).

    With ``return_minimal`` the server answers 204 and this returns ``None``.
    """
    if return_minimal:
        headers = {**(headers or {}), "prefer": "return=minimal"}
    return call_json(
        "PATCH",
        f"/threads/{p(thread_id)}",
        json=body({"metadata": metadata}, ttl=_ttl(ttl)),
        params=params,
        headers=headers,
    )


def delete(thread_id: str, *, headers: Headers = None, params: Params = None) -> Op[None]:
    """Delete a thread (``DELETE /threads/{thread_id}``)."""
    return call_json("DELETE", f"/threads/{p(thread_id)}", params=params, headers=headers)


def search(
    *,
    metadata: Mapping[str, Any] | None = None,
    values: Mapping[str, Any] | None = None,
    ids: Sequence[str] | None = None,
    status: ThreadStatus | None = None,
    limit: int = 10,
    offset: int = 0,
    sort_by: str | None = None,
    sort_order: SortOrder | None = None,
    select: list[str] | None = None,
    extract: dict[str, str] | None = None,
    headers: Headers = None,
    params: Params = None,
) -> Op[list[Thread]]:
    """Search threads by metadata, values, ids or status (``POST /threads/search``)."""
    payload = body(
        {"limit": limit, "offset": offset},
        metadata=metadata,
        values=values,
        ids=ids,
        status=status,
        sort_by=sort_by,
        sort_order=sort_order,
        select=select,
        extract=extract,
    )
    return call_json("POST", "/threads/search", json=payload, params=params, headers=headers)


def count(
    *,
    metadata: Mapping[str, Any] | None = None,
    values: Mapping[str, Any] | None = None,
    status: ThreadStatus | None = None,
    headers: Headers = None,
    params: Params = None,
) -> Op[int]:
    """How many threads match (``POST /threads/count``)."""
    payload = body(metadata=metadata, values=values, status=status)
    return call_json("POST", "/threads/count", json=payload, params=params, headers=headers)


def copy(thread_id: str, *, headers: Headers = None, params: Params = None) -> Op[Thread]:
    """Copy a thread and its history to a new thread id (``POST /threads/{id}/copy``)."""
    return call_json("POST", f"/threads/{p(thread_id)}/copy", params=params, headers=headers)


def prune(
    thread_ids: Sequence[str],
    *,
    strategy: str = "delete",
    headers: Headers = None,
    params: Params = None,
) -> Op[dict[str, Any]]:
    """Delete (or keep only the latest state of) many threads (``POST /threads/prune``)."""
    payload = {"thread_ids": list(thread_ids), "strategy": strategy}
    return call_json("POST", "/threads/prune", json=payload, params=params, headers=headers)


def get_state(
    thread_id: str,
    checkpoint: Checkpoint | None = None,
    checkpoint_id: str | None = None,
    *,
    subgraphs: bool = False,
    select: list[str] | None = None,
    headers: Headers = None,
    params: Params = None,
) -> Op[ThreadState]:
    """The thread's state: the latest, or at ``checkpoint``/``checkpoint_id``.

    ``subgraphs`` also fills in the state of interrupted subgraphs.
    """
    base = f"/threads/{p(thread_id)}/state"
    if checkpoint is not None:
        payload = body({"checkpoint": checkpoint, "subgraphs": subgraphs}, select=select)
        return call_json("POST", f"{base}/checkpoint", json=payload, params=params, headers=headers)
    own: dict[str, Any] = {"subgraphs": subgraphs}
    if select:
        own["select"] = select
    url = f"{base}/{p(checkpoint_id)}" if checkpoint_id is not None else base
    return call_json("GET", url, params=query(own, params), headers=headers)


def update_state(
    thread_id: str,
    values: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None,
    *,
    as_node: str | None = None,
    checkpoint: Checkpoint | None = None,
    checkpoint_id: str | None = None,
    headers: Headers = None,
    params: Params = None,
) -> Op[dict[str, Any]]:
    """Write ``values`` to the thread's state, as if ``as_node`` had returned them.

    Returns ``{"checkpoint": {...}}`` naming the new checkpoint.
    """
    payload = body(
        {"values": values}, as_node=as_node, checkpoint=checkpoint, checkpoint_id=checkpoint_id
    )
    return call_json(
        "POST", f"/threads/{p(thread_id)}/state", json=payload, params=params, headers=headers
    )


def get_history(
    thread_id: str,
    *,
    limit: int = 10,
    before: str | Checkpoint | None = None,
    metadata: Mapping[str, Any] | None = None,
    checkpoint: Checkpoint | None = None,
    select: list[str] | None = None,
    headers: Headers = None,
    params: Params = None,
) -> Op[list[ThreadState]]:
    """The thread's past states, newest first (``POST /threads/{id}/history``)."""
    payload = body(
        {"limit": limit}, before=before, metadata=metadata, checkpoint=checkpoint, select=select
    )
    return call_json(
        "POST", f"/threads/{p(thread_id)}/history", json=payload, params=params, headers=headers
    )


def join_stream(
    thread_id: str,
    *,
    last_event_id: str | None = None,
    stream_mode: ThreadStreamMode | Sequence[ThreadStreamMode] = "run_modes",
    headers: Headers = None,
    params: Params = None,
) -> StreamOp[StreamPart]:
    """Follow every run on the thread as it happens (``GET /threads/{id}/stream``).

    The stream stays open; it reconnects from the last event id if the connection drops.
    """
    hdrs = {**_SSE, **(headers or {})}
    if last_event_id is not None:
        hdrs["last-event-id"] = last_event_id
    request = Request(
        "GET",
        f"/threads/{p(thread_id)}/stream",
        params=query({"stream_mode": stream_mode}, params),
        headers=hdrs,
        stream=True,
    )
    return sse_stream(request)
