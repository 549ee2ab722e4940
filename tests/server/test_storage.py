"""The storage conformance suite: every backend keeps the guarantees the server relies on.

``backend`` is parametrised over ``sqlite`` (a file in ``tmp_path``) and ``postgres`` (a fresh
schema on ``RELAYGRAPH_TEST_POSTGRES_URL``, skipped when that is unset or unreachable).
Tests that need a second process's view open another storage object on the same database.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from relaygraph.server.storage import SqliteStorage, Storage
from relaygraph.server.storage._sqlite import Q
from tests._pg import fresh_schema

THREAD_KEYS = {
    "thread_id",
    "created_at",
    "updated_at",
    "state_updated_at",
    "metadata",
    "status",
    "config",
    "values",
    "error",
    "interrupts",
}
RUN_KEYS = {
    "seq",
    "run_id",
    "thread_id",
    "assistant_id",
    "metadata",
    "status",
    "kwargs",
    "multitask_strategy",
    "created_at",
    "updated_at",
    "run_at",
    "ended_at",
    "worker_id",
    "lease_until",
    "attempt",
    "handoffs",
    "cancel_action",
    "started_at",
}
ASSISTANT_KEYS = {
    "assistant_id",
    "graph_id",
    "name",
    "description",
    "config",
    "context",
    "metadata",
    "version",
    "created_at",
    "updated_at",
}


class Backend:
    """One storage backend: opens storage objects on one database and reaches under them."""

    def __init__(self, name: str, where: str, stack: AsyncExitStack) -> None:
        self.name = name
        self.where = where  # the SQLite file or the PostgreSQL conninfo
        self.stack = stack

    def make(self) -> Storage:
        """A storage object on the database, not set up (closed at the end of the test)."""
        store: Storage
        if self.name == "sqlite":
            store = SqliteStorage(self.where)
        else:
            from relaygraph.server.storage import PostgresStorage

            store = PostgresStorage(self.where, max_size=4)
        self.stack.push_async_callback(store.close)
        return store

    async def open(self) -> Storage:
        store = self.make()
        await store.setup()
        return store

    def raw(self, sql: str) -> None:
        """Run ``sql`` on a connection of the backend's own driver."""
        if self.name == "sqlite":
            with sqlite3.connect(self.where, isolation_level=None) as db:
                db.execute(sql)
            return
        import psycopg

        with psycopg.connect(self.where, autocommit=True) as conn:
            conn.execute(sql.encode())

    @property
    def integrity_error(self) -> type[Exception]:
        if self.name == "sqlite":
            return sqlite3.IntegrityError
        import psycopg

        return psycopg.errors.UniqueViolation


@pytest.fixture(params=["sqlite", "postgres"])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    if request.param == "sqlite":
        yield "sqlite", str(tmp_path / "storage.db")
        return
    with fresh_schema() as conninfo:
        yield "postgres", conninfo


@pytest.fixture
async def backend(where: tuple[str, str]) -> AsyncIterator[Backend]:
    async with AsyncExitStack() as stack:
        yield Backend(*where, stack)


@pytest.fixture
async def storage(backend: Backend) -> Storage:
    store = await backend.open()
    for tid in ("t1", "t2"):
        await store.create_thread({"thread_id": tid, "created_at": "2026-01-01"})
    return store


def run(run_id: str, thread_id: str, run_at: float = 0.0, **extra: Any) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "thread_id": thread_id,
        "assistant_id": "a",
        "created_at": "x",
        "run_at": run_at,
        **extra,
    }


def assistant(assistant_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "assistant_id": assistant_id,
        "graph_id": "g",
        "name": assistant_id,
        "created_at": f"2026-01-0{extra.pop('day', 1)}",
        **extra,
    }


async def claim(store: Storage, now: float = 1.0, worker: str = "w1", lease_s: float = 30.0) -> Any:
    return await store.claim_run(now, worker, lease_s)


def ids(rows: list[dict[str, Any]], key: str = "run_id") -> list[str]:
    return [r[key] for r in rows]


# == setup =============================================================================
async def test_setup_is_idempotent(backend: Backend) -> None:
    first = await backend.open()
    await first.setup()
    await first.create_thread({"thread_id": "t", "created_at": "c"})
    second = await backend.open()  # a second process finds the schema migrated
    assert await second.get_thread("t") is not None


async def test_concurrent_setup_on_a_fresh_database(backend: Backend) -> None:
    stores = [backend.make() for _ in range(3)]
    await asyncio.gather(*(s.setup() for s in stores))
    assert await stores[0].create_thread({"thread_id": "t", "created_at": "c"})
    assert await stores[2].get_thread("t") is not None


