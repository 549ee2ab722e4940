"""``/runs/crons``: runs on a schedule."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from relaygraph.client._protocol import Op, QueryParams, body, call_json, p
from relaygraph.client._schema import Cron, SortOrder

Headers = Mapping[str, str] | None
Params = QueryParams | None


def _tz(timezone: Any) -> Any:
    return getattr(timezone, "key", None) or (str(timezone) if timezone is not None else None)


def create_for_thread(
    thread_id: str,
    assistant_id: str,
    *,
    schedule: str,
    input: Any = None,
    metadata: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
    multitask_strategy: str | None = None,
    timezone: Any = None,
    enabled: bool | None = None,
    headers: Headers = None,
    params: Params = None,
    **options: Any,
) -> Op[Cron]:
    """Schedule runs of ``assistant_id`` on ``thread_id`` (cron ``schedule``, UTC unless
    ``timezone``); other run options (``interrupt_before``, ``webhook``, ...) go in as given."""
    payload = body(
        {"schedule": schedule, "assistant_id": assistant_id},
        input=input,
        metadata=metadata,
        config=config,
        context=context,
        multitask_strategy=multitask_strategy,
        timezone=_tz(timezone),
        enabled=enabled,
        **options,
    )
    return call_json(
        "POST",
        f"/threads/{p(thread_id)}/runs/crons",
        json=payload,
        params=params,
        headers=headers,
    )


def create(
    assistant_id: str,
    *,
    schedule: str,
    input: Any = None,
    metadata: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
    multitask_strategy: str | None = None,
    timezone: Any = None,
    enabled: bool | None = None,
    headers: Headers = None,
    params: Params = None,
    **options: Any,
) -> Op[Cron]:
    """Schedule stateless runs of ``assistant_id`` (``POST /runs/crons``)."""
    payload = body(
        {"schedule": schedule, "assistant_id": assistant_id},
        input=input,
        metadata=metadata,
        config=config,
        context=context,
        multitask_strategy=multitask_strategy,
        timezone=_tz(timezone),
        enabled=enabled,
        **options,
    )
    return call_json("POST", "/runs/crons", json=payload, params=params, headers=headers)


def update(
    cron_id: str, *, headers: Headers = None, params: Params = None, **fields: Any
) -> Op[Cron]:
    """Change a cron's ``schedule``, ``enabled``, ``input``, ... (``PATCH``)."""
    if "timezone" in fields:
        fields["timezone"] = _tz(fields["timezone"])
    return call_json(
        "PATCH", f"/runs/crons/{p(cron_id)}", json=body(**fields), params=params, headers=headers
    )


def delete(cron_id: str, *, headers: Headers = None, params: Params = None) -> Op[None]:
    """Delete a cron."""
    return call_json("DELETE", f"/runs/crons/{p(cron_id)}", params=params, headers=headers)


def search(
    *,
    assistant_id: str | None = None,
    thread_id: str | None = None,
    enabled: bool | None = None,
    metadata: Mapping[str, Any] | None = None,
    limit: int = 10,
    offset: int = 0,
    sort_by: str | None = None,
    sort_order: SortOrder | None = None,
    select: Sequence[str] | None = None,
    headers: Headers = None,
    params: Params = None,
) -> Op[list[Cron]]:
    """Search crons (``POST /runs/crons/search``)."""
    payload = body(
        {"limit": limit, "offset": offset},
        assistant_id=assistant_id,
        thread_id=thread_id,
        enabled=enabled,
        metadata=metadata,
        sort_by=sort_by,
        sort_order=sort_order,
        select=select,
    )
    return call_json("POST", "/runs/crons/search", json=payload, params=params, headers=headers)


def count(
    *,
    assistant_id: str | None = None,
    thread_id: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    headers: Headers = None,
    params: Params = None,
) -> Op[int]:
    """How many crons match (``POST /runs/crons/count``)."""
    payload = body(assistant_id=assistant_id, thread_id=thread_id, metadata=metadata)
    return call_json("POST", "/runs/crons/count", json=payload, params=params, headers=headers)
