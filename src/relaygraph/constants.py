"""Reserved names shared by the graph builder, the engine and the stream modes."""

from __future__ import annotations

from typing import Any, Final

__all__ = ["END", "START", "TAG_HIDDEN", "TAG_NOSTREAM"]

START: Final = "__start__"
"""The virtual node the input enters through."""
END: Final = "__end__"
"""The virtual node that ends the run."""

TAG_NOSTREAM: Final = "nostream"
"""Tag a chat model with this to keep its tokens out of the ``messages`` stream."""
TAG_HIDDEN: Final = "langsmith:hidden"

INTERRUPT: Final = "__interrupt__"
RESUME: Final = "__resume__"
ERROR: Final = "__error__"
NO_WRITES: Final = "__no_writes__"
TASKS: Final = "__pregel_tasks"
PUSH: Final = "__pregel_push"
PULL: Final = "__pregel_pull"
RETURN: Final = "__return__"
SELF: Final = "__self__"

RESERVED: Final = frozenset({START, END, INTERRUPT, RESUME, ERROR, NO_WRITES, TASKS, PUSH, PULL})


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()
"""Sentinel for "no value" where ``None`` is a legitimate value."""