def test_importing_storage_does_not_load_psycopg() -> None:
    code = "import sys, relaygraph.server.storage; print('psycopg' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "False"


async def test_single_instance(backend: Backend, storage: Storage) -> None:
    # only a file owned by one process may re-queue running runs at startup
    assert storage.single_instance is (backend.name == "sqlite")


# == assistants ========================================================================
async def test_assistant_versions(storage: Storage) -> None:
    row = assistant("a1", config={"c": 1}, metadata={"owner": "x"}, description="d")
    assert await storage.create_assistant(row)
    assert not await storage.create_assistant({**row, "name": "other"})
    got = await storage.get_assistant("a1")
    assert got is not None and set(got) == ASSISTANT_KEYS
    assert (got["name"], got["version"], got["config"], got["context"]) == ("a1", 1, {"c": 1}, {})
    assert got["updated_at"] == got["created_at"] == "2026-01-01"

    v2 = {**row, "version": 2, "metadata": {"owner": "y"}, "updated_at": "2026-02-01"}
    await storage.add_assistant_version(v2)
    got = await storage.get_assistant("a1")
    assert got is not None and (got["version"], got["metadata"]) == (2, {"owner": "y"})
    versions = await storage.list_assistant_versions("a1", None, 10, 0)
    assert [v["version"] for v in versions] == [2, 1]
    assert "updated_at" not in versions[0] and versions[0]["assistant_id"] == "a1"
    only = await storage.list_assistant_versions("a1", {"owner": "x"}, 10, 0)
    assert [v["version"] for v in only] == [1]
    assert [v["version"] for v in await storage.list_assistant_versions("a1", None, 1, 1)] == [1]

    back = await storage.set_assistant_version("a1", 1)
    assert back is not None and (back["version"], back["metadata"]) == (1, {"owner": "x"})
    assert back["updated_at"] != "2026-02-01"
    assert await storage.set_assistant_version("a1", 9) is None
    assert await storage.set_assistant_version("nope", 1) is None

    assert await storage.delete_assistant("a1")
    assert not await storage.delete_assistant("a1")
    assert await storage.get_assistant("a1") is None
    assert await storage.list_assistant_versions("a1", None, 10, 0) == []


async def test_search_assistants(storage: Storage) -> None:
    await storage.create_assistant(assistant("b", day=2, metadata={"k": {"x": 1, "y": 2}}))
    await storage.create_assistant(assistant("a", day=3, graph_id="h", name="Alpha Bot"))
    await storage.create_assistant(assistant("c", day=1, metadata={"k": {"x": 1}}))

    async def search(**kw: Any) -> tuple[list[str], int]:
        args: dict[str, Any] = {
            "graph_id": None,
            "name": None,
            "metadata": None,
            "limit": 10,
            "offset": 0,
            "sort_by": "created_at",
            "descending": True,
            **kw,
        }
        rows, total = await storage.search_assistants(**args)
        assert all(set(r) == ASSISTANT_KEYS for r in rows)
        return ids(rows, "assistant_id"), total

    assert await search() == (["a", "b", "c"], 3)
    assert await search(descending=False) == (["c", "b", "a"], 3)
    assert await search(sort_by="assistant_id", descending=False) == (["a", "b", "c"], 3)
    assert await search(graph_id="g") == (["b", "c"], 2)
    assert await search(name="BOT") == (["a"], 1)
    assert await search(metadata={"k": {"x": 1}}) == (["b", "c"], 2)
    assert await search(metadata={"k": {"y": 2}}) == (["b"], 1)
    assert await search(metadata={"k": {"x": 2}}) == ([], 0)
    assert await search(limit=1, offset=1) == (["b"], 3)
    assert await search(limit=1, offset=5) == ([], 3)  # past the end, the total still counts


