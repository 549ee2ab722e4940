"""The authoring API: ``StateGraph``, ``START``/``END`` and message state helpers.

``MessagesState`` and ``add_messages`` live in ``relaygraph.graph.message``; importing them
from here loads LangChain only when they are first used.
"""

from __future__ import annotations

from typing import Any

from relaygraph.constants import END, START
from relaygraph.graph._compiled import CompiledStateGraph
from relaygraph.graph.state import StateGraph

__all__ = ["END", "START", "CompiledStateGraph", "MessagesState", "StateGraph", "add_messages"]


def __getattr__(name: str) -> Any:
    if name in ("MessagesState", "add_messages"):
        from relaygraph.graph import message

        return getattr(message, name)
    raise AttributeError(f"module 'relaygraph.graph' has no attribute {name!r}")
