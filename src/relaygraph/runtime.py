"""``Runtime``: the typed handle a node receives with run-scoped context and services."""

from __future__ import annotations

import dataclasses
from typing import Any, Generic, TypeVar

from relaygraph.types import StreamWriter

__all__ = ["RunControl", "Runtime", "get_runtime"]

C = TypeVar("C")


def _noop(chunk: Any) -> None:
    return None


@dataclasses.dataclass(frozen=True)
class Runtime(Generic[C]):
    """Run-scoped data for a node: ``context`` (from ``stream(context=...)``), the store,
    the ``custom`` stream writer and the previous return value of a functional entrypoint."""

    context: C = None  # type: ignore[assignment]
    store: Any = None
    stream_writer: StreamWriter = _noop
    previous: Any = None


def get_runtime(context_schema: Any = None) -> Runtime[Any]:
    """The ``Runtime`` of the running node."""
    from relaygraph.config import get_runtime as _get

    return _get(context_schema)  # type: ignore[no-any-return]


class RunControl:
    """A handle to steer a running graph from outside (or from a node): drain it.

    ``request_drain(reason)`` lets the current super-step finish, checkpoints it, then
    stops the run with ``GraphDrained``; a checkpointed thread continues with ``stream(None)``.

    After the run, ``final_state`` holds the graph's state values when the run went to its
    end with nothing left to run (no interrupt, error or drain) and wrote the thread's newest
    checkpoint: what ``get_state().values`` then shows, without reading it back from the
    checkpointer. It is ``None`` otherwise. The values are the live objects, so a node that
    mutates state in place without returning it (unsupported, as in LangGraph) shows its
    change here but not in the checkpoint.
    """

    def __init__(self) -> None:
        self.drain_reason: str | None = None
        self.final_state: dict[str, Any] | None = None

    def request_drain(self, reason: str = "drain requested") -> None:
        self.drain_reason = reason

    @property
    def drain_requested(self) -> bool:
        return self.drain_reason is not None