# == threads ===========================================================================
async def test_thread_rows_and_updates(storage: Storage) -> None:
    assert not await storage.create_thread({"thread_id": "t1", "created_at": "other"})
    got = await storage.get_thread("t1")
    assert got is not None and set(got) == THREAD_KEYS
    assert got == {
        "thread_id": "t1",
        "created_at": "2026-01-01",
        "updated_at": "2026-01-01",
        "state_updated_at": "2026-01-01",
        "metadata": {},
        "status": "idle",
        "config": {},
        "values": None,
        "error": None,
        "interrupts": {},
    }
    assert await storage.get_thread("nope") is None

    await storage.update_thread(
        "t1",
        {
            "values": {"a": [1, {"b": None}]},
            "error": {"e": "x"},
            "status": "error",
            "metadata": {"m": 1},
        },
    )
    await storage.update_thread("t1", {"status": "idle", "updated_at": "u"})  # keys absent: kept
    got = await storage.get_thread("t1") or {}
    assert (got["values"], got["error"], got["status"]) == (
        {"a": [1, {"b": None}]},
        {"e": "x"},
        "idle",
    )
    assert (got["metadata"], got["updated_at"], got["state_updated_at"]) == (
        {"m": 1},
        "u",
        "2026-01-01",
    )
    await storage.update_thread("t1", {"values": None, "error": None, "interrupts": {"i": [1]}})
    got = await storage.get_thread("t1") or {}  # keys present with None: cleared
    assert (got["values"], got["error"], got["interrupts"]) == (None, None, {"i": [1]})
    await storage.update_thread("nope", {"status": "busy"})  # a missing thread is no error
    assert not await storage.delete_thread("nope")


async def test_thread_metadata(storage: Storage) -> None:
    await storage.create_thread({"thread_id": "t3", "created_at": "c", "metadata": {"k": [1]}})
    await storage.update_thread("t3", {"values": {"big": "x" * 1000}})
    assert await storage.thread_metadata("t3") == {"k": [1]}
    assert await storage.thread_metadata("t1") == {}
    assert await storage.thread_metadata("nope") is None


