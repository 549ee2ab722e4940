"""What a running node can reach: its task, config, stream writer and interrupt state.

Kept in a context variable so ``get_config()``, ``get_stream_writer()``, ``interrupt()`` and
nested graph calls find the task they run in, in threads and asyncio tasks alike.
"""

from __future__ import annotations

import contextvars
import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from relaygraph.constants import MISSING
from relaygraph.errors import GraphInterrupt

if TYPE_CHECKING:
    from relaygraph.pregel._algo import Task
    from relaygraph.pregel._loop import RunLoop

_current: contextvars.ContextVar[TaskContext | None] = contextvars.ContextVar(
    "relaygraph_task", default=None
)


def _noop_writer(chunk: Any) -> None:
    return None


class TaskContext:
    """The handle a node's code reaches through the context: one per running task."""

    __slots__ = (
        "interrupt_index",
        "loop",
        "resume_values",
        "subgraph_calls",
        "task",
        "writer",
    )

    def __init__(
        self,
        loop: RunLoop,
        task: Task,
        writer: Callable[[Any], None],
        resume_values: list[Any],
    ) -> None:
        self.loop = loop
        self.task = task
        self.writer = writer
        self.resume_values = resume_values
        self.interrupt_index = 0
        self.subgraph_calls = 0

    @property
    def config(self) -> dict[str, Any]:
        return self.loop.config_of(self.task)

    @property
    def runtime(self) -> Any:
        return self.loop.runtime

    def interrupt(self, value: Any) -> Any:
        from relaygraph.types import Interrupt

        idx = self.interrupt_index
        self.interrupt_index += 1
        if idx < len(self.resume_values):
            return self.resume_values[idx]
        key = self.task.checkpoint_ns if idx == 0 else f"{self.task.checkpoint_ns}|{idx}"
        interrupt_id = hashlib.blake2b(key.encode(), digest_size=16).hexdigest()
        pending = self.loop.take_resume_value(self.task, interrupt_id)
        if pending is not MISSING:
            self.resume_values.append(pending)
            return pending
        raise GraphInterrupt([Interrupt(value=value, id=interrupt_id)])


def current_task(what: str) -> TaskContext:
    ctx = _current.get()
    if ctx is None:
        raise RuntimeError(f"Called {what} outside of a runnable context")
    return ctx


def current_task_or_none() -> TaskContext | None:
    return _current.get()


def set_current(ctx: TaskContext | None) -> contextvars.Token[TaskContext | None]:
    return _current.set(ctx)


def reset_current(token: contextvars.Token[TaskContext | None]) -> None:
    _current.reset(token)
