"""The wire objects, as typed dicts, and the string literals the API accepts.

Resource objects are ``total=False``: the reference server omits keys in some states (a new
thread has no ``error``/``interrupts``, a copied one no ``values``), so read them with
``.get`` where a key may be missing.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

__all__ = [
    "All",
    "Assistant",
    "CancelAction",
    "Checkpoint",
    "Command",
    "Config",
    "Cron",
    "DisconnectMode",
    "Durability",
    "IfNotExists",
    "Item",
    "MultitaskStrategy",
    "OnCompletionBehavior",
    "OnConflictBehavior",
    "Run",
    "RunCreateMetadata",
    "RunStatus",
    "SortOrder",
    "StreamMode",
    "StreamVersion",
    "Thread",
    "ThreadState",
    "ThreadStatus",
    "ThreadStreamMode",
]

StreamMode = Literal[
    "values",
    "updates",
    "messages",
    "messages-tuple",
    "custom",
    "debug",
    "events",
    "tasks",
    "checkpoints",
]
ThreadStreamMode = Literal["run_modes", "lifecycle", "state_update"]
StreamVersion = Literal["v1", "v2"]
ThreadStatus = Literal["idle", "busy", "interrupted", "error"]
RunStatus = Literal["pending", "running", "error", "success", "timeout", "interrupted"]
MultitaskStrategy = Literal["reject", "interrupt", "rollback", "enqueue"]
OnConflictBehavior = Literal["raise", "do_nothing"]
OnCompletionBehavior = Literal["delete", "keep"]
DisconnectMode = Literal["cancel", "continue"]
IfNotExists = Literal["create", "reject"]
CancelAction = Literal["interrupt", "rollback"]
Durability = Literal["sync", "async", "exit"]
SortOrder = Literal["asc", "desc"]
All = Literal["*"]


class Config(TypedDict, total=False):
    """A run's config: ``configurable`` values, ``tags``, ``recursion_limit``."""

    tags: list[str]
    recursion_limit: int
    configurable: dict[str, Any]


class Checkpoint(TypedDict, total=False):
    """Where in a thread's history: ``thread_id``, ``checkpoint_ns``, ``checkpoint_id``."""

    thread_id: str
    checkpoint_ns: str
    checkpoint_id: str | None
    checkpoint_map: dict[str, Any] | None


class Command(TypedDict, total=False):
    """Resume an interrupted run (``resume``), write state (``update``), jump (``goto``)."""

    goto: Any
    update: dict[str, Any] | list[tuple[str, Any]]
    resume: Any


class Assistant(TypedDict, total=False):
    """A configured graph: ``POST /assistants`` or one per registered graph."""

    assistant_id: str
    graph_id: str
    config: Config
    context: dict[str, Any]
    metadata: dict[str, Any]
    name: str
    description: str | None
    version: int
    created_at: str
    updated_at: str


class Thread(TypedDict, total=False):
    """A conversation: its state, status and metadata."""

    thread_id: str
    created_at: str
    updated_at: str
    state_updated_at: str
    metadata: dict[str, Any]
    status: ThreadStatus
    config: Config
    values: Any
    error: Any
    interrupts: dict[str, list[dict[str, Any]]]


class ThreadState(TypedDict, total=False):
    """A thread's state at one checkpoint (``GET /threads/{id}/state``, history items)."""

    values: Any
    next: list[str]
    tasks: list[dict[str, Any]]
    metadata: dict[str, Any] | None
    created_at: str | None
    checkpoint: Checkpoint | None
    parent_checkpoint: Checkpoint | None
    interrupts: list[dict[str, Any]]
    checkpoint_id: str | None
    parent_checkpoint_id: str | None


class Run(TypedDict, total=False):
    """One execution of an assistant on a thread."""

    run_id: str
    thread_id: str
    assistant_id: str
    created_at: str
    updated_at: str
    status: RunStatus
    metadata: dict[str, Any]
    kwargs: dict[str, Any]
    multitask_strategy: MultitaskStrategy


class RunCreateMetadata(TypedDict):
    """What ``on_run_created`` receives, read from the ``Content-Location`` header."""

    run_id: str
    thread_id: str | None


class Cron(TypedDict, total=False):
    """A scheduled run."""

    cron_id: str
    assistant_id: str
    thread_id: str | None
    schedule: str
    payload: dict[str, Any]
    metadata: dict[str, Any]
    enabled: bool
    next_run_date: str | None
    end_time: str | None
    created_at: str
    updated_at: str


class Item(TypedDict, total=False):
    """A long-term memory item of the store."""

    namespace: list[str]
    key: str
    value: dict[str, Any]
    created_at: str
    updated_at: str
    score: float | None
