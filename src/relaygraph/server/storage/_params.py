"""Rows as statement parameters, shared by the backends (their SQL names the same fields).

JSON columns are passed as JSON text; both SQLite (TEXT) and PostgreSQL (``::jsonb``) take it.
"""

from __future__ import annotations

from typing import Any

from relaygraph.server import _json

Row = dict[str, Any]

__all__ = ["assistant_params", "enc", "new_thread_params", "run_params", "thread_params"]


def enc(value: Any) -> str | None:
    """A JSON column's value (``None`` stays SQL ``NULL``)."""
    return None if value is None else _json.dumps(value).decode()


def assistant_params(row: Row) -> dict[str, Any]:
    """An assistant (or one of its versions)."""
    return {
        "assistant_id": row["assistant_id"],
        "graph_id": row["graph_id"],
        "name": row["name"],
        "description": row.get("description"),
        "config": enc(row.get("config") or {}),
        "context": enc(row.get("context") or {}),
        "metadata": enc(row.get("metadata") or {}),
        "version": row.get("version", 1),
        "created_at": row["created_at"],
        "updated_at": row.get("updated_at", row["created_at"]),
    }


def new_thread_params(row: Row) -> dict[str, Any]:
    """A thread to insert, with the defaults of a new one."""
    return {
        "thread_id": row["thread_id"],
        "created_at": row["created_at"],
        "updated_at": row.get("updated_at", row["created_at"]),
        "state_updated_at": row.get("state_updated_at", row["created_at"]),
        "metadata": enc(row.get("metadata") or {}),
        "status": row.get("status", "idle"),
        "config": enc(row.get("config") or {}),
        "values": enc(row.get("values")),
        "error": enc(row.get("error")),
        "interrupts": enc(row.get("interrupts") or {}),
    }


def thread_params(thread_id: str, fields: Row) -> dict[str, Any]:
    """An ``update_thread``: absent fields keep their value; ``values``/``error`` given as
    ``None`` are cleared (hence their ``set_*`` flags)."""
    return {
        "thread_id": thread_id,
        "metadata": enc(fields.get("metadata")),
        "status": fields.get("status"),
        "config": enc(fields.get("config")),
        "set_values": "values" in fields,
        "values": enc(fields.get("values")),
        "set_error": "error" in fields,
        "error": enc(fields.get("error")),
        "interrupts": enc(fields.get("interrupts")),
        "updated_at": fields.get("updated_at"),
        "state_updated_at": fields.get("state_updated_at"),
    }


def run_params(row: Row) -> dict[str, Any]:
    """A new pending run."""
    return {
        "run_id": row["run_id"],
        "thread_id": row["thread_id"],
        "assistant_id": row["assistant_id"],
        "metadata": enc(row.get("metadata") or {}),
        "kwargs": enc(row.get("kwargs") or {}),
        "multitask_strategy": row.get("multitask_strategy") or "enqueue",
        "created_at": row["created_at"],
        "updated_at": row.get("updated_at", row["created_at"]),
        "run_at": row["run_at"],
    }
