"""Public value types: ``Send``, ``Command``, ``interrupt``, policies and snapshots."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Sequence
from typing import Any, ClassVar, Generic, Literal, NamedTuple, TypeAlias, TypeVar

__all__ = [
    "All",
    "CachePolicy",
    "Checkpointer",
    "Command",
    "Durability",
    "GraphOutput",
    "Interrupt",
    "PregelTask",
    "RetryPolicy",
    "Send",
    "StateSnapshot",
    "StreamMode",
    "StreamPart",
    "StreamWriter",
    "interrupt",
]

StreamMode: TypeAlias = Literal[
    "values", "updates", "checkpoints", "tasks", "debug", "messages", "custom"
]
"""How ``stream()`` reports progress; see the README's table of modes."""

Durability: TypeAlias = Literal["sync", "async", "exit"]
"""When checkpoints are written: before the next step, alongside it, or only when the run ends."""

All: TypeAlias = Literal["*"]
"""Wildcard for ``interrupt_before``/``interrupt_after``: every node."""

StreamWriter: TypeAlias = Callable[[Any], None]
"""Callable a node uses to emit ``custom`` stream chunks."""

Checkpointer: TypeAlias = Any
"""A checkpoint saver, ``True`` (inherit the parent's), ``False`` or ``None``."""

N = TypeVar("N", bound=Hashable)
V = TypeVar("V")


def _default_retry_on(exc: Exception) -> bool:
    """Retry on connection errors and 5xx responses; never on programming errors."""
    if isinstance(exc, ConnectionError):
        return True
    return not isinstance(
        exc,
        (
            ValueError,
            TypeError,
            ArithmeticError,
            ImportError,
            LookupError,
            NameError,
            SyntaxError,
            RuntimeError,
            ReferenceError,
            StopIteration,
            StopAsyncIteration,
            OSError,
        ),
    ) or _is_transient_http_error(exc)


def _is_transient_http_error(exc: Exception) -> bool:
    status = getattr(getattr(exc, "response", None), "status_code", None)
    return isinstance(status, int) and status >= 500


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How to retry a failed node: exponential backoff with optional jitter."""

    initial_interval: float = 0.5
    backoff_factor: float = 2.0
    max_interval: float = 128.0
    max_attempts: int = 3
    jitter: bool = True
    retry_on: type[Exception] | Sequence[type[Exception]] | Callable[[Exception], bool] = (
        _default_retry_on
    )


@dataclasses.dataclass(frozen=True)
class CachePolicy(Generic[V]):
    """Cache a node's writes, keyed by its input; ``ttl`` in seconds (``None``: forever)."""

    key_func: Callable[..., str | bytes] | None = None
    ttl: int | None = None


@dataclasses.dataclass(frozen=True, repr=False)
class Interrupt:
    """A pause raised by ``interrupt(value)``; ``id`` addresses it when resuming."""

    value: Any
    id: str = "placeholder-id"
    response_schema: Any = None

    def __repr__(self) -> str:
        return (
            f"Interrupt(value={self.value!r}, id={self.id!r}, "
            f"response_schema={self.response_schema!r})"
        )


class Send:
    """Run ``node`` in the next step with ``arg`` as its input (map-reduce fan-out)."""

    __slots__ = ("arg", "node")

    def __init__(self, node: str, arg: Any) -> None:
        self.node = node
        self.arg = arg

    def __hash__(self) -> int:
        return hash((self.node, repr(self.arg)))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Send) and self.node == other.node and self.arg == other.arg

    def __repr__(self) -> str:
        return f"Send(node={self.node!r}, arg={self.arg!r})"


@dataclasses.dataclass(repr=False)
class Command(Generic[N]):
    """Update state, jump to nodes and/or resume an interrupt, from a node or as run input.

    ``graph=Command.PARENT`` sends the command to the graph that holds the current subgraph.
    """

    graph: str | None = None
    update: Any | None = None
    resume: dict[str, Any] | Any | None = None
    goto: Send | Sequence[Send | N] | N = ()

    PARENT: ClassVar[Literal["__parent__"]] = "__parent__"

    def __repr__(self) -> str:
        fields = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if getattr(self, f.name) not in (None, ())
        }
        return "Command(" + ", ".join(f"{k}={v!r}" for k, v in fields.items()) + ")"


class PregelTask(NamedTuple):
    """A task of a snapshot: pending, interrupted, failed or finished."""

    id: str
    name: str
    path: tuple[str | int | tuple[Any, ...], ...]
    error: Exception | None = None
    interrupts: tuple[Interrupt, ...] = ()
    state: Any = None
    result: Any | None = None


class StateSnapshot(NamedTuple):
    """A thread's state at one checkpoint."""

    values: dict[str, Any] | Any
    next: tuple[str, ...]
    config: dict[str, Any]
    metadata: dict[str, Any] | None
    created_at: str | None
    parent_config: dict[str, Any] | None
    tasks: tuple[PregelTask, ...]
    interrupts: tuple[Interrupt, ...] = ()


@dataclasses.dataclass(frozen=True)
class GraphOutput(Generic[V]):
    """What ``invoke(version="v2")`` returns: the final value and any pending interrupts."""

    value: V
    interrupts: tuple[Interrupt, ...] = ()


StreamPart: TypeAlias = dict[str, Any]
"""A ``version="v2"`` stream item: ``{"type", "ns", "data"}`` (+ ``"interrupts"`` for values)."""


def interrupt(value: Any) -> Any:
    """Pause the run and surface ``value`` to the caller; returns the resume value on resume.

    Requires a checkpointer to be resumable. The first call in a node returns the first
    resume value, the second call the second, and so on.
    """
    from relaygraph.pregel._context import current_task

    return current_task("interrupt").interrupt(value)
