"""The saver interface every backend implements (memory, SQLite, PostgreSQL).

A checkpoint is a plain dict::

    {"v": 1, "id": str, "ts": iso8601, "channel_values": {channel: value},
     "channel_versions": {channel: int}, "versions_seen": {}, "updated_channels": [channel]}

``channel_versions`` increase each time a channel changes, so a saver can store only the
channels whose version moved since the parent checkpoint. Pending writes are
``(task_id, channel, value)`` triples recorded as tasks of an unfinished step complete.
The async methods default to the sync ones; I/O-bound savers override both.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, NamedTuple

from typing_extensions import TypedDict

__all__ = [
    "BaseCheckpointSaver",
    "Checkpoint",
    "CheckpointMetadata",
    "CheckpointTuple",
    "PendingWrite",
    "get_checkpoint_id",
]


class Checkpoint(TypedDict, total=False):
    """A snapshot of every channel after a super-step."""

    v: int
    id: str
    ts: str
    channel_values: dict[str, Any]
    channel_versions: dict[str, int]
    versions_seen: dict[str, dict[str, int]]
    updated_channels: list[str]


class CheckpointMetadata(TypedDict, total=False):
    """Why and when a checkpoint was written."""

    source: str  # "input" | "loop" | "update" | "fork"
    step: int
    parents: dict[str, str]


PendingWrite = tuple[str, str, Any]


class CheckpointTuple(NamedTuple):
    """A stored checkpoint with its config, metadata, parent and pending writes."""

    config: dict[str, Any]
    checkpoint: Checkpoint
    metadata: CheckpointMetadata
    parent_config: dict[str, Any] | None = None
    pending_writes: list[PendingWrite] | None = None


def get_checkpoint_id(config: dict[str, Any]) -> str | None:
    return (config.get("configurable") or {}).get("checkpoint_id")


class BaseCheckpointSaver:
    """Stores checkpoints per ``(thread_id, checkpoint_ns)``, newest last."""

    def get(self, config: dict[str, Any]) -> Checkpoint | None:
        tup = self.get_tuple(config)
        return tup.checkpoint if tup else None

    def get_tuple(self, config: dict[str, Any]) -> CheckpointTuple | None:
        """The checkpoint named by ``config`` (its ``checkpoint_id``, or the latest)."""
        raise NotImplementedError

    def list(
        self,
        config: dict[str, Any] | None,
        *,
        filter: dict[str, Any] | None = None,
        before: dict[str, Any] | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        """Checkpoints of a thread, newest first."""
        raise NotImplementedError

    def put(
        self,
        config: dict[str, Any],
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: dict[str, int],
    ) -> dict[str, Any]:
        """Store a checkpoint; returns the config that addresses it."""
        raise NotImplementedError

    def put_writes(
        self,
        config: dict[str, Any],
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Record the writes of one task of the step after ``config``'s checkpoint."""
        raise NotImplementedError

    def delete_thread(self, thread_id: str) -> None:
        """Forget every checkpoint and write of a thread."""
        raise NotImplementedError

    async def aget(self, config: dict[str, Any]) -> Checkpoint | None:
        tup = await self.aget_tuple(config)
        return tup.checkpoint if tup else None

    async def aget_tuple(self, config: dict[str, Any]) -> CheckpointTuple | None:
        return self.get_tuple(config)

    async def alist(
        self,
        config: dict[str, Any] | None,
        *,
        filter: dict[str, Any] | None = None,
        before: dict[str, Any] | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        for item in self.list(config, filter=filter, before=before, limit=limit):
            yield item

    async def aput(
        self,
        config: dict[str, Any],
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: dict[str, int],
    ) -> dict[str, Any]:
        return self.put(config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self,
        config: dict[str, Any],
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        self.put_writes(config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        self.delete_thread(thread_id)
