"""What only ``PostgresStorage`` has: its schema migrations, and ``finish_run`` (one function
call) against a run created while it waits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from tests._pg import fresh_schema


@pytest.fixture
def conninfo() -> Iterator[str]:
    with fresh_schema() as where:
        yield where


@pytest.fixture
async def storage(conninfo: str) -> AsyncIterator[Any]:
    from relaygraph.server.storage import PostgresStorage

    store = PostgresStorage(conninfo, max_size=4)
    await store.setup()
    try:
        yield store
    finally:
        await store.close()


def run(run_id: str, thread_id: str) -> dict[str, Any]:
    return {"run_id": run_id, "thread_id": thread_id, "assistant_id": "a", "created_at": "x"}


async def test_a_version_2_schema_migrates(conninfo: str) -> None:
    import psycopg

    from relaygraph.server.storage import PostgresStorage
    from relaygraph.server.storage._postgres import _MIGRATIONS, Q

    with psycopg.connect(conninfo, autocommit=True) as conn:  # as the version 2 code left it
        conn.execute(Q["create_migrations"].encode())
        for number, migration in enumerate(_MIGRATIONS[:2], start=1):
            for statement in migration.split(";\n"):
                conn.execute(statement.encode())
            conn.execute(Q["record_migration"], {"version": number})
    store = PostgresStorage(conninfo, max_size=2)
    await store.setup()
    try:
        await store.create_thread({"thread_id": "t1", "created_at": "c"})
        await store.create_run({**run("a1", "t1"), "run_at": 0.0})
        assert await store.claim_run(1.0, "w1", 30.0) is not None
        assert await store.finish_run("a1", "success", 2.0, {"thread_id": "t1"}, owner="w1")
        with psycopg.connect(conninfo) as conn:
            found = conn.execute("SELECT max(version) FROM relaygraph_migrations").fetchone()
        assert found == (len(_MIGRATIONS),)
    finally:
        await store.close()


async def _until_a_backend_waits_for_a_lock(conninfo: str) -> None:
    import psycopg

    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as watcher:
        for _ in range(1000):
            cur = await watcher.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            row = await cur.fetchone()
            if row and row[0]:
                return
            await asyncio.sleep(0.01)
    raise AssertionError("finish_run never waited for the thread's row")


async def test_finish_run_sees_a_run_created_while_it_waits(storage: Any, conninfo: str) -> None:
    """The thread's update waits for a run being created on it; the check that keeps the
    thread busy then sees that run (it takes a snapshot of its own)."""
    import psycopg

    from relaygraph.server.storage._params import run_params
    from relaygraph.server.storage._postgres import Q

    await storage.create_thread({"thread_id": "t1", "created_at": "c"})
    await storage.create_run({**run("a1", "t1"), "run_at": 0.0})
    assert await storage.claim_run(1.0, "w1", 30.0) is not None
    async with await psycopg.AsyncConnection.connect(conninfo) as other:  # in a transaction
        params = {**run_params({**run("a2", "t1"), "run_at": 0.0}), "thread_status": "busy"}
        await other.execute(Q["insert_run"], params)
        thread = {"thread_id": "t1", "status": "idle"}
        finish = asyncio.ensure_future(storage.finish_run("a1", "success", 2.0, thread, owner="w1"))
        await _until_a_backend_waits_for_a_lock(conninfo)
        assert not finish.done()  # waiting for the thread's row
        await other.commit()
    assert await finish
    assert (await storage.get_thread("t1"))["status"] == "busy"