async def test_search_filters_and_json_containment(storage: Storage) -> None:
    await storage.update_thread(
        "t1", {"metadata": {"user": {"id": 1, "x": 2}}, "values": {"a": [1], "n": "s"}}
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
    assert (ids(rows, "thread_id"), total) == (["t1"], 1)
    assert set(rows[0]) == THREAD_KEYS
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
    assert (ids(rows, "thread_id"), total) == (["t2"], 2)


async def test_search_threads_sorting_and_filters(storage: Storage) -> None:
    await storage.create_thread({"thread_id": "t3", "created_at": "2026-01-01"})
    await storage.update_thread("t2", {"status": "busy", "values": {"n": "s", "k": 1}})
    await storage.update_thread("t3", {"values": {"n": "s"}, "updated_at": "2027"})

    async def search(**kw: Any) -> tuple[list[str], int]:
        args: dict[str, Any] = {
            "ids": None,
            "metadata": None,
            "values": None,
            "status": None,
            "limit": 10,
            "offset": 0,
            "sort_by": "created_at",
            "descending": True,
            **kw,
        }
        rows, total = await storage.search_threads(**args)
        return ids(rows, "thread_id"), total

    # equal created_at: the newest insert first
    assert await search() == (["t3", "t2", "t1"], 3)
    assert await search(sort_by="thread_id") == (["t3", "t2", "t1"], 3)
    assert await search(sort_by="thread_id", descending=False) == (["t1", "t2", "t3"], 3)
    assert (await search(sort_by="updated_at"))[0][0] == "t3"
    assert await search(values={"n": "s"}, sort_by="thread_id", descending=False) == (
        ["t2", "t3"],
        2,
    )
    assert await search(values={"k": 1}) == (["t2"], 1)
    assert await search(status="busy") == (["t2"], 1)
    assert await search(ids=[]) == ([], 0)
    assert await search(ids=["t1", "zz"]) == (["t1"], 1)
    assert await search(limit=2, offset=9) == ([], 3)


# == runs ==============================================================================
async def test_run_rows(backend: Backend, storage: Storage) -> None:
    await storage.create_run(
        run("r1", "t1", run_at=5.5, kwargs={"input": {"x": 1}}, metadata={"m": 1}),
        thread_status="idle",
    )
    assert (await storage.get_thread("t1") or {})["status"] == "idle"
    got = await storage.get_run("r1")
    assert got is not None and set(got) == RUN_KEYS
    assert got["kwargs"] == {"input": {"x": 1}} and got["metadata"] == {"m": 1}
    assert (got["status"], got["run_at"], got["attempt"], got["multitask_strategy"]) == (
        "pending",
        5.5,
        0,
        "enqueue",
    )
    assert isinstance(got["run_at"], float) and isinstance(got["attempt"], int)
    assert (got["worker_id"], got["lease_until"], got["started_at"], got["ended_at"]) == (
        None,
        None,
        None,
        None,
    )
    assert await storage.get_run("nope") is None
    with pytest.raises(backend.integrity_error):  # run ids are unique
        await storage.create_run(run("r1", "t2"))


async def test_run_status(storage: Storage) -> None:
    await storage.create_run(run("a1", "t1"))
    assert await storage.run_status("a1") == "pending"
    await claim(storage)
    assert await storage.run_status("a1") == "running"
    await storage.finish_run("a1", "error", 2.0)
    assert await storage.run_status("a1") == "error"
    assert await storage.run_status("nope") is None


async def test_run_listings(storage: Storage) -> None:
    for r in (run("a1", "t1"), run("b1", "t2"), run("a2", "t1"), run("a3", "t1")):
        await storage.create_run(r)
    assert ids(await storage.list_runs("t1", limit=10, offset=0, status=None)) == ["a3", "a2", "a1"]
    assert ids(await storage.list_runs("t1", limit=1, offset=1, status=None)) == ["a2"]
    claimed = await claim(storage)
    assert claimed is not None and claimed["run_id"] == "a1"
    assert ids(await storage.list_runs("t1", limit=10, offset=0, status="running")) == ["a1"]
    await storage.finish_run("a2", "success", 2.0)
    assert ids(await storage.inflight_runs("t1")) == ["a1", "a3"]
    assert ids(await storage.runs_with_status(["pending"])) == ["b1", "a3"]
    assert ids(await storage.runs_with_status(["pending", "running"])) == ["a1", "b1", "a3"]
    # only live runs are looked up: a finished one is never cancelled
    assert ids(await storage.runs_with_status(["pending", "success"], "t1")) == ["a3"]
    assert await storage.runs_with_status([]) == []


async def test_claims_follow_thread_order_and_schedule(storage: Storage) -> None:
    for r in (run("a1", "t1"), run("a2", "t1"), run("b1", "t2", run_at=50.0)):
        await storage.create_run(r)
    assert (await storage.get_thread("t1") or {})["status"] == "busy"
    first = await storage.claim_run(10.0, "w1", 30.0)
    assert first is not None and first["run_id"] == "a1"
    assert (first["status"], first["worker_id"], first["lease_until"], first["attempt"]) == (
        "running",
        "w1",
        40.0,
        1,
    )
    assert first["started_at"] is not None and set(first) == RUN_KEYS
    assert await storage.get_run("a1") == first
    assert await storage.claim_run(10.0, "w1", 30.0) is None  # a2 waits for a1; b1 is not due
    # a2 waits on a1 (it is woken when a1 finishes), so the clock only matters for b1:
    # an idle worker must sleep until 50, not spin on a2's past run_at
    assert await storage.next_run_at() == 50.0
    claimed = await storage.claim_run(60.0, "w2", 30.0)
    assert claimed is not None and claimed["run_id"] == "b1"
    assert await storage.next_run_at() is None
    await storage.finish_run("a1", "success", 11.0, {"thread_id": "t1", "status": "busy"})
    second = await storage.claim_run(60.0, "w1", 30.0)
    assert second is not None and second["run_id"] == "a2"
    assert [
        r["run_id"] for r in await storage.list_runs("t1", limit=10, offset=0, status=None)
    ] == ["a2", "a1"]


async def test_database_enforces_one_running_run_per_thread(
    backend: Backend, storage: Storage
) -> None:
    await storage.create_run(run("a1", "t1"))
    await storage.create_run(run("a2", "t1"))
    assert await claim(storage) is not None
    with pytest.raises(backend.integrity_error):
        backend.raw("UPDATE runs SET status = 'running' WHERE run_id = 'a2'")


async def test_inflight_lookups_do_not_scan_a_threads_history(tmp_path: Path) -> None:
    # the multitask check and the claim ask "what is pending or running on this thread?"
    # on every run; they must not read the thread's finished runs (linear in its history)
    store = SqliteStorage(tmp_path / "s.db")
    await store.setup()
    try:
        db = store.db
        plans = {
            name: " | ".join(r["detail"] for r in db.execute("EXPLAIN QUERY PLAN " + sql, args))
            for name, sql, args in (
                ("inflight", Q["inflight_runs"], ("t1",)),
                ("claim", Q["claim_candidate"], {"now": 1.0}),
                ("expired", Q["expired_runs"], {"now": 1.0}),
                ("renew", Q["renew_leases"], {"worker_id": "w", "until": 1.0}),
                ("with_status", Q["runs_with_status"], {"statuses": "[]", "thread_id": None}),
            )
        }
    finally:
        await store.close()
    assert "USING INDEX runs_inflight" in plans["inflight"], plans
    assert "USING INDEX runs_inflight" in plans["claim"], plans
    assert "USING INDEX runs_pending" in plans["claim"], plans
    for name in ("expired", "renew", "with_status"):  # reaper, heartbeat, /runs/cancel
        assert "SCAN runs |" not in plans[name] + " |", plans


async def test_sqlite_schema_migrates_from_version_2(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path, isolation_level=None) as db:  # as the previous release left it
        for migration in (Q["schema"], Q["migrate_2"]):
            for statement in migration.split(";\n"):
                if statement.strip():
                    db.execute(statement)
        db.execute("PRAGMA user_version = 2")
        db.execute(
            "INSERT INTO threads (thread_id, created_at, updated_at, state_updated_at, metadata,"
            " status, config) VALUES ('t1', 'c', 'c', 'c', '{}', 'busy', '{}')"
        )
        for seq, (run_id, status) in enumerate((("a0", "success"), ("a1", "pending")), 1):
            db.execute(
                "INSERT INTO runs (seq, run_id, thread_id, assistant_id, metadata, status, kwargs,"
                " multitask_strategy, created_at, updated_at, run_at)"
                f" VALUES ({seq}, '{run_id}', 't1', 'a', '{{}}', '{status}', '{{}}', 'enqueue',"
                " 'c', 'c', 0)"
            )
    store = SqliteStorage(path)
    await store.setup()
    try:
        assert [r["run_id"] for r in await store.inflight_runs("t1")] == ["a1"]
        indexes = {r["name"] for r in store.db.execute("SELECT name FROM sqlite_master")}
        assert {"runs_inflight", "runs_pending"} <= indexes
        assert "runs_by_worker" not in indexes
        assert store.db.execute("PRAGMA user_version").fetchone()["user_version"] == 3
        claimed = await claim(store) or {}
        assert (claimed["run_id"], claimed["attempt"], claimed["handoffs"]) == ("a1", 1, 0)
    finally:
        await store.close()


async def test_finish_run_updates_the_thread_atomically(storage: Storage) -> None:
    await storage.create_run(run("a1", "t1"))
    await claim(storage)
    await storage.finish_run(
        "a1",
        "success",
        7.0,
        {"thread_id": "t1", "status": "idle", "values": {"v": 1}, "state_updated_at": "s"},
    )
    done = await storage.get_run("a1") or {}
    assert (done["status"], done["ended_at"], done["worker_id"], done["lease_until"]) == (
        "success",
        7.0,
        None,
        None,
    )
    thread = await storage.get_thread("t1") or {}
    assert (thread["status"], thread["values"], thread["state_updated_at"]) == (
        "idle",
        {"v": 1},
        "s",
    )
    assert await storage.renew_leases("w1", 99.0) == []


async def test_finish_run_keeps_the_thread_busy_while_another_run_waits(
    storage: Storage,
) -> None:
    await storage.create_run(run("a1", "t1"))
    await storage.create_run(run("a2", "t1"))
    await claim(storage)
    thread = {"thread_id": "t1", "status": "idle", "values": {"v": 1}}
    assert await storage.finish_run("a1", "success", 7.0, thread, owner="w1")
    row = await storage.get_thread("t1") or {}
    assert (row["status"], row["values"]) == ("busy", {"v": 1})
    assert (await claim(storage))["run_id"] == "a2"
    assert await storage.finish_run("a2", "success", 8.0, thread, owner="w1")
    assert (await storage.get_thread("t1") or {})["status"] == "idle"


async def test_leases_renew_expire_and_reap(storage: Storage) -> None:
    for r in (run("a1", "t1"), run("b1", "t2")):
        await storage.create_run(r)
    a1 = await storage.claim_run(0.0, "w1", 10.0)
    b1 = await storage.claim_run(0.0, "w2", 10.0)
    assert a1 is not None and b1 is not None
    assert await storage.renew_leases("w1", 20.0) == [("a1", None)]
    assert await storage.renew_leases("nobody", 20.0) == []
    assert (await storage.get_run("a1") or {})["lease_until"] == 20.0

    # at 15, only b1 (lease 10) has expired: back to the queue, attempt 1 < 2
    requeued, failed = await storage.reap_expired(15.0, max_attempts=2)
    assert (ids(requeued), failed) == (["b1"], [])
    assert requeued[0]["status"] == "pending" and requeued[0]["attempt"] == 1
    b1 = await storage.get_run("b1") or {}
    assert (b1["status"], b1["worker_id"], b1["lease_until"], b1["ended_at"]) == (
        "pending",
        None,
        None,
        None,
    )
    assert await storage.renew_leases("w2", 30.0) == []  # taken away from w2
    assert await storage.reap_expired(15.0, max_attempts=2) == ([], [])

    again = await storage.claim_run(16.0, "w3", 10.0)
    assert again is not None and again["run_id"] == "b1" and again["attempt"] == 2
    assert again["started_at"] == requeued[0]["started_at"]  # kept from the first claim
    # at 30 both have expired; b1 has used its 2 attempts
    requeued, failed = await storage.reap_expired(30.0, max_attempts=2)
    assert (ids(requeued), ids(failed)) == (["a1"], ["b1"])
    assert failed[0]["status"] == "error"
    b1 = await storage.get_run("b1") or {}
    assert (b1["status"], b1["ended_at"], b1["worker_id"]) == ("error", 30.0, None)
    assert ids(await storage.runs_with_status(["pending"])) == ["a1"]


async def test_request_cancel(storage: Storage) -> None:
    for r in (run("a1", "t1"), run("a2", "t1"), run("a3", "t1"), run("b1", "t2")):
        await storage.create_run(r)
    await storage.append_events([("a3", 1, "metadata", b"{}")])
    await claim(storage)  # a1 runs

    assert await storage.request_cancel("a2", "interrupt", 5.0) == "pending"
    a2 = await storage.get_run("a2") or {}
    assert (a2["status"], a2["cancel_action"], a2["ended_at"]) == ("interrupted", "interrupt", 5.0)
    assert await storage.request_cancel("a3", "rollback", 5.0) == "pending"
    assert await storage.get_run("a3") is None
    assert await storage.read_events("a3", 0, 10) == []

    assert await storage.request_cancel("a1", "rollback", 6.0) == "running"
    assert await storage.request_cancel("a1", "interrupt", 7.0) == "running"
    a1 = await storage.get_run("a1") or {}
    assert (a1["status"], a1["cancel_action"], a1["ended_at"]) == ("running", "rollback", None)
    assert await storage.renew_leases("w1", 60.0) == [("a1", "rollback")]

    await storage.finish_run("a1", "interrupted", 8.0)
    assert await storage.request_cancel("a1", "interrupt", 9.0) is None  # finished
    assert await storage.request_cancel("a2", "interrupt", 9.0) is None  # already ended
    assert await storage.request_cancel("nope", "interrupt", 9.0) is None


async def test_release_run(storage: Storage) -> None:
    await storage.create_run(run("a1", "t1"))
    first = await claim(storage, worker="w1")
    assert not await storage.release_run("a1", "w2")  # not its run
    assert await storage.release_run("a1", "w1")
    assert not await storage.release_run("a1", "w1")  # no longer running
    a1 = await storage.get_run("a1") or {}
    assert (a1["status"], a1["worker_id"], a1["lease_until"]) == ("pending", None, None)
    again = await claim(storage, worker="w2")
    assert again is not None and (again["worker_id"], again["attempt"]) == ("w2", 2)
    assert again["started_at"] == first["started_at"]

    # a released run keeps its cancel request: the next claimer gets it and ends the run
    await storage.request_cancel("a1", "interrupt", 3.0)
    assert await storage.release_run("a1", "w2")
    cancelled = await claim(storage, worker="w3")
    assert cancelled is not None and cancelled["cancel_action"] == "interrupt"


async def test_update_thread_busy_if_inflight(storage: Storage) -> None:
    fields = {"status": "idle", "error": {"error": "x"}}
    await storage.create_run(run("a1", "t1"))  # still pending on t1
    await storage.update_thread("t1", fields, busy_if_inflight=True)
    row = await storage.get_thread("t1") or {}
    assert (row["status"], row["error"]) == ("busy", {"error": "x"})
    await storage.update_thread("t2", fields, busy_if_inflight=True)  # nothing in flight
    assert (await storage.get_thread("t2") or {})["status"] == "idle"
    await storage.update_thread("t1", fields)  # without the flag: as given
    assert (await storage.get_thread("t1") or {})["status"] == "idle"


async def test_hand_backs_do_not_spend_attempts(storage: Storage) -> None:
    # a run handed back at three graceful shutdowns, then lost in a crash, is retried
    await storage.create_run(run("a1", "t1"))
    for i in range(3):
        assert await storage.claim_run(float(i), f"w{i}", 10.0) is not None
        assert await storage.release_run("a1", f"w{i}")
    claimed = await storage.claim_run(5.0, "w9", 10.0) or {}
    assert (claimed["attempt"], claimed["handoffs"]) == (4, 3)  # the resume logic counts all
    requeued, failed = await storage.reap_expired(100.0, max_attempts=2)
    assert (ids(requeued), failed) == (["a1"], [])
    assert await storage.claim_run(101.0, "w10", 10.0) is not None
    requeued, failed = await storage.reap_expired(200.0, max_attempts=2)  # second failure
    assert (requeued, ids(failed)) == ([], ["a1"])


async def test_finish_run_fenced_by_owner(storage: Storage) -> None:
    await storage.create_run(run("a1", "t1"))
    await claim(storage, worker="w1")
    thread = {"thread_id": "t1", "status": "idle"}
    # a worker that lost the run (its lease expired, another claimed it) records nothing
    assert not await storage.finish_run("a1", "success", 5.0, thread, owner="w2")
    a1 = await storage.get_run("a1") or {}
    assert (a1["status"], a1["worker_id"]) == ("running", "w1")
    assert (await storage.get_thread("t1") or {})["status"] == "busy"
    assert await storage.finish_run("a1", "success", 5.0, thread, owner="w1")
    assert (await storage.get_run("a1") or {})["status"] == "success"
    assert (await storage.get_thread("t1") or {})["status"] == "idle"
    assert not await storage.finish_run("a1", "error", 6.0, owner="w1")  # already ended


async def test_delete_run(storage: Storage) -> None:
    await storage.create_run(run("a1", "t1"))
    await storage.create_run(run("a2", "t1"))
    await storage.append_events([("a1", 1, "e", b"1"), ("a2", 1, "e", b"2")])
    assert await storage.delete_run("a1")
    assert not await storage.delete_run("a1")
    assert await storage.read_events("a1", 0, 10) == []
    assert await storage.last_event_seq("a1") == 0
    assert await storage.read_events("a2", 0, 10) == [(1, "e", b"2")]


# == run event logs ====================================================================
async def test_event_log(storage: Storage) -> None:
    await storage.create_run(run("a1", "t1"))
    await storage.create_run(run("b1", "t2"))
    assert await storage.last_event_seq("a1") == 0
    await storage.append_events([])
    payload = bytes(range(256))
    await storage.append_events(
        [("a1", 1, "metadata", b"{}"), ("b1", 1, "values", b"[]"), ("a1", 2, "values", payload)]
    )
    # idempotent: a row logged twice (a retried write) keeps its first content
    await storage.append_events([("a1", 2, "other", b"x"), ("a1", 3, "end", b"null")])
    assert await storage.read_events("a1", 0, 10) == [
        (1, "metadata", b"{}"),
        (2, "values", payload),
        (3, "end", b"null"),
    ]
    assert await storage.read_events("a1", 1, 1) == [(2, "values", payload)]
    assert await storage.read_events("a1", 3, 10) == []
    assert await storage.last_event_seq("a1") == 3
    assert await storage.last_event_seq("b1") == 1


async def test_event_appends_fenced_by_owner(storage: Storage) -> None:
    await storage.create_run(run("a1", "t1"))
    await storage.create_run(run("b1", "t2"))
    await storage.claim_run(0.0, "w1", 10.0)
    await storage.claim_run(0.0, "w1", 10.0)
    both = [("a1", 1, "metadata", b"{}"), ("b1", 1, "metadata", b"{}")]
    assert await storage.append_events(both, owner="w1") == set()
    # w1 stalls, its leases expire; w2 takes a1 over (and logs on from seq 1), w1 gets b1 back
    await storage.reap_expired(11.0, max_attempts=3)
    assert (await storage.claim_run(12.0, "w2", 10.0) or {})["run_id"] == "a1"
    assert (await storage.claim_run(12.0, "w1", 10.0) or {})["run_id"] == "b1"
    late = [("a1", 2, "values", b'"stale"'), ("b1", 2, "values", b'"ok"')]
    assert await storage.append_events(late, owner="w1") == {"a1"}
    assert await storage.append_events([("a1", 2, "values", b'"new"')], owner="w2") == set()
    assert await storage.read_events("a1", 0, 10) == [
        (1, "metadata", b"{}"),
        (2, "values", b'"new"'),
    ]
    assert await storage.read_events("b1", 1, 10) == [(2, "values", b'"ok"')]
    # without an owner (a run's own end, a reaper's error event) nothing is fenced
    assert await storage.append_events([("a1", 3, "error", b"{}")]) == set()
    assert await storage.last_event_seq("a1") == 3


async def test_events_sweep_and_thread_cascade(storage: Storage) -> None:
    await storage.create_run(run("a1", "t1"))
    await storage.append_events([("a1", 1, "metadata", b"{}"), ("a1", 2, "values", b"{}")])
    assert [s for s, _, _ in await storage.read_events("a1", 0, 10)] == [1, 2]
    await storage.finish_run("a1", "success", 100.0)
    assert await storage.sweep_events(50.0) == 0
    assert await storage.sweep_events(200.0) == 2
    await storage.append_events([("a1", 3, "values", b"{}")])
    assert await storage.delete_thread("t1")
    assert await storage.get_thread("t1") is None
    assert await storage.get_run("a1") is None
    assert await storage.read_events("a1", 0, 10) == []


# == several processes =================================================================
async def test_concurrent_claims_hand_each_run_out_once(backend: Backend) -> None:
    stores = [await backend.open(), await backend.open()]
    threads = [f"t{i}" for i in range(8)]
    for tid in threads:
        await stores[0].create_thread({"thread_id": tid, "created_at": "c"})
    rng = random.Random(7)
    expected = [f"r{i}" for i in range(60)]
    for rid in expected:
        await stores[rng.randrange(2)].create_run(run(rid, rng.choice(threads)))
    order = {r["run_id"]: r["seq"] for r in await stores[0].runs_with_status(["pending"])}

    claimed: list[str] = []
    running: dict[str, str] = {}  # thread -> run
    started: dict[str, list[int]] = {tid: [] for tid in threads}

    async def worker(store: Storage, name: str) -> None:
        idle = 0
        while idle < 20:
            row = await store.claim_run(1.0, name, 30.0)
            if row is None:
                idle += 1
                await asyncio.sleep(0.005)
                continue
            idle = 0
            tid = row["thread_id"]
            assert tid not in running, f"{row['run_id']} started while {running[tid]} runs"
            running[tid] = row["run_id"]
            claimed.append(row["run_id"])
            started[tid].append(row["seq"])
            await asyncio.sleep(rng.random() / 500)
            del running[tid]  # before the commit, so the next claim can never see it set
            await store.finish_run(row["run_id"], "success", 2.0)

    await asyncio.gather(
        *(worker(stores[i % 2], f"w{i}") for i in range(8)),
    )
    assert sorted(claimed) == sorted(expected)  # each exactly once
    assert all(seqs == sorted(seqs) for seqs in started.values())  # in order, per thread
    assert len(order) == len(expected)
    assert await stores[1].runs_with_status(["pending", "running"]) == []


async def test_concurrent_reapers_handle_each_run_once(backend: Backend) -> None:
    stores = [await backend.open(), await backend.open()]
    for i in range(10):
        tid = f"t{i}"
        await stores[0].create_thread({"thread_id": tid, "created_at": "c"})
        await stores[0].create_run(run(f"r{i}", tid))
        assert await stores[0].claim_run(0.0, "dead", 1.0) is not None
    results = await asyncio.gather(*(stores[i % 2].reap_expired(5.0, 3) for i in range(4)))
    requeued = [r["run_id"] for rq, _ in results for r in rq]
    assert sorted(requeued) == sorted(f"r{i}" for i in range(10))
    assert all(not failed for _, failed in results)


async def test_claim_that_loses_a_race_on_its_thread_returns_none(backend: Backend) -> None:
    # Another process starts a run of t1 in a transaction this claimer's snapshot cannot see:
    # the claim's update then waits on the unique index and loses when that commits.
    if backend.name != "postgres":
        pytest.skip("SQLite claims are serialised within one process")
    import psycopg

    store = await backend.open()
    await store.create_thread({"thread_id": "t1", "created_at": "c"})
    await store.create_run(run("a1", "t1"))
    async with await psycopg.AsyncConnection.connect(backend.where) as other:
        await other.execute(
            "INSERT INTO runs (run_id, thread_id, assistant_id, metadata, status, kwargs,"
            " multitask_strategy, created_at, updated_at, run_at)"
            " VALUES ('x1', 't1', 'a', '{}', 'running', '{}', 'enqueue', 'c', 'c', 0)"
        )
        claiming = asyncio.create_task(claim(store))
        await asyncio.sleep(0.2)
        assert not claiming.done()  # waiting on the other transaction's index entry
        await other.commit()
        assert await claiming is None
    assert (await store.get_run("a1") or {})["status"] == "pending"
