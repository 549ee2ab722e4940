"""A bounded pool of workers that claim pending runs and execute them, under leases.

A claim holds a lease on the run for ``lease_s`` seconds, renewed every third of that by the
pool's heartbeat. The heartbeat's answer also carries cancel requests stored by any instance
(so a cancel whose bus message was lost still arrives), and tells the pool when it lost a
run (its lease expired while this process stalled: another instance took it over). Every
instance runs a reaper that re-queues runs whose lease expired (their worker died); they
resume from their last checkpoint, at most ``max_attempts`` times.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import time
from collections.abc import Awaitable, Callable

from relaygraph.server._metrics import Metrics
from relaygraph.server.bus import Bus, Signal
from relaygraph.server.runs._execute import RunExecutor
from relaygraph.server.runs._handles import RunHandle
from relaygraph.server.runs._queue import RunQueue
from relaygraph.server.storage import Row, Storage

__all__ = ["WorkerPool"]

logger = logging.getLogger("relaygraph.server.runs")


class WorkerPool:
    """``size`` workers on the running loop; ``handles`` maps run ids to executing runs."""

    def __init__(
        self,
        size: int,
        storage: Storage,
        queue: RunQueue,
        executor: RunExecutor,
        metrics: Metrics,
        bus: Bus,
        *,
        lease_s: float = 15.0,
        max_attempts: int = 3,
        on_failed: Callable[[Row], Awaitable[None]] | None = None,
    ) -> None:
        self.size = size
        self.storage = storage
        self.queue = queue
        self.executor = executor
        self.metrics = metrics
        self.bus = bus
        self.lease_s = lease_s
        self.max_attempts = max_attempts
        self.on_failed = on_failed
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{os.urandom(3).hex()}"
        self.handles: dict[str, RunHandle] = {}
        self._workers: list[asyncio.Task[None]] = []
        self._chores: list[asyncio.Task[None]] = []
        self._claiming = False
        self._orphans: set[str] = set()
        metrics.workers_max = size

    def start(self) -> None:
        self._claiming = True
        for i in range(self.size):
            self._workers.append(asyncio.ensure_future(self._work(i)))
        self._chores = [
            asyncio.ensure_future(self._heartbeat()),
            asyncio.ensure_future(self._reaper()),
        ]
        self.queue.notify()

    async def stop(self, *, grace_s: float = 0.0, handoff: bool = False) -> None:
        """Stop claiming; give running runs ``grace_s`` seconds to finish; then hand the
        rest back to the queue (``handoff``) or cancel them as interrupted."""
        self._claiming = False
        for _ in range(self.size):
            self.queue.notify()
        deadline = time.monotonic() + grace_s
        while self.handles and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for handle in list(self.handles.values()):
            handle.cancel("handoff" if handoff else "interrupt")
        await asyncio.gather(*self._workers, return_exceptions=True)
        for chore in self._chores:
            chore.cancel()
        await asyncio.gather(*self._chores, return_exceptions=True)
        self._workers.clear()
        self._chores.clear()

    def cancel_local(self, run_id: str, action: str, *, via: str = "request") -> bool:
        """Cancel ``run_id`` if this instance executes it; ``via`` says how the request
        arrived (``request``, ``bus``, ``heartbeat`` or ``storage``), for the log."""
        handle = self.handles.get(run_id)
        if handle is None or handle.finishing:
            return False
        if handle.cancel_reason is None:
            logger.info(
                "run cancel received", extra={"run_id": run_id, "action": action, "via": via}
            )
        handle.cancel(action)
        return True

    # == claiming and executing ==========================================================
    async def _work(self, index: int) -> None:
        while self._claiming:
            try:
                run = await self.storage.claim_run(time.time(), self.worker_id, self.lease_s)
            except Exception:
                logger.exception("claiming a run failed")
                await asyncio.sleep(1.0)
                continue
            if run is not None and not self._claiming:  # stop() began meanwhile
                await self.storage.release_run(run["run_id"], self.worker_id)
                self.bus.publish(Signal("wake"))
                return
            if run is None:
                due = await self.storage.next_run_at()
                timeout = None if due is None else max(due - time.time(), 0.0)
                poll = self.bus.poll_s
                if poll is not None:
                    timeout = poll if timeout is None else min(timeout, poll)
                await self.queue.wait(timeout)
                continue
            await self._execute(run)

    async def _execute(self, run: Row) -> None:
        handle = RunHandle(
            run["run_id"], run["thread_id"], run.get("started_at") or "", time.monotonic()
        )
        self.handles[handle.run_id] = handle
        self.metrics.workers_busy += 1
        task = handle.task = asyncio.ensure_future(self.executor.execute(run, handle))
        if run.get("cancel_action"):  # cancelled while on a worker that died or left
            handle.cancel(str(run["cancel_action"]))
        try:
            await asyncio.wait((task,))
            if task.cancelled():  # cancelled before it began: record it here
                await self.executor.abandon(run, handle)
        finally:
            # no notify: this worker looks for a run (of its thread, say) before it sleeps
            self.metrics.workers_busy -= 1
            self.handles.pop(handle.run_id, None)

    # == leases ==========================================================================
    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            asked = time.monotonic()
            try:
                held = dict(
                    await self.storage.renew_leases(self.worker_id, time.time() + self.lease_s)
                )
            except Exception as exc:
                logger.warning("renewing run leases failed", extra={"error": repr(exc)})
                continue
            # a row this worker holds but executes nowhere (its finish failed): if it is
            # still so at the next beat, hand it back rather than renew it forever
            orphans = {run_id for run_id in held if run_id not in self.handles}
            for run_id in orphans & self._orphans:
                logger.warning("handing back an orphaned run", extra={"run_id": run_id})
                await self.storage.release_run(run_id, self.worker_id)
                self.bus.publish(Signal("wake"))
                self.queue.notify()
            self._orphans = orphans
            for run_id, handle in list(self.handles.items()):
                if handle.finishing:
                    continue
                if run_id not in held:
                    if handle.claimed_at < asked:
                        logger.warning("run lease lost", extra={"run_id": run_id})
                        handle.cancel("lost")
                elif held[run_id]:
                    self.cancel_local(run_id, str(held[run_id]), via="heartbeat")

    async def reap(self, now: float) -> None:
        """Re-queue (or fail, after ``max_attempts``) runs whose lease ended before ``now``."""
        requeued, failed = await self.storage.reap_expired(now, self.max_attempts)
        for run in requeued:
            logger.warning(
                "re-queued a run whose worker stopped",
                extra={"run_id": run["run_id"], "attempt": run.get("attempt")},
            )
        if requeued:
            self.queue.notify()
            self.bus.publish(Signal("wake"))
        for run in failed:
            logger.error(
                "run failed: its worker stopped too often",
                extra={"run_id": run["run_id"], "attempt": run.get("attempt")},
            )
            if self.on_failed is not None:
                await self.on_failed(run)

    async def _reaper(self) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 2 * random.uniform(0.75, 1.25))
            try:
                await self.reap(time.time())
            except Exception as exc:
                logger.warning("reaping expired runs failed", extra={"error": repr(exc)})
