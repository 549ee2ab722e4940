"""Access to the running node's config and stream writer."""

from __future__ import annotations

from typing import Any

from relaygraph.pregel._context import current_task, current_task_or_none
from relaygraph.types import StreamWriter

__all__ = ["get_config", "get_runtime", "get_store", "get_stream_writer"]


def get_config() -> dict[str, Any]:
    """The config of the node that is running (raises ``RuntimeError`` outside a node)."""
    ctx = current_task_or_none()
    if ctx is None:
        import sys

        lc = sys.modules.get("langchain_core.runnables.config")
        var = getattr(lc, "var_child_runnable_config", None)
        if var is not None and (cfg := var.get()):
            return dict(cfg)
        raise RuntimeError("Called get_config outside of a runnable context")
    return ctx.config


def get_stream_writer() -> StreamWriter:
    """The ``custom`` stream writer of the running node; a no-op when nobody listens."""
    return current_task("get_config").writer


def get_runtime(context_schema: Any = None) -> Any:
    """The ``Runtime`` of the running node."""
    return current_task("get_config").runtime


def get_store() -> Any:
    """The store passed to ``compile(store=...)``, or ``None``."""
    return current_task("get_config").runtime.store
