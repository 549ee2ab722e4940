"""A bounded pool of workers that claim pending runs and execute them."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from relaygraph.server._ids import now_iso
from relaygraph.server._metrics import Metrics
from relaygraph.server.runs._execute import RunExecutor
from relaygraph.server.runs._handles import RunHandle
from relaygraph.server.runs._queue import RunQueue
from relaygraph.server.storage import Storage

__all__ = ["WorkerPool"]

logger = logging.getLogger("relaygraph.server.runs")


class WorkerPool:
    """``size`` workers on the running loop; ``handles`` maps run ids to executing runs."""

    def __init__(
        self, size: int, storage: Storage, queue: RunQueue, executor: RunExecutor, metrics: Metrics
    ) -> None:
        self.size = size
        self.storage = storage
        self.queue = queue
        self.executor = executor
        self.metrics = metrics
        self.handles: dict[str, RunHandle] = {}
        self._workers: list[asyncio.Task[None]] = []
        metrics.workers_max = size

    def start(self) -> None:
        for i in range(self.size):
            self._workers.append(asyncio.ensure_future(self._work(i)))
        self.queue.notify()

    async def stop(self) -> None:
        """Cancel the workers and the runs they execute."""
        for handle in list(self.handles.values()):
            handle.cancel("interrupt")
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers.clear()

    async def _work(self, index: int) -> None:
        while True:
            run = await self.storage.claim_run(time.time())
            if run is None:
                due = await self.storage.next_run_at()
                await self.queue.wait(None if due is None else due - time.time())
                continue
            await self._execute(run)

    async def _execute(self, run: dict[str, Any]) -> None:
        handle = RunHandle(run["run_id"], run["thread_id"], now_iso())
        self.handles[handle.run_id] = handle
        self.metrics.workers_busy += 1
        task = handle.task = asyncio.ensure_future(self.executor.execute(run, handle))
        try:
            await asyncio.wait((task,))
            if task.cancelled():  # cancelled before it began: record it here
                await self.executor.abandon(run, handle)
        except asyncio.CancelledError:
            handle.cancel("interrupt")
            await asyncio.gather(task, return_exceptions=True)
            raise
        finally:
            self.metrics.workers_busy -= 1
            self.handles.pop(handle.run_id, None)
