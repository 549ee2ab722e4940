"""``/threads/{thread_id}/runs`` and ``/runs``: start, stream, wait for, join and cancel runs.

``thread_id=None`` selects the stateless endpoints (``/runs/...``): the server runs the graph
on a temporary thread.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx

from relaygraph.client._protocol import (
    Op,
    QueryParams,
    Request,
    StreamOp,
    body,
    call_json,
    decode,
    p,
    query,
)
from relaygraph.client._schema import (
    All,
    CancelAction,
    Checkpoint,
    Command,
    Config,
    DisconnectMode,
    Durability,
    IfNotExists,
    MultitaskStrategy,
    OnCompletionBehavior,
    Run,
    RunCreateMetadata,
    RunStatus,
    StreamMode,
    StreamVersion,
)
from relaygraph.client._stream import StreamPart, read_json, run_metadata, sse_stream, to_v2

Headers = Mapping[str, str] | None
Params = QueryParams | None

_SSE = {"accept": "text/event-stream", "cache-control": "no-store"}


def _runs(thread_id: str | None) -> str:
    return f"/threads/{p(thread_id)}/runs" if thread_id is not None else "/runs"


def _command(command: Command | Mapping[str, Any] | None) -> dict[str, Any] | None:
    if command is None:
        return None
    return {k: v for k, v in command.items() if v is not None}


def _announce(
    on_run_created: Callable[[RunCreateMetadata], None] | None,
) -> Callable[[httpx.Response], None] | None:
    if on_run_created is None:
        return None

    def on_response(response: httpx.Response) -> None:
        meta = run_metadata(response)
        if meta is not None and meta["run_id"] is not None:
            on_run_created({"run_id": meta["run_id"], "thread_id": meta["thread_id"]})

    return on_response


def _run_body(**fields: Any) -> dict[str, Any]:
    fields["command"] = _command(fields.get("command"))
    tracing = fields.pop("langsmith_tracing", None)
    if tracing is not None:
        fields["langsmith_tracer"] = tracing
    return body(**fields)


def stream(
    thread_id: str | None,
    assistant_id: str,
    *,
    input: Any = None,
    command: Command | None = None,
    stream_mode: StreamMode | Sequence[StreamMode] = "values",
    stream_subgraphs: bool = False,
    stream_resumable: bool = False,
    metadata: Mapping[str, Any] | None = None,
    config: Config | None = None,
    context: Mapping[str, Any] | None = None,
    checkpoint: Checkpoint | None = None,
    checkpoint_id: str | None = None,
    checkpoint_during: bool | None = None,
    interrupt_before: All | Sequence[str] | None = None,
    interrupt_after: All | Sequence[str] | None = None,
    feedback_keys: Sequence[str] | None = None,
    on_disconnect: DisconnectMode | None = None,
    on_completion: OnCompletionBehavior | None = None,
    webhook: str | None = None,
    multitask_strategy: MultitaskStrategy | None = None,
    if_not_exists: IfNotExists | None = None,
    after_seconds: int | None = None,
    langsmith_tracing: Mapping[str, Any] | None = None,
    headers: Headers = None,
    params: Params = None,
    on_run_created: Callable[[RunCreateMetadata], None] | None = None,
    durability: Durability | None = None,
    strict_resume: bool | None = None,
    version: StreamVersion = "v1",
) -> StreamOp[Any]:
    """Start a run and stream its events (``POST /threads/{id}/runs/stream``, or
    ``/runs/stream`` when ``thread_id`` is ``None``).

    Yields a :class:`StreamPart` ``(event, data, id)`` per event, with the event named as
    on the wire (``"metadata"``, ``"updates"``, ``"updates|node:<task id>"`` for subgraphs,
    ``"error"``). With ``version="v2"`` yields ``{"type", "ns", "data", "interrupts"}``
    dicts instead. A dropped connection is rejoined (from the last event id when the run
    is ``stream_resumable``).
    """
    payload = _run_body(
        input=input,
        command=command,
        config=config,
        context=context,
        metadata=metadata,
        interrupt_before=interrupt_before,
        interrupt_after=interrupt_after,
        feedback_keys=feedback_keys,
        webhook=webhook,
        checkpoint=checkpoint,
        checkpoint_id=checkpoint_id,
        checkpoint_during=checkpoint_during,
        multitask_strategy=multitask_strategy,
        if_not_exists=if_not_exists,
        on_disconnect=on_disconnect,
        on_completion=on_completion,
        after_seconds=after_seconds,
        durability=durability,
        strict_resume=strict_resume,
        langsmith_tracing=langsmith_tracing,
    )
    payload.update(
        stream_mode=stream_mode if isinstance(stream_mode, str) else builtins.list(stream_mode),
        stream_subgraphs=stream_subgraphs,
        stream_resumable=stream_resumable,
        assistant_id=assistant_id,
    )
    request = Request(
        "POST",
        f"{_runs(thread_id)}/stream",
        json=payload,
        has_body=True,
        params=params,
        headers={**_SSE, **(headers or {})},
        stream=True,
    )
    return sse_stream(
        request,
        transform=to_v2 if version == "v2" else None,
        on_response=_announce(on_run_created),
    )


def create(
    thread_id: str | None,
    assistant_id: str,
    *,
    input: Any = None,
    command: Command | None = None,
    stream_mode: StreamMode | Sequence[StreamMode] = "values",
    stream_subgraphs: bool = False,
    stream_resumable: bool = False,
    metadata: Mapping[str, Any] | None = None,
    config: Config | None = None,
    context: Mapping[str, Any] | None = None,
    checkpoint: Checkpoint | None = None,
    checkpoint_id: str | None = None,
    checkpoint_during: bool | None = None,
    interrupt_before: All | Sequence[str] | None = None,
    interrupt_after: All | Sequence[str] | None = None,
    webhook: str | None = None,
    multitask_strategy: MultitaskStrategy | None = None,
    if_not_exists: IfNotExists | None = None,
    on_completion: OnCompletionBehavior | None = None,
    after_seconds: int | None = None,
    langsmith_tracing: Mapping[str, Any] | None = None,
    headers: Headers = None,
    params: Params = None,
    on_run_created: Callable[[RunCreateMetadata], None] | None = None,
    durability: Durability | None = None,
    strict_resume: bool | None = None,
) -> Op[Run]:
    """Start a background run and return it at once (``POST /threads/{id}/runs``).

    Follow it with :meth:`join_stream` or :meth:`join`; the ``stream_*`` options set what a
    later join can stream.
    """
    payload = _run_body(
        input=input,
        command=command,
        config=config,
        context=context,
        metadata=metadata,
        interrupt_before=interrupt_before,
        interrupt_after=interrupt_after,
        webhook=webhook,
        checkpoint=checkpoint,
        checkpoint_id=checkpoint_id,
        checkpoint_during=checkpoint_during,
        multitask_strategy=multitask_strategy,
        if_not_exists=if_not_exists,
        on_completion=on_completion,
        after_seconds=after_seconds,
        durability=durability,
        strict_resume=strict_resume,
        langsmith_tracing=langsmith_tracing,
    )
    payload.update(
        stream_mode=stream_mode if isinstance(stream_mode, str) else builtins.list(stream_mode),
        stream_subgraphs=stream_subgraphs,
        stream_resumable=stream_resumable,
        assistant_id=assistant_id,
    )
    response = yield Request(
        "POST", _runs(thread_id), json=payload, has_body=True, params=params, headers=headers
    )
    announce = _announce(on_run_created)
    if announce is not None and response.status_code < 300:
        announce(response)
    return decode(response)


def create_batch(
    payloads: builtins.list[Mapping[str, Any]], *, headers: Headers = None, params: Params = None
) -> Op[builtins.list[Run]]:
    """Start many stateless runs at once (``POST /runs/batch``)."""
    cleaned = [{k: v for k, v in item.items() if v is not None} for item in payloads]
    return call_json("POST", "/runs/batch", json=cleaned, params=params, headers=headers)


def wait(
    thread_id: str | None,
    assistant_id: str,
    *,
    input: Any = None,
    command: Command | None = None,
    metadata: Mapping[str, Any] | None = None,
    config: Config | None = None,
    context: Mapping[str, Any] | None = None,
    checkpoint: Checkpoint | None = None,
    checkpoint_id: str | None = None,
    checkpoint_during: bool | None = None,
    interrupt_before: All | Sequence[str] | None = None,
    interrupt_after: All | Sequence[str] | None = None,
    webhook: str | None = None,
    on_disconnect: DisconnectMode | None = None,
    on_completion: OnCompletionBehavior | None = None,
    multitask_strategy: MultitaskStrategy | None = None,
    if_not_exists: IfNotExists | None = None,
    after_seconds: int | None = None,
    langsmith_tracing: Mapping[str, Any] | None = None,
    raise_error: bool = True,
    headers: Headers = None,
    params: Params = None,
    on_run_created: Callable[[RunCreateMetadata], None] | None = None,
    durability: Durability | None = None,
    strict_resume: bool | None = None,
) -> Op[Any]:
    """Start a run and return its final state (``POST /threads/{id}/runs/wait``).

    An interrupted run's result carries ``__interrupt__``. A failed run raises
    :class:`~relaygraph.client.RunError` (or, with ``raise_error=False``, returns
    ``{"__error__": {"error", "message"}}``). A broken connection is retried on the run's
    ``/join`` URL.
    """
    payload = _run_body(
        input=input,
        command=command,
        config=config,
        context=context,
        metadata=metadata,
        interrupt_before=interrupt_before,
        interrupt_after=interrupt_after,
        webhook=webhook,
        checkpoint=checkpoint,
        checkpoint_id=checkpoint_id,
        checkpoint_during=checkpoint_during,
        multitask_strategy=multitask_strategy,
        if_not_exists=if_not_exists,
        on_disconnect=on_disconnect,
        on_completion=on_completion,
        after_seconds=after_seconds,
        durability=durability,
        strict_resume=strict_resume,
        langsmith_tracing=langsmith_tracing,
    )
    payload["assistant_id"] = assistant_id
    request = Request(
        "POST",
        f"{_runs(thread_id)}/wait",
        json=payload,
        has_body=True,
        params=params,
        headers=headers,
    )
    return read_json(request, raise_error=raise_error, on_response=_announce(on_run_created))


def list(
    thread_id: str,
    *,
    limit: int = 10,
    offset: int = 0,
    status: RunStatus | None = None,
    select: builtins.list[str] | None = None,
    headers: Headers = None,
    params: Params = None,
) -> Op[builtins.list[Run]]:
    """The thread's runs, newest first (``GET /threads/{id}/runs``)."""
    own: dict[str, Any] = {"limit": limit, "offset": offset, "status": status}
    if select:
        own["select"] = select
    return call_json("GET", _runs(thread_id), params=query(own, params), headers=headers)


