"""The run event log: gap-free seqs, readers that fall behind the tail, replay from storage."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from relaygraph.server.runs import EventLog
from relaygraph.server.storage import SqliteStorage


@pytest.fixture
async def storage() -> AsyncIterator[SqliteStorage]:
    store = SqliteStorage(":memory:")
    await store.setup()
    yield store
    await store.close()


async def read_all(log: EventLog, run_id: str, after: int = 0, delay: float = 0.0) -> list[int]:
    seqs: list[int] = []
    async for rows in log.read(run_id, after, batch=7):
        assert rows is not None
        seqs.extend(seq for seq, _, _ in rows)
        if delay:
            await asyncio.sleep(delay)
    return seqs


async def test_slow_reader_falls_back_to_storage_without_stalling(storage: SqliteStorage) -> None:
    log = EventLog(storage, tail_size=16)
    stream = log.open("r1")
    slow = asyncio.ensure_future(read_all(log, "r1", delay=0.001))
    fast = asyncio.ensure_future(read_all(log, "r1"))
    for i in range(2000):
        stream.publish("custom", str(i).encode())
        if i % 100 == 0:
            await asyncio.sleep(0)  # the run never waits for its readers
    assert len(stream.tail) == 16
    await log.close("r1", {"done": True})
    expected = list(range(1, 2001))
    assert await fast == expected
    assert await slow == expected
    assert await read_all(log, "r1", after=1990) == list(range(1991, 2001))


async def test_reader_sees_events_published_before_it_joined(storage: SqliteStorage) -> None:
    log = EventLog(storage, tail_size=4)
    stream = log.open("r2")
    for _ in range(10):
        stream.publish("updates", b"{}")
    await asyncio.sleep(0.01)  # let the flusher write some of them
    reader = asyncio.ensure_future(read_all(log, "r2", after=2))
    await asyncio.sleep(0)
    stream.publish("updates", b"{}")
    await log.close("r2", {})
    assert await reader == list(range(3, 12))
    fresh = EventLog(storage)  # another process: storage only
    assert await read_all(fresh, "r2", after=10) == [11]


async def test_heartbeat_while_idle(storage: SqliteStorage) -> None:
    log = EventLog(storage)
    stream = log.open("r3")
    reader = log.read("r3", 0, heartbeat_s=0.01)
    assert await reader.__anext__() is None
    stream.publish("values", b"{}")
    assert [r[0] for r in await reader.__anext__() or []] == [1]
    await log.close("r3", {})
    with pytest.raises(StopAsyncIteration):
        await reader.__anext__()


class SlowReads(SqliteStorage):
    """Storage whose event reads take a while (as over a network)."""

    async def read_events(
        self, run_id: str, after: int, limit: int
    ) -> list[tuple[int, str, bytes]]:
        await asyncio.sleep(0.02)
        return await super().read_events(run_id, after, limit)


async def test_reader_of_a_pending_run_goes_live_when_it_starts_here() -> None:
    # The run starts on this instance while its reader is awaiting storage: the reader must
    # switch to the live stream then, not sleep until the run ends.
    storage = SlowReads(":memory:")
    await storage.setup()
    await storage.create_thread({"thread_id": "t", "created_at": "x"})
    await storage.create_run(
        {"run_id": "r", "thread_id": "t", "assistant_id": "a", "created_at": "x", "run_at": 0}
    )
    log = EventLog(storage)
    batches = log.read("r", 0)
    first = asyncio.ensure_future(batches.__anext__())
    await asyncio.sleep(0.005)  # the reader is inside read_events
    stream = log.open("r")
    await asyncio.sleep(0.05)  # the reader has found no events and waits for some
    stream.publish("custom", b"1")
    rows = await asyncio.wait_for(first, 1.0)
    assert rows is not None and [seq for seq, _, _ in rows] == [1]
    await log.close("r", {})
    await batches.aclose()
    await storage.close()


async def test_a_run_whose_events_storage_refuses_is_detached(storage: SqliteStorage) -> None:
    # the run is held by another worker (this instance's lease on it expired): its events
    # must not be delivered from memory, and the executor is told to stop
    await storage.create_thread({"thread_id": "t", "created_at": "c"})
    await storage.create_run(
        {"run_id": "r", "thread_id": "t", "assistant_id": "a", "created_at": "c", "run_at": 0.0}
    )
    assert await storage.claim_run(0.0, "successor", 30.0) is not None
    log = EventLog(storage)
    log.owner = "stale"
    lost: list[str] = []
    log.on_lost = lost.append
    stream = log.open("r")
    stream.publish("metadata", b"{}")
    await log.flush([stream])
    assert lost == ["r"]
    assert "r" not in log.live
    assert await storage.read_events("r", 0, 10) == []
    await storage.append_events([("r", 1, "metadata", b'{"by": "successor"}')], owner="successor")
    await storage.finish_run("r", "success", 1.0, owner="successor")
    rows = [row async for rows in log.read("r", 0) if rows for row in rows]
    assert rows == [(1, "metadata", b'{"by": "successor"}')]
