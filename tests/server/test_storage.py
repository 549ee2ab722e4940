"""The SQLite storage backend's guarantees the run queue relies on."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator

import pytest

from relaygraph.server.storage import SqliteStorage


@pytest.fixture
async def storage() -> AsyncIterator[SqliteStorage]:
    store = SqliteStorage(":memory:")
    await store.setup()
    for tid in ("t1", "t2"):
        await store.create_thread({"thread_id": tid, "created_at": "2026-01-01"})
    yield store
    await store.close()


def run(run_id: str, thread_id: str, run_at: float = 0.0) -> dict[str, object]:
    return {
        "run_id": run_id,
        "thread_id": thread_id,
        "assistant_id": "a",
        "created_at": "x",
        "run_at": run_at,
    }


async def test_claims_follow_thread_order_and_schedule(storage: SqliteStorage) -> None:
    for r in (run("a1", "t1"), run("a2", "t1"), run("b1", "t2", run_at=50.0)):
        await storage.create_run(r)
    assert (await storage.get_thread("t1") or {})["status"] == "busy"
    first = await storage.claim_run(10.0)
    assert first is not None and first["run_id"] == "a1"
    assert await storage.claim_run(10.0) is None  # a2 waits for a1; b1 is not due
    # a2 waits on a1 (it is woken when a1 finishes), so the clock only matters for b1:
    # an idle worker must sleep until 50, not spin on a2's past run_at
    assert await storage.next_run_at() == 50.0
    claimed = await storage.claim_run(60.0)
    assert claimed is not None and claimed["run_id"] == "b1"
    await storage.finish_run("a1", "success", 11.0, {"thread_id": "t1", "status": "busy"})
    second = await storage.claim_run(60.0)
    assert second is not None and second["run_id"] == "a2"
    assert [
        r["run_id"] for r in await storage.list_runs("t1", limit=10, offset=0, status=None)
    ] == ["a2", "a1"]


async def test_database_enforces_one_running_run_per_thread(storage: SqliteStorage) -> None:
    await storage.create_run(run("a1", "t1"))
    await storage.create_run(run("a2", "t1"))
    assert await storage.claim_run(1.0) is not None
    with pytest.raises(sqlite3.IntegrityError):
        storage.db.execute("UPDATE runs SET status = 'running' WHERE run_id = 'a2'")


async def test_events_sweep_and_thread_cascade(storage: SqliteStorage) -> None:
    await storage.create_run(run("a1", "t1"))
    await storage.append_events([("a1", 1, "metadata", b"{}"), ("a1", 2, "values", b"{}")])
    assert [s for s, _, _ in await storage.read_events("a1", 0, 10)] == [1, 2]
    await storage.finish_run("a1", "success", 100.0)
    assert await storage.sweep_events(50.0) == 0
    assert await storage.sweep_events(200.0) == 2
    await storage.append_events([("a1", 3, "values", b"{}")])
    assert await storage.delete_thread("t1")
    assert await storage.get_run("a1") is None
    assert await storage.read_events("a1", 0, 10) == []


async def test_search_filters_and_json_containment(storage: SqliteStorage) -> None:
    await storage.update_thread(
        "t1", {"metadata": {"user": {"id": 1, "x": 2}}, "values": {"a": [1]}}
    )
    rows, total = await storage.search_threads(
        ids=None,
        metadata={"user": {"id": 1}},
        values=None,
        status=None,
        limit=10,
        offset=0,
        sort_by="thread_id",
        descending=False,
    )
    assert ([r["thread_id"] for r in rows], total) == (["t1"], 1)
    rows, total = await storage.search_threads(
        ids=["t1", "t2"],
        metadata=None,
        values=None,
        status="idle",
        limit=1,
        offset=1,
        sort_by="thread_id",
        descending=False,
    )
    assert ([r["thread_id"] for r in rows], total) == (["t2"], 2)
