"""Each run's event log: a gap-free sequence of ``(seq, event, data)``, durable in storage.

The instance executing a run holds its ``RunStream``: ``publish`` never waits, it numbers the
event and queues it; a flusher task writes queued events (of all live runs) to storage in
one call, then wakes readers. **An event is delivered only once it is stored**, so a seq a
client has seen is never reused, even when the run's worker dies and another instance
resumes the run from its last checkpoint (the new attempt numbers on from the stored seq).

A reader (``EventLog.read``) holds only a cursor, the last seq it has sent:

* on the executing instance, from the stream's bounded in-memory tail while its cursor is
  within it (no copies kept per reader), else from storage, so a slow reader costs the run
  nothing and holds no memory of its own;
* anywhere else (another instance, a pending run, a finished run, after a restart), from
  storage, woken by the bus's ``events`` signals and re-checking every ``bus.poll_s``.

The log of a run is complete once the run's status is terminal (or the run is gone): the
executor stores the last events before it records the outcome.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from relaygraph.server.bus import Bus, LocalBus, Signal
from relaygraph.server.storage import Storage
from relaygraph.server.storage._base import EventRow

__all__ = ["DETACHED", "EventLog", "LogReader", "RunStream"]

DETACHED: Any = object()
"""The outcome of a stream whose run left this instance unfinished (handed back, or its
lease was lost): wait for the run elsewhere."""

_INFLIGHT = ("pending", "running")

logger = logging.getLogger("relaygraph.server.runs")


class RunStream:
    """The live end of one run's log, on the instance executing the run."""

    def __init__(self, run_id: str, log: EventLog, start_seq: int = 0) -> None:
        self.run_id = run_id
        self.log = log
        self.last_seq = start_seq
        self.flushed = start_seq
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
        return seq

    def flushed_through(self, seq: int) -> None:
        """Storage now holds every event up to ``seq``: readers may have them."""
        if seq > self.flushed:
            del self.pending[: seq - self.flushed]
            self.flushed = seq
            self._wake()

    def end(self, outcome: Any) -> None:
        """Mark the log complete (everything is flushed) and wake every reader."""
        self.finished = True
        if not self.outcome.done():
            self.outcome.set_result(outcome)
        self._wake()

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def after(self, cursor: int, limit: int) -> list[EventRow] | None:
        """Up to ``limit`` stored events after ``cursor`` from the tail; ``None`` when the
        tail no longer holds the first of them."""
        if cursor >= self.flushed:
            return []
        tail = self.tail
        first = tail[0][0] if tail else self.flushed + 1
        if cursor + 1 < first:
            return None
        start = cursor + 1 - first
        stop = start + min(limit, self.flushed - cursor)
        return list(itertools.islice(tail, start, stop))

    async def wait(self, timeout: float | None) -> bool:
        """Wait for more stored events (or the end); ``False`` on timeout."""
        if self.finished:
            return True
        waiter = self._waiter
        if waiter is None:
            waiter = self._waiter = asyncio.get_running_loop().create_future()
        done, _ = await asyncio.wait((waiter,), timeout=timeout)
        return bool(done)


class LogReader:
    """``EventLog.read``'s batches (an async iterator); ``complete`` turns true as the last
    batch is handed out, when the reader can tell (so a response can end with it)."""

    __slots__ = ("batches", "complete")

    def __init__(self) -> None:
        self.complete = False
        self.batches: AsyncIterator[list[EventRow] | None]

    def __aiter__(self) -> LogReader:
        return self

    def __anext__(self) -> Awaitable[list[EventRow] | None]:
        return self.batches.__anext__()

    async def aclose(self) -> None:
        aclose = getattr(self.batches, "aclose", None)
        if aclose is not None:
            await aclose()


