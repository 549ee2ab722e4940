"""Each run's event log: a gap-free sequence of ``(seq, event, data)``, durable in storage,
with a bounded in-memory tail for the readers that keep up.

``RunStream.publish`` never waits: it numbers the event, appends it to the tail and to the
unflushed list, wakes readers, and lets a flusher task write the unflushed events to storage
in batches. A reader (``EventLog.read``) holds only a cursor, the last seq it has sent:

* from the tail while its cursor is within it (the common case, no copies kept per reader);
* from the unflushed list or storage when it has fallen behind the tail, so a slow reader
  costs the run nothing and holds no memory of its own;
* from storage alone once the run is over (during the retention window, and after a restart).
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

from relaygraph.server.storage import Storage
from relaygraph.server.storage._base import EventRow

__all__ = ["EventLog", "RunStream"]

_FLUSH_DELAY_S = 0.002


class RunStream:
    """The live end of one run's log (exists from run creation until its end)."""

    def __init__(self, run_id: str, log: EventLog) -> None:
        self.run_id = run_id
        self.log = log
        self.last_seq = 0
        self.flushed = 0
        self.pending: list[EventRow] = []
        self.tail: deque[EventRow] = deque(maxlen=log.tail_size)
        self.finished = False
        self.outcome: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiter: asyncio.Future[None] | None = None

    def publish(self, event: str, data: bytes) -> int:
        """Append an event; returns its seq."""
        seq = self.last_seq + 1
        self.last_seq = seq
        row = (seq, event, data)
        if not self.pending:
            self.log.mark_dirty(self)
        self.pending.append(row)
        self.tail.append(row)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)
        return seq

    def flushed_through(self, seq: int) -> None:
        """Storage now holds every event up to ``seq``."""
        if seq > self.flushed:
            del self.pending[: seq - self.flushed]
            self.flushed = seq

    async def finish(self, outcome: Any) -> None:
        """Flush everything, mark the log complete and wake every reader."""
        await self.log.flush([self])
        self.finished = True
        if not self.outcome.done():
            self.outcome.set_result(outcome)
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def after(self, cursor: int, limit: int) -> list[EventRow] | None:
        """Up to ``limit`` events after ``cursor`` held in memory; ``None`` when they are only
        in storage."""
        if cursor >= self.last_seq:
            return []
        tail = self.tail
        first = tail[0][0] if tail else self.last_seq + 1
        if cursor + 1 >= first:
            start = cursor + 1 - first
            return list(itertools.islice(tail, start, start + limit))
        if cursor >= self.flushed:
            start = cursor - self.flushed
            return self.pending[start : start + limit]
        return None

    async def wait(self, timeout: float | None) -> bool:
        """Wait for the next event (or the end); ``False`` on timeout."""
        if self.finished:
            return True
        waiter = self._waiter
        if waiter is None:
            waiter = self._waiter = asyncio.get_running_loop().create_future()
        done, _ = await asyncio.wait((waiter,), timeout=timeout)
        return bool(done)


class EventLog:
    """Every run's log: the live ``RunStream`` of active runs, storage for the rest.

    One flusher task writes the unflushed events of all live runs in a single storage call
    a couple of milliseconds after the first of them was published.
    """

    def __init__(self, storage: Storage, tail_size: int = 1024) -> None:
        self.storage = storage
        self.tail_size = tail_size
        self.live: dict[str, RunStream] = {}
        self._dirty: dict[str, RunStream] = {}
        self._flusher: asyncio.Task[None] | None = None
        self._bell: asyncio.Event | None = None

    def open(self, run_id: str) -> RunStream:
        stream = self.live.get(run_id)
        if stream is None:
            stream = self.live[run_id] = RunStream(run_id, self)
        return stream

    def mark_dirty(self, stream: RunStream) -> None:
        self._dirty[stream.run_id] = stream
        if self._bell is None:
            self._bell = asyncio.Event()
            self._flusher = asyncio.ensure_future(self._flush_loop(self._bell))
        self._bell.set()

    async def _flush_loop(self, bell: asyncio.Event) -> None:
        while True:
            await bell.wait()
            await asyncio.sleep(_FLUSH_DELAY_S)
            bell.clear()
            streams = list(self._dirty.values())
            self._dirty.clear()
            await self.flush(streams)

    async def flush(self, streams: list[RunStream]) -> None:
        """Write the unflushed events of ``streams`` to storage in one call."""
        taken = [(s, s.pending[:]) for s in streams if s.pending]
        if not taken:
            return
        await self.storage.append_events(
            [(s.run_id, seq, event, data) for s, rows in taken for seq, event, data in rows]
        )
        for s, rows in taken:
            s.flushed_through(rows[-1][0])
            if s.pending and not s.finished:
                self.mark_dirty(s)

    async def stop(self) -> None:
        """Stop the flusher after a last flush."""
        if self._flusher is not None:
            self._flusher.cancel()
            await asyncio.gather(self._flusher, return_exceptions=True)
            self._flusher, self._bell = None, None
        await self.flush(list(self._dirty.values()))
        self._dirty.clear()

    async def close(self, run_id: str, outcome: Any) -> None:
        """End ``run_id``'s live log (all of it is in storage afterwards)."""
        stream = self.live.get(run_id)
        if stream is not None:
            await stream.finish(outcome)
            self.live.pop(run_id, None)
            self._dirty.pop(run_id, None)

    async def read(
        self, run_id: str, after: int, *, heartbeat_s: float | None = None, batch: int = 256
    ) -> AsyncIterator[list[EventRow] | None]:
        """Batches of events with ``seq > after`` until the run's log is complete; ``None``
        after each ``heartbeat_s`` without events."""
        cursor = after
        stream = self.live.get(run_id)
        while True:
            rows = stream.after(cursor, batch) if stream is not None else None
            if rows is None:
                rows = await self.storage.read_events(run_id, cursor, batch)
                if not rows and (stream is None or stream.finished):
                    return
            if rows:
                cursor = rows[-1][0]
                yield rows
                continue
            assert stream is not None
            if stream.finished:
                return
            if not await stream.wait(heartbeat_s):
                yield None
