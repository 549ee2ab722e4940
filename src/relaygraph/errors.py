"""Exceptions raised by relaygraph.

The tree::

    RelayGraphError
    ├── GraphSetupError (ValueError, TypeError) a graph definition that cannot compile
    │   └── UnknownNodeError (ValueError)  an edge/branch names a node that does not exist
    ├── InvalidUpdateError (ValueError)    a node wrote something the state cannot take
    ├── EmptyInputError (ValueError)       a run started with no input and nothing to resume
    ├── GraphRecursionError (RecursionError) the recursion limit was reached
    ├── InvalidStreamArgumentError (ValueError) a bad ``stream()``/``invoke()`` argument
    ├── NodeTimeoutError (TimeoutError)
    └── GraphDrained                       a run was asked to stop at the next step boundary

    GraphBubbleUp (Exception)              control-flow signals; never swallowed by retries
    ├── GraphInterrupt                     ``interrupt()`` or a breakpoint paused the run
    │   └── NodeInterrupt
    └── ParentCommand                      ``Command(graph=Command.PARENT)`` travelling up

The first line of each class docstring is its default message.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from relaygraph.types import Command, Interrupt

__all__ = [
    "EmptyChannelError",
    "EmptyInputError",
    "ErrorCode",
    "GraphBubbleUp",
    "GraphDrained",
    "GraphInterrupt",
    "GraphRecursionError",
    "GraphSetupError",
    "InvalidStreamArgumentError",
    "InvalidUpdateError",
    "NodeInterrupt",
    "NodeTimeoutError",
    "ParentCommand",
    "RelayGraphError",
    "UnknownNodeError",
    "create_error_message",
]


class ErrorCode:
    """Troubleshooting codes appended to some error messages (the reference's wording)."""

    GRAPH_RECURSION_LIMIT = "GRAPH_RECURSION_LIMIT"
    INVALID_CONCURRENT_GRAPH_UPDATE = "INVALID_CONCURRENT_GRAPH_UPDATE"
    INVALID_GRAPH_NODE_RETURN_VALUE = "INVALID_GRAPH_NODE_RETURN_VALUE"
    MULTIPLE_SUBGRAPHS = "MULTIPLE_SUBGRAPHS"
    INVALID_CHAT_HISTORY = "INVALID_CHAT_HISTORY"


def create_error_message(*, message: str, error_code: str) -> str:
    """Append the troubleshooting link for ``error_code`` to ``message``."""
    return (
        f"{message}\n"
        "For troubleshooting, visit: https://docs.langchain.com/oss/python/langgraph/"
        f"errors/{error_code}"
    )


class RelayGraphError(Exception):
    """relaygraph failed."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*(args or (self._default_message(),)))

    @classmethod
    def _default_message(cls) -> str:
        return (cls.__doc__ or cls.__name__).strip().splitlines()[0]


class GraphSetupError(RelayGraphError, ValueError, TypeError):
    """The graph definition is invalid."""


class UnknownNodeError(GraphSetupError, ValueError):
    """An edge or branch refers to a node that does not exist."""


class InvalidUpdateError(RelayGraphError, ValueError):
    """A node returned an update the state cannot accept."""


class EmptyInputError(RelayGraphError, ValueError):
    """Received no input and there is nothing to resume."""


class EmptyChannelError(RelayGraphError, LookupError):
    """The channel holds no value yet."""


class GraphRecursionError(RelayGraphError, RecursionError):
    """The recursion limit was reached without hitting a stop condition."""


class InvalidStreamArgumentError(RelayGraphError, ValueError):
    """An argument to stream()/invoke() is invalid."""


class NodeTimeoutError(RelayGraphError, TimeoutError):
    """A node ran past its timeout."""


class GraphDrained(RelayGraphError):
    """The run was drained at a step boundary."""


class GraphBubbleUp(Exception):
    """A control-flow signal travelling up the graph; never retried or swallowed."""


class GraphInterrupt(GraphBubbleUp):
    """The run paused for human input."""

    def __init__(self, interrupts: Sequence[Interrupt] = ()) -> None:
        super().__init__(tuple(interrupts))

    @property
    def interrupts(self) -> tuple[Interrupt, ...]:
        return self.args[0]  # type: ignore[no-any-return]


class NodeInterrupt(GraphInterrupt):
    """Raised by a node to pause the run (deprecated spelling of ``interrupt()``)."""

    def __init__(self, value: Any, id: str | None = None) -> None:
        from relaygraph.types import Interrupt

        super().__init__([Interrupt(value=value, id=id or "placeholder-id")])


class ParentCommand(GraphBubbleUp):
    """A ``Command(graph=Command.PARENT)`` on its way to the parent graph."""

    def __init__(self, command: Command, target: Any = None) -> None:
        super().__init__(command)
        self.target = target

    @property
    def command(self) -> Command:
        return self.args[0]  # type: ignore[no-any-return]
