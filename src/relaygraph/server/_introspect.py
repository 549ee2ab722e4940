"""What ``/assistants/{id}/graph|subgraphs|schemas`` report about a graph."""

from __future__ import annotations

from typing import Any

__all__ = ["graph_json", "schemas", "subgraphs"]


def _json_schema(tp: Any, title: str | None = None) -> dict[str, Any] | None:
    if tp is None:
        return None
    try:
        from pydantic import TypeAdapter

        schema: dict[str, Any] = TypeAdapter(tp).json_schema()
    except Exception:
        hints = getattr(tp, "__annotations__", {}) or {}
        schema = {"type": "object", "properties": {k: {} for k in hints}}
    if title:
        schema["title"] = title
    return schema


def schemas(graph: Any, graph_id: str | None = None) -> dict[str, Any]:
    """``input_schema``/``output_schema`` (``None`` when they are the state), ``state_schema``,
    ``config_schema`` and ``context_schema``."""
    state = graph.state_info.schema
    inp = graph.input_info.schema
    out = graph.output_info.schema
    result: dict[str, Any] = {
        "input_schema": None if inp is state else _json_schema(inp),
        "output_schema": None if out is state else _json_schema(out),
        "state_schema": _json_schema(state, f"{graph_id}_state" if graph_id else None),
        "config_schema": {},
        "context_schema": _json_schema(getattr(graph, "context_schema", None)),
    }
    if graph_id is not None:
        return {"graph_id": graph_id, **result}
    return result


def subgraphs(graph: Any, namespace: str | None, recurse: bool) -> dict[str, Any]:
    return {
        name: schemas(sub)
        for name, sub in graph.get_subgraphs(namespace=namespace, recurse=recurse)
    }


def graph_json(graph: Any, xray: int | bool) -> dict[str, Any]:
    drawn: dict[str, Any] = graph.get_graph(xray=xray).to_json()
    return drawn
