"""Stored rows and engine snapshots as the wire's JSON objects (Thread, Run, Assistant,
ThreadState)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from relaygraph.server import _json
from relaygraph.server.storage import Row

__all__ = [
    "EMPTY_STATE",
    "assistant_json",
    "interrupts_json",
    "run_json",
    "select",
    "state_json",
    "thread_json",
]

EMPTY_STATE: dict[str, Any] = {
    "values": {},
    "next": [],
    "tasks": [],
    "metadata": None,
    "created_at": None,
    "checkpoint": None,
    "parent_checkpoint": None,
    "interrupts": [],
    "checkpoint_id": None,
    "parent_checkpoint_id": None,
}


def assistant_json(row: Row, *, with_updated: bool = True) -> dict[str, Any]:
    out = {
        "assistant_id": row["assistant_id"],
        "graph_id": row["graph_id"],
        "config": row.get("config") or {},
        "context": row.get("context") or {},
        "metadata": row.get("metadata") or {},
        "name": row["name"],
        "created_at": row["created_at"],
        "updated_at": row.get("updated_at", row["created_at"]),
        "version": row["version"],
        "description": row.get("description"),
    }
    if not with_updated:
        del out["updated_at"]
    return out


def thread_json(row: Row) -> dict[str, Any]:
    return {
        "thread_id": row["thread_id"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "state_updated_at": row["state_updated_at"],
        "metadata": row.get("metadata") or {},
        "status": row["status"],
        "config": row.get("config") or {},
        "values": row.get("values"),
        "error": row.get("error"),
        "interrupts": row.get("interrupts") or {},
    }


def run_json(row: Row) -> dict[str, Any]:
    return {
        "run_id": row["run_id"],
        "thread_id": row["thread_id"],
        "assistant_id": row["assistant_id"],
        "metadata": row.get("metadata") or {},
        "status": row["status"],
        "kwargs": row.get("kwargs") or {},
        "multitask_strategy": row["multitask_strategy"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "langsmith_session_name": None,
    }


def select(objects: Iterable[dict[str, Any]], fields: list[str] | None) -> list[dict[str, Any]]:
    """Narrow each object to ``fields`` (all fields when ``None``)."""
    if not fields:
        return list(objects)
    return [{k: o[k] for k in fields if k in o} for o in objects]


def interrupts_json(interrupts: Iterable[Any]) -> list[Any]:
    return [_json.plain(i) for i in interrupts]


def _checkpoint(config: dict[str, Any] | None) -> dict[str, Any] | None:
    if not config:
        return None
    conf = config.get("configurable") or {}
    if not conf.get("checkpoint_id"):
        return None
    return {
        "checkpoint_id": conf["checkpoint_id"],
        "thread_id": conf.get("thread_id"),
        "checkpoint_ns": conf.get("checkpoint_ns", ""),
    }


def _task_json(task: Any) -> dict[str, Any]:
    state = task.state
    if state is not None and hasattr(state, "values") and hasattr(state, "next"):
        state = state_json(state)
    error = task.error
    return {
        "id": task.id,
        "name": task.name,
        "path": _json.plain(task.path),
        "error": None if error is None else f"{type(error).__name__}({str(error)!r})",
        "interrupts": interrupts_json(task.interrupts),
        "checkpoint": _checkpoint(state)
        if isinstance(state, dict) and "configurable" in state
        else None,
        "state": state if not (isinstance(state, dict) and "configurable" in state) else None,
        "result": _json.plain(task.result),
    }


def state_json(snapshot: Any) -> dict[str, Any]:
    """A ``StateSnapshot`` as a ThreadState object."""
    if snapshot.metadata is None and not snapshot.values and not snapshot.next:
        return dict(EMPTY_STATE)
    checkpoint = _checkpoint(snapshot.config)
    parent = _checkpoint(snapshot.parent_config)
    return {
        "values": _json.plain(snapshot.values),
        "next": list(snapshot.next),
        "tasks": [_task_json(t) for t in snapshot.tasks],
        "metadata": _json.plain(snapshot.metadata),
        "created_at": snapshot.created_at,
        "checkpoint": checkpoint,
        "parent_checkpoint": parent,
        "interrupts": interrupts_json(snapshot.interrupts),
        "checkpoint_id": checkpoint["checkpoint_id"] if checkpoint else None,
        "parent_checkpoint_id": parent["checkpoint_id"] if parent else None,
    }
