"""How a node is called: its signature is inspected once, at ``add_node`` time."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any

from relaygraph.graph._state import SchemaInfo


@dataclasses.dataclass
class NodeSpec:
    """Everything the engine needs to run one node."""

    name: str
    action: Any
    input_info: SchemaInfo
    kwargs: tuple[str, ...] = ()
    is_async: bool = False
    is_runnable: bool = False
    is_graph: bool = False
    retry_policy: Any = None
    cache_policy: Any = None
    metadata: dict[str, Any] | None = None
    defer: bool = False
    destinations: tuple[str, ...] = ()
    triggers: tuple[str, ...] = ()
    edge_writes: tuple[tuple[str, Any], ...] = ()
    branches: tuple[Any, ...] = ()
    tags: tuple[str, ...] = ()
    barriers: tuple[str, ...] = ()


_INJECTABLE = ("config", "writer", "runtime", "store")


def _annotation_kind(annotation: Any) -> str | None:
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    text = str(text)
    if "RunnableConfig" in text:
        return "config"
    if "StreamWriter" in text:
        return "writer"
    if "Runtime" in text:
        return "runtime"
    if "BaseStore" in text:
        return "store"
    return None


def injected_kwargs(fn: Callable[..., Any]) -> tuple[str, ...]:
    """Names of the extra keyword arguments a node function asks for, by name or annotation."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return ()
    found: list[str] = []
    for p in params[1:]:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        kind = p.name if p.name in _INJECTABLE else _annotation_kind(p.annotation)
        if kind and kind not in found:
            found.append(f"{kind}={p.name}")
    return tuple(found)


def is_async_callable(fn: Any) -> bool:
    while isinstance(fn, __import__("functools").partial):
        fn = fn.func
    return inspect.iscoroutinefunction(fn) or (
        callable(fn) and inspect.iscoroutinefunction(type(fn).__call__)
    )