def get(thread_id: str, run_id: str, *, headers: Headers = None, params: Params = None) -> Op[Run]:
    """Get a run (``GET /threads/{id}/runs/{run_id}``)."""
    return call_json("GET", f"{_runs(thread_id)}/{p(run_id)}", params=params, headers=headers)


def cancel(
    thread_id: str,
    run_id: str,
    *,
    wait: bool = False,
    action: CancelAction = "interrupt",
    headers: Headers = None,
    params: Params = None,
) -> Op[Any]:
    """Cancel a run: ``interrupt`` keeps its writes, ``rollback`` deletes the run and them.

    With ``wait`` the call returns once the run has stopped.
    """
    request = Request(
        "POST",
        f"{_runs(thread_id)}/{p(run_id)}/cancel",
        params=query({"wait": 1 if wait else 0, "action": action}, params),
        headers=headers,
    )
    if wait:
        return read_json(request)
    return call_json(
        request.method, request.url, params=request.params, headers=headers, has_body=False
    )


def cancel_many(
    *,
    thread_id: str | None = None,
    run_ids: Sequence[str] | None = None,
    status: str | None = None,
    action: CancelAction = "interrupt",
    headers: Headers = None,
    params: Params = None,
) -> Op[None]:
    """Cancel several runs: by ``thread_id`` + ``run_ids``, or by ``status``."""
    payload = body(thread_id=thread_id, run_ids=run_ids, status=status)
    return call_json(
        "POST",
        "/runs/cancel",
        json=payload,
        params=query({"action": action}, params),
        headers=headers,
    )


