"""Payloads of the ``tasks``, ``checkpoints`` and ``debug`` modes (the reference's shapes)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from relaygraph.pregel._algo import Task

_HIDDEN_META_PREFIXES = ("langgraph_", "checkpoint_")
_HIDDEN_META = frozenset({"thread_id", "checkpoint_id", "checkpoint_ns", "run_id"})


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat()


def task_start(task: Task, user_meta: dict[str, Any] | None) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": task.id,
        "name": task.name,
        "input": task.input,
        "triggers": task.triggers,
    }
    if user_meta:
        payload["metadata"] = user_meta
    return payload


def user_metadata(config: dict[str, Any], node_meta: dict[str, Any] | None) -> dict[str, Any]:
    """The metadata a task start event shows: user keys and tags, no engine keys."""
    meta: dict[str, Any] = {}
    for k, v in (config.get("metadata") or {}).items():
        if k in _HIDDEN_META or k.startswith(_HIDDEN_META_PREFIXES):
            continue
        meta[k] = v
    if node_meta:
        meta.update(node_meta)
    tags = config.get("tags")
    if tags:
        meta["tags"] = list(tags)
    return meta


def writes_result(writes: Sequence[tuple[str, Any]], keys: frozenset[str]) -> dict[str, Any]:
    """A task's writes to output channels; a channel written twice shows ``{'$writes': [..]}``."""
    result: dict[str, Any] = {}
    repeated: set[str] = set()
    for k, v in writes:
        if k not in keys:
            continue
        if k in result:
            if k not in repeated:
                result[k] = {"$writes": [result[k]]}
                repeated.add(k)
            result[k]["$writes"].append(v)
        else:
            result[k] = v
    return result


def task_result(task: Task, keys: frozenset[str]) -> dict[str, Any]:
    return {
        "id": task.id,
        "name": task.name,
        "error": task.error,
        "result": {} if task.error is not None else writes_result(task.writes, keys),
        "interrupts": [interrupt_as_dict(i) for i in task.interrupts],
    }


def interrupt_as_dict(interrupt: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(interrupt) and not isinstance(interrupt, type):
        intr: Any = interrupt
        return {
            "value": intr.value,
            "id": intr.id,
            "response_schema": intr.response_schema,
        }
    return dict(interrupt)


def debug(step: int, kind: str, payload: Any) -> dict[str, Any]:
    return {"step": step, "timestamp": now_iso(), "type": kind, "payload": payload}
