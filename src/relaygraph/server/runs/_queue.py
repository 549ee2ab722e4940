"""The run queue's doorbell: workers sleep on it and run creation rings it.

Pending runs live in storage (``Storage.claim_run`` hands each to one worker); this only
says *when* to look. Each ``notify`` wakes at most one idle worker; a worker that finishes a
run looks again before sleeping, and a sleeper's timeout is the next scheduled run's due time
(``after_seconds``), so nothing polls.
"""

from __future__ import annotations

import asyncio
import contextlib

__all__ = ["RunQueue"]


class RunQueue:
    """Wake-ups for idle workers."""

    def __init__(self, capacity: int) -> None:
        self._bell: asyncio.Queue[None] = asyncio.Queue(maxsize=max(1, capacity))

    def notify(self) -> None:
        """A run may have become claimable."""
        if not self._bell.full():
            self._bell.put_nowait(None)

    async def wait(self, timeout: float | None) -> None:
        """Sleep until ``notify`` (or ``timeout`` seconds)."""
        if timeout is None:
            await self._bell.get()
            return
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._bell.get(), max(timeout, 0.0))
