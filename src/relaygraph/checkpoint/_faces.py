"""What the durable savers add to ``BaseCheckpointSaver``, and the glue between faces.

* :class:`DurableSaver` adds ``copy_thread`` and ``prune`` (and their async forms).
* :class:`BlockingSaver` is for savers whose work is blocking I/O: the async methods run the
  sync ones in a worker thread, so ``astream`` never blocks the event loop on the database.
* :class:`LoopBoundSaver` is for savers built on an async driver: the sync methods submit
  the coroutine to the saver's event loop from another thread (as LangGraph's async savers
  do), and refuse to run on that loop itself, where they would deadlock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Sequence
from typing import Any, TypeVar

from relaygraph.checkpoint.base import (
    BaseCheckpointSaver,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
)

T = TypeVar("T")


class DurableSaver(BaseCheckpointSaver):
    """A saver that can also copy a thread and prune its old checkpoints."""

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Make ``target_thread_id`` a copy of ``source_thread_id`` (replacing its contents)."""
        raise NotImplementedError

    def prune(self, thread_id: str, keep_latest: int = 1) -> int:
        """Delete all but the newest ``keep_latest`` checkpoints of each namespace of a thread
        (with their writes and the blobs only they used); returns how many were deleted."""
        raise NotImplementedError

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        self.copy_thread(source_thread_id, target_thread_id)

    async def aprune(self, thread_id: str, keep_latest: int = 1) -> int:
        return self.prune(thread_id, keep_latest)


class BlockingSaver(DurableSaver):
    """Async methods that run the blocking sync methods through ``_blocking``: in a worker
    thread by default, so ``astream`` never blocks the event loop on the database."""

    async def _blocking(self, fn: Callable[..., T], *args: Any) -> T:
        """Run one blocking call for an async method; a subclass whose calls are cheap
        enough for the event loop may run them inline instead."""
        return await asyncio.to_thread(fn, *args)

    async def aget_tuple(self, config: dict[str, Any]) -> CheckpointTuple | None:
        return await self._blocking(self.get_tuple, config)

    async def alist(
        self,
        config: dict[str, Any] | None,
        *,
        filter: dict[str, Any] | None = None,
        before: dict[str, Any] | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        def fetch() -> list[CheckpointTuple]:
            return list(self.list(config, filter=filter, before=before, limit=limit))

        for item in await self._blocking(fetch):
            yield item

    async def aput(
        self,
        config: dict[str, Any],
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: dict[str, Any],
    ) -> dict[str, Any]:
        return await self._blocking(self.put, config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self,
        config: dict[str, Any],
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        await self._blocking(self.put_writes, config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        await self._blocking(self.delete_thread, thread_id)

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        await self._blocking(self.copy_thread, source_thread_id, target_thread_id)

    async def aprune(self, thread_id: str, keep_latest: int = 1) -> int:
        return await self._blocking(self.prune, thread_id, keep_latest)


class PlanSaver(BlockingSaver):
    """A blocking saver whose methods are ``SqlCore`` plans (``core``) carried out by the
    backend's ``_run`` (``write=False``: the plan only reads)."""

    core: Any

    def _run(self, plan: Any, *, write: bool = True) -> Any:
        raise NotImplementedError

    def get_tuple(self, config: dict[str, Any]) -> CheckpointTuple | None:
        found: CheckpointTuple | None = self._run(self.core.get_tuple(config), write=False)
        return found

    def list(
        self,
        config: dict[str, Any] | None,
        *,
        filter: dict[str, Any] | None = None,
        before: dict[str, Any] | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        plan = self.core.list(config, filter=filter, before=before, limit=limit)
        yield from self._run(plan, write=False)

    def put(
        self,
        config: dict[str, Any],
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: dict[str, Any],
    ) -> dict[str, Any]:
        stored: dict[str, Any] = self._run(
            self.core.put(config, checkpoint, metadata, new_versions)
        )
        return stored

    def put_writes(
        self,
        config: dict[str, Any],
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        self._run(self.core.put_writes(config, writes, task_id, task_path))

    def delete_thread(self, thread_id: str) -> None:
        self._run(self.core.delete_thread(thread_id))

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        self._run(self.core.copy_thread(source_thread_id, target_thread_id))

    def prune(self, thread_id: str, keep_latest: int = 1) -> int:
        return int(self._run(self.core.prune(thread_id, keep_latest)))


class LoopBoundSaver(DurableSaver):
    """Sync methods that run the async ones on the saver's event loop (from other threads)."""

    loop: asyncio.AbstractEventLoop

    def _wait(self, coro: Coroutine[Any, Any, T]) -> T:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            coro.close()
            raise asyncio.InvalidStateError(
                f"Synchronous calls to {type(self).__name__} are only allowed from a thread "
                "other than its event loop's; use the async methods (or `await "
                "graph.ainvoke(...)`) there."
            )
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def get_tuple(self, config: dict[str, Any]) -> CheckpointTuple | None:
        return self._wait(self.aget_tuple(config))

    def list(
        self,
        config: dict[str, Any] | None,
        *,
        filter: dict[str, Any] | None = None,
        before: dict[str, Any] | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        async def fetch() -> list[CheckpointTuple]:
            return [t async for t in self.alist(config, filter=filter, before=before, limit=limit)]

        yield from self._wait(fetch())

    def put(
        self,
        config: dict[str, Any],
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: dict[str, Any],
    ) -> dict[str, Any]:
        return self._wait(self.aput(config, checkpoint, metadata, new_versions))

    def put_writes(
        self,
        config: dict[str, Any],
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        self._wait(self.aput_writes(config, writes, task_id, task_path))

    def delete_thread(self, thread_id: str) -> None:
        self._wait(self.adelete_thread(thread_id))

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        self._wait(self.acopy_thread(source_thread_id, target_thread_id))

    def prune(self, thread_id: str, keep_latest: int = 1) -> int:
        return self._wait(self.aprune(thread_id, keep_latest))