class EventLog:
    """Every run's log: the live ``RunStream`` of runs executing here, storage for the rest.

    One flusher task writes the queued events of all live runs in a single storage call as
    soon as the loop is free (events published meanwhile join the next call).
    """

    def __init__(self, storage: Storage, tail_size: int = 1024, bus: Bus | None = None) -> None:
        self.storage = storage
        self.owner: str | None = None
        """The worker id runs execute under here: events of a run it no longer holds (its
        lease expired while this process stalled) are refused by storage, not delivered."""
        self.on_lost: Callable[[str], Any] | None = None
        """Called with a run id whose events storage refused (to stop executing it)."""
        self.tail_size = tail_size
        self.bus: Bus = bus if bus is not None else LocalBus()
        self.live: dict[str, RunStream] = {}
        self._dirty: dict[str, RunStream] = {}
        self._flusher: asyncio.Task[None] | None = None
        self._bell: asyncio.Event | None = None
        self._watchers: dict[str, list[asyncio.Future[None]]] = {}

    # == the executing side ==============================================================
    def open(self, run_id: str, start_seq: int = 0) -> RunStream:
        """The live stream of a run starting here, numbering on from ``start_seq``."""
        stream = self.live.get(run_id)
        if stream is None:
            stream = self.live[run_id] = RunStream(run_id, self, start_seq)
            self.poke(run_id)
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
            await asyncio.sleep(0)  # let the publishers of this loop turn add theirs
            bell.clear()
            streams = list(self._dirty.values())
            self._dirty.clear()
            try:
                await self.flush(streams)
            except Exception as exc:  # keep the events queued and try again shortly
                logger.warning("storing run events failed", extra={"error": repr(exc)})
                for stream in streams:
                    if stream.pending and stream.run_id in self.live:
                        self._dirty[stream.run_id] = stream
                bell.set()
                await asyncio.sleep(0.5)

    async def flush(self, streams: list[RunStream], *, fenced: bool = True) -> None:
        """Write the queued events of ``streams`` to storage in one call, then let readers
        (here and on other instances) have them. A stream whose run this instance no longer
        holds is detached, its unstored events dropped: its readers go on from storage,
        where the run's new owner writes (``fenced=False`` once the run's end is recorded)."""
        taken = [(s, s.pending[:]) for s in streams if s.pending]
        if not taken:
            return
        refused = await self.storage.append_events(
            [(s.run_id, seq, event, data) for s, rows in taken for seq, event, data in rows],
            owner=self.owner if fenced else None,
        )
        for s, rows in taken:
            if s.run_id in refused:
                logger.warning(
                    "run lease lost: its events are not logged", extra={"run_id": s.run_id}
                )
                if self.live.get(s.run_id) is s:
                    del self.live[s.run_id]
                self._dirty.pop(s.run_id, None)
                s.pending.clear()
                s.end(DETACHED)
                self.poke(s.run_id)
                if self.on_lost is not None:
                    self.on_lost(s.run_id)
                continue
            s.flushed_through(rows[-1][0])
            self.bus.publish(Signal("events", s.run_id))
            if s.pending and not s.finished:
                self.mark_dirty(s)

    async def close(self, run_id: str, outcome: Any) -> None:
        """End ``run_id``'s live log: all of it is in storage before its readers learn."""
        stream = self.live.pop(run_id, None)
        self._dirty.pop(run_id, None)
        if stream is not None:
            try:  # the run's end is recorded (fenced by its owner): the rest is its own
                await self.flush([stream], fenced=False)
            finally:  # waiters must not hang even if storage failed
                stream.end(outcome)
        self.poke(run_id)
        self.bus.publish(Signal("events", run_id))

    async def flush_run(self, run_id: str) -> None:
        """Store every event ``run_id`` has published so far."""
        stream = self.live.get(run_id)
        if stream is not None:
            await self.flush([stream])

    async def detach(self, run_id: str, *, keep: bool) -> None:
        """Stop serving ``run_id`` from memory, its run unfinished (it continues elsewhere);
        its unstored events are stored when ``keep``, else dropped."""
        stream = self.live.pop(run_id, None)
        self._dirty.pop(run_id, None)
        if stream is not None:
            try:
                if keep:
                    await self.flush([stream])
            finally:
                stream.pending.clear()
                stream.end(DETACHED)
        self.poke(run_id)
        self.bus.publish(Signal("events", run_id))

    async def stop(self) -> None:
        """Stop the flusher after a last flush."""
        if self._flusher is not None:
            self._flusher.cancel()
            await asyncio.gather(self._flusher, return_exceptions=True)
            self._flusher, self._bell = None, None
        await self.flush(list(self._dirty.values()))
        self._dirty.clear()

    # == the reading side ================================================================
    def poke(self, run_id: str) -> None:
        """Something about ``run_id`` changed (every run when empty): readers re-check."""
        if not run_id:
            watchers = [w for ws in self._watchers.values() for w in ws]
            self._watchers.clear()
        else:
            watchers = self._watchers.pop(run_id, [])
        for waiter in watchers:
            if not waiter.done():
                waiter.set_result(None)

    async def _watch(self, run_id: str, timeout: float | None) -> bool:
        """Wait for a ``poke`` of ``run_id``; ``True`` at once if the run went live here
        (its ``open`` may have poked while the caller was awaiting storage)."""
        if run_id in self.live:
            return True
        waiter = asyncio.get_running_loop().create_future()
        self._watchers.setdefault(run_id, []).append(waiter)
        try:
            done, _ = await asyncio.wait((waiter,), timeout=timeout)
        finally:
            if not waiter.done():
                waiter.cancel()
                waiters = self._watchers.get(run_id)
                if waiters is not None:
                    waiters[:] = [w for w in waiters if w is not waiter]
                    if not waiters:
                        del self._watchers[run_id]
        return bool(done)

    async def ended(self, run_id: str) -> bool:
        """Whether ``run_id`` is over (terminal or deleted) according to storage."""
        if run_id in self.live:
            return False
        return await self.storage.run_status(run_id) not in _INFLIGHT

    async def wait_ended(self, run_id: str) -> Any:
        """Wait until ``run_id`` is over; its outcome when it ended on this instance, else
        ``None`` (read the outcome from storage)."""
        while True:
            stream = self.live.get(run_id)
            if stream is not None:
                outcome = await asyncio.shield(stream.outcome)
                if outcome is not DETACHED:
                    return outcome
                continue
            if await self.ended(run_id):
                return None
            await self._watch(run_id, self.bus.poll_s)

    def read(
        self, run_id: str, after: int, *, heartbeat_s: float | None = None, batch: int = 256
    ) -> LogReader:
        """Batches of events with ``seq > after`` until the run's log is complete; ``None``
        after each ``heartbeat_s`` without events."""
        reader = LogReader()
        reader.batches = self._read(reader, run_id, after, heartbeat_s, batch)
        return reader

    async def _read(
        self,
        reader: LogReader,
        run_id: str,
        after: int,
        heartbeat_s: float | None,
        batch: int,
    ) -> AsyncIterator[list[EventRow] | None]:
        loop = asyncio.get_running_loop()
        cursor = after
        quiet_since = loop.time()
        stream: RunStream | None = None
        while True:
            # a stream that ended here is read to its end from its tail (``close`` stored
            # all of it first), with no storage round trip to learn that the run is over
            if stream is None:
                stream = self.live.get(run_id)
            rows = stream.after(cursor, batch) if stream is not None else None
            if rows is None:
                rows = await self.storage.read_events(run_id, cursor, batch)
            if rows:
                cursor = rows[-1][0]
                quiet_since = loop.time()
                if (
                    stream is not None
                    and stream.finished
                    and cursor >= stream.flushed
                    and stream.outcome.result() is not DETACHED
                ):
                    reader.complete = True
                    yield rows
                    return
                yield rows
                continue
            left = None if heartbeat_s is None else quiet_since + heartbeat_s - loop.time()
            if stream is not None:
                if stream.finished:
                    if stream.outcome.result() is DETACHED:
                        stream = None  # the run goes on elsewhere: read it from storage
                        continue
                    return
                woke = await stream.wait(left)
            else:
                if await self.ended(run_id):
                    rows = await self.storage.read_events(run_id, cursor, batch)
                    if not rows:
                        return
                    cursor = rows[-1][0]
                    if len(rows) < batch:
                        reader.complete = True
                        yield rows
                        return
                    yield rows
                    continue
                poll = self.bus.poll_s
                timeout = left if poll is None else poll if left is None else min(left, poll)
                woke = await self._watch(run_id, timeout)
            if not woke and heartbeat_s is not None and loop.time() - quiet_since >= heartbeat_s:
                quiet_since = loop.time()
                yield None
