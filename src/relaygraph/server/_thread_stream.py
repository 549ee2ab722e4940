"""``ThreadStreamResponse``: every run of one thread as Server-Sent Events, run after run,
open until the client leaves (or the thread is deleted).

Each run's events come from its event log (``EventLog.read``), then
``event: metadata`` / ``{"status": "run_done", "run_id": ...}``. Every event has an id
``<run seq>-<event seq>`` (the run's row order in storage, then its event's seq; ``run_done``
takes the seq after the run's last event), so ids increase through the thread and a client
resumes with ``Last-Event-ID``:

* no ``Last-Event-ID``: the runs in flight now (from their first event), then each new run;
* ``-`` (or ``0``, ``-1``): every run of the thread whose log is still kept, then new ones;
* an id we gave: the events after it, then the later runs, then new ones. Any other value
  counts as none.

New runs are found by polling storage every ``poll_s`` (their events are read from the start,
so polling delays them but loses none). Modes (``stream_modes``): ``run_modes`` relays every
event; ``lifecycle`` only each run's first ``metadata`` event and its ``run_done``;
``state_update`` adds nothing here (state updates made through the API are not streamed).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any

from relaygraph.server import _json
from relaygraph.server._streaming import (
    HEARTBEAT,
    SSE_HEADERS,
    Chunks,
    Receive,
    Scope,
    Send,
    stream_body,
)
from relaygraph.server.runs import EventLog
from relaygraph.server.storage import Row, Storage

__all__ = ["THREAD_MODES", "ThreadStreamResponse", "parse_last_event_id"]

THREAD_MODES = ("lifecycle", "run_modes", "state_update")
_PAGE = 100


def parse_last_event_id(raw: str | None) -> tuple[int, int] | None:
    """``(run seq, event seq)`` to resume after (``(0, 0)``: from the start), or ``None``."""
    text = (raw or "").strip()
    if text in ("-", "0", "-1"):
        return (0, 0)
    head, sep, tail = text.partition("-")
    if not (sep and _seq(head) and _seq(tail)):
        return None
    return int(head), int(tail)


def _seq(text: str) -> bool:
    """An ASCII decimal that fits a 64-bit column (``"²"`` is a digit to ``isdigit``)."""
    return text.isascii() and text.isdigit() and len(text) <= 18


def _frame(event: str, data: bytes, event_id: str) -> bytes:
    return b"event: %s\r\ndata: %s\r\nid: %s\r\n\r\n" % (event.encode(), data, event_id.encode())


class ThreadStreamResponse:
    """The runs of ``thread_id`` as SSE (see the module docstring)."""

    def __init__(
        self,
        log: EventLog,
        storage: Storage,
        thread_id: str,
        *,
        resume: tuple[int, int] | None = None,
        modes: frozenset[str] = frozenset(("run_modes",)),
        heartbeat_s: float = 5.0,
        poll_s: float = 0.2,
    ) -> None:
        self.log = log
        self.storage = storage
        self.thread_id = thread_id
        self.resume = resume
        self.all_events = "run_modes" in modes
        self.lifecycle = self.all_events or "lifecycle" in modes
        self.heartbeat_s = heartbeat_s
        self.poll_s = poll_s
        self.headers: Mapping[str, str] = SSE_HEADERS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = await self._start()  # before the headers: a client that has them misses no run

        async def chunks() -> Chunks:
            async for chunk in self._chunks(*start):
                yield chunk, False

        await stream_body(send, receive, self.headers, chunks)

    async def _runs_after(self, floor: int) -> list[Row]:
        """The thread's runs with a row seq above ``floor``, oldest first."""
        found: list[Row] = []
        offset = 0
        while True:
            page = await self.storage.list_runs(
                self.thread_id, limit=_PAGE, offset=offset, status=None
            )
            found.extend(r for r in page if r["seq"] > floor)
            if len(page) < _PAGE or page[-1]["seq"] <= floor:
                return sorted(found, key=lambda r: int(r["seq"]))
            offset += _PAGE

    async def _start(self) -> tuple[int, list[tuple[Row, int]]]:
        """``(floor, first)``: runs above ``floor`` are new; ``first`` go before them."""
        newest = await self.storage.list_runs(self.thread_id, limit=1, offset=0, status=None)
        top = int(newest[0]["seq"]) if newest else 0
        if self.resume is None or self.resume[0] > top:
            return top, [(r, 0) for r in await self.storage.inflight_runs(self.thread_id)]
        run_seq, after = self.resume
        runs = await self._runs_after(run_seq - 1)
        return top, [(r, after if r["seq"] == run_seq else 0) for r in runs]

    async def _chunks(self, floor: int, queue: list[tuple[Row, int]]) -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        relayed: set[str] = set()  # of the runs above the floor
        quiet_since = loop.time()
        while True:
            if queue:
                run, after = queue.pop(0)
                async for chunk in self._relay(run, after):
                    yield chunk
                quiet_since = loop.time()
                continue
            advancing = True
            for run in await self._runs_after(floor):
                if run["run_id"] in relayed:
                    # Relayed and over: no older run can still appear (the thread's runs
                    # execute in order), so the floor moves past it.
                    if advancing:
                        floor = int(run["seq"])
                        relayed.discard(run["run_id"])
                    continue
                advancing = False
                relayed.add(run["run_id"])
                queue.append((run, 0))
            if queue:
                continue
            await asyncio.sleep(self.poll_s)
            if loop.time() - quiet_since >= self.heartbeat_s:
                if await self.storage.get_thread(self.thread_id) is None:
                    return
                quiet_since = loop.time()
                yield HEARTBEAT

    async def _relay(self, run: Row, after: int) -> AsyncIterator[bytes]:
        """One run's events after ``after``, then its ``run_done`` (unless the client had it,
        or the run never started)."""
        run_id, run_seq = run["run_id"], run["seq"]
        last = after
        async for rows in self.log.read(run_id, after, heartbeat_s=self.heartbeat_s):
            if rows is None:
                yield HEARTBEAT
                continue
            last = rows[-1][0]
            parts = [
                _frame(event, data, f"{run_seq}-{seq}")
                for seq, event, data in rows
                if self.all_events or (self.lifecycle and event == "metadata")
            ]
            if parts:
                yield b"".join(parts)
        if last == after:
            last = await self.storage.last_event_seq(run_id)
        if self.lifecycle and last > 0 and after <= last:
            data: Any = {"status": "run_done", "run_id": run_id}
            yield _frame("metadata", _json.dumps(data), f"{run_seq}-{last + 1}")