def join(thread_id: str, run_id: str, *, headers: Headers = None, params: Params = None) -> Op[Any]:
    """Wait for a run to finish and return the thread's final state (``GET .../join``)."""
    return read_json(
        Request("GET", f"{_runs(thread_id)}/{p(run_id)}/join", params=params, headers=headers)
    )


def join_stream(
    thread_id: str,
    run_id: str,
    *,
    cancel_on_disconnect: bool = False,
    stream_mode: StreamMode | Sequence[StreamMode] | None = None,
    headers: Headers = None,
    params: Params = None,
    last_event_id: str | None = None,
) -> StreamOp[StreamPart]:
    """Stream a running run's events from now on (``GET .../runs/{run_id}/stream``).

    A resumable run replays what followed ``last_event_id`` first (``"0"`` for all of it).
    """
    modes: Any = stream_mode if stream_mode is not None else ""
    hdrs = {**_SSE, **(headers or {})}
    if last_event_id is not None:
        hdrs["last-event-id"] = last_event_id
    request = Request(
        "GET",
        f"{_runs(thread_id)}/{p(run_id)}/stream",
        params=query({"cancel_on_disconnect": cancel_on_disconnect, "stream_mode": modes}, params),
        headers=hdrs,
        stream=True,
    )
    return sse_stream(request, last_event_id=last_event_id)


def delete(
    thread_id: str, run_id: str, *, headers: Headers = None, params: Params = None
) -> Op[None]:
    """Delete a run (``DELETE /threads/{id}/runs/{run_id}``)."""
    return call_json("DELETE", f"{_runs(thread_id)}/{p(run_id)}", params=params, headers=headers)
