"""``PostgresStorage``: the shared backend, for several server processes on one database.

psycopg 3 async on a ``psycopg_pool.AsyncConnectionPool`` (autocommit connections; a method
that writes more than one statement opens a transaction). Every statement is a named query in
``postgres.sql``. Rows come back like ``SqliteStorage``'s: dicts, JSON columns decoded (with
the server's ``_json.loads``), ``state_values`` as ``values``.

On a run's path every method is one round trip (each costs this process a pool checkout,
the statement's adaptation and an event-loop wake-up, far more than the statement costs the
server): ``create_run`` is one statement, ``finish_run`` one call of a function
(``migrate_3``) whose statements each see what committed before them, as a transaction's do
at READ COMMITTED.

Several processes may share the run queue: ``claim_run`` locks its candidate with
``FOR UPDATE SKIP LOCKED`` (so claimers never wait on each other), ``reap_expired`` locks the
expired runs the same way, and a partial unique index keeps one running run per thread.
Tables live in the schema the connection's ``search_path`` names.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from psycopg import AsyncConnection, AsyncCursor, errors
from psycopg.rows import DictRow, dict_row
from psycopg.types.json import set_json_loads
from psycopg_pool import AsyncConnectionPool

from relaygraph.server import _json
from relaygraph.server._ids import now_iso
from relaygraph.server.storage._base import EventRow, Row, SearchPage, Storage, failed_attempts
from relaygraph.server.storage._named import load_queries
from relaygraph.server.storage._params import (
    assistant_params,
    enc,
    new_thread_params,
    run_params,
    thread_params,
)
from relaygraph.server.storage._store_postgres import StorePostgres

__all__ = ["PostgresStorage"]

Q = load_queries("relaygraph.server.storage", "postgres.sql")

_MIGRATIONS = (Q["migrate_1"], Q["migrate_2"], Q["migrate_3"])
"""Schema version ``i + 1`` is reached by running ``_MIGRATIONS[i]`` (its statements in one
simple-protocol query: no parameters)."""

_CLAIM_TRIES = 3
"""Claims retried after losing a race on one thread (a unique violation) before giving up."""

_THREAD_FIELDS = (
    "thread_id",
    "metadata",
    "config",
    "set_values",
    "values",
    "set_error",
    "error",
    "interrupts",
    "state_updated_at",
)
"""The ``update_thread`` parameters that ``finish_run`` passes on under their own names
(``status`` and ``updated_at`` become ``thread_status`` and ``thread_updated_at``: the run
has its own)."""

Cursor = AsyncCursor[DictRow]


def _row(raw: DictRow) -> Row:
    """A stored row as the interface gives it (JSON already decoded by psycopg)."""
    out: Row = {}
    for name, value in raw.items():
        if name != "rowseq":
            out["values" if name == "state_values" else name] = value
    return out


async def _configure(conn: AsyncConnection[Any]) -> None:
    set_json_loads(_json.loads, conn)


async def _all(cur: Cursor, name: str, params: Any = None) -> list[Row]:
    await cur.execute(Q[name], params)
    return [_row(r) for r in await cur.fetchall()]


async def _one(cur: Cursor, name: str, params: Any = None) -> Row | None:
    await cur.execute(Q[name], params)
    raw = await cur.fetchone()
    return None if raw is None else _row(raw)


async def _scalar(cur: Cursor, name: str, params: Any = None) -> Any:
    await cur.execute(Q[name], params)
    raw = await cur.fetchone()
    return None if raw is None else next(iter(raw.values()))


async def _count(cur: Cursor, name: str, params: Any = None) -> int:
    """Run a write; the number of rows it touched."""
    await cur.execute(Q[name], params)
    return cur.rowcount


class PostgresStorage(Storage, StorePostgres):
    """Storage in the PostgreSQL database at ``url`` (a libpq conninfo or URI), through a
    pool of ``min_size`` to ``max_size`` connections opened by ``setup()``."""

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 10) -> None:
        self.url = url
        self.min_size = min_size
        self.max_size = max_size
        self._pool: AsyncConnectionPool | None = None

    @property
    def pool(self) -> AsyncConnectionPool:
        if self._pool is None:
            raise RuntimeError("PostgresStorage.setup() was not awaited")
        return self._pool

    async def setup(self) -> None:
        if self._pool is None:
            pool = AsyncConnectionPool(
                self.url,
                min_size=self.min_size,
                max_size=self.max_size,
                kwargs={"autocommit": True},
                configure=_configure,
                open=False,
            )
            await pool.open(wait=True)
            self._pool = pool
        async with self._tx() as cur:
            await self._migrate(cur)
        await self.setup_store()

    @staticmethod
    async def _migrate(cur: Cursor) -> None:
        """Bring the schema to the newest version in one transaction; the advisory lock makes a
        second process wait, then find the work done."""
        await cur.execute(Q["setup_lock"])
        await cur.execute(Q["create_migrations"])
        version = int(await _scalar(cur, "applied_migrations"))
        for number, migration in enumerate(_MIGRATIONS[version:], start=version + 1):
            await cur.execute(migration)
            await cur.execute(Q["record_migration"], {"version": number})

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    @asynccontextmanager
    async def _cur(self) -> AsyncIterator[Cursor]:
        """A cursor on a pooled connection; each statement commits on its own. (The pool
        puts back what a failure left: it rolls back, or replaces a broken connection.)"""
        pool = self.pool
        conn = await pool.getconn()
        try:
            yield conn.cursor(row_factory=dict_row)
        finally:
            await pool.putconn(conn)

    @asynccontextmanager
    async def _tx(self) -> AsyncIterator[Cursor]:
        """A cursor in a transaction, committed on exit (rolled back on error)."""
        async with (
            self.pool.connection() as conn,
            conn.transaction(),
            conn.cursor(row_factory=dict_row) as cur,
        ):
            yield cur

    async def _read(self, name: str, params: Any = None) -> list[Row]:
        async with self._cur() as cur:
            return await _all(cur, name, params)

    async def _read_one(self, name: str, params: Any = None) -> Row | None:
        async with self._cur() as cur:
            return await _one(cur, name, params)

    async def _write(self, name: str, params: Any = None) -> int:
        async with self._cur() as cur:
            return await _count(cur, name, params)

    async def _page(self, name: str, count_name: str, params: Row) -> SearchPage:
        async with self._cur() as cur:
            rows = await _all(cur, name, params)
            total = rows[0]["total"] if rows else await _scalar(cur, count_name, params)
        for r in rows:
            r.pop("total", None)
        return rows, int(total or 0)

    # == assistants ====================================================================
    async def create_assistant(self, row: Row) -> bool:
        params = assistant_params(row)
        async with self._tx() as cur:
            if await _count(cur, "insert_assistant", params) == 0:
                return False
            await _count(cur, "insert_assistant_version", params)
        return True

    async def get_assistant(self, assistant_id: str) -> Row | None:
        return await self._read_one("get_assistant", {"assistant_id": assistant_id})

    async def add_assistant_version(self, row: Row) -> None:
        params = assistant_params(row)
        async with self._tx() as cur:
            await _count(cur, "insert_assistant_version", params)
            await _count(cur, "set_assistant", params)

    async def list_assistant_versions(
        self, assistant_id: str, metadata: Row | None, limit: int, offset: int
    ) -> list[Row]:
        params = {
            "assistant_id": assistant_id,
            "metadata": enc(metadata),
            "limit": limit,
            "offset": offset,
        }
        return await self._read("list_assistant_versions", params)

    async def set_assistant_version(self, assistant_id: str, version: int) -> Row | None:
        async with self._tx() as cur:
            found = await _one(
                cur, "get_assistant_version", {"assistant_id": assistant_id, "version": version}
            )
            if found is None:
                return None
            params = assistant_params({**found, "updated_at": now_iso()})
            await _count(cur, "set_assistant", params)
            return await _one(cur, "get_assistant", {"assistant_id": assistant_id})

    async def delete_assistant(self, assistant_id: str) -> bool:
        params = {"assistant_id": assistant_id}
        async with self._tx() as cur:
            gone = await _count(cur, "delete_assistant", params) > 0
            await _count(cur, "delete_assistant_versions", params)
        return gone

    async def search_assistants(
        self,
        *,
        graph_id: str | None,
        name: str | None,
        metadata: Row | None,
        limit: int,
        offset: int,
        sort_by: str,
        descending: bool,
    ) -> SearchPage:
        params = {
            "graph_id": graph_id,
            "name": name,
            "metadata": enc(metadata),
            "limit": limit,
            "offset": offset,
            "sort_by": sort_by,
            "descending": descending,
        }
        return await self._page("search_assistants", "count_assistants", params)

    # == threads =======================================================================
    async def create_thread(self, row: Row) -> bool:
        params = new_thread_params(row)
        return await self._write("insert_thread", params) > 0

    async def get_thread(self, thread_id: str) -> Row | None:
        return await self._read_one("get_thread", {"thread_id": thread_id})

    async def thread_metadata(self, thread_id: str) -> Row | None:
        row = await self._read_one("thread_metadata", {"thread_id": thread_id})
        return None if row is None else row["metadata"]

    async def update_thread(
        self, thread_id: str, fields: Row, *, busy_if_inflight: bool = False
    ) -> None:
        if not busy_if_inflight:
            await self._write("update_thread", thread_params(thread_id, fields))
            return
        async with self._tx() as cur:
            await _count(cur, "update_thread", thread_params(thread_id, fields))
            await _count(cur, "thread_busy_if_inflight", {"thread_id": thread_id})

    async def delete_thread(self, thread_id: str) -> bool:
        params = {"thread_id": thread_id}
        async with self._tx() as cur:
            await _count(cur, "delete_thread_events", params)
            await _count(cur, "delete_thread_runs", params)
            return await _count(cur, "delete_thread", params) > 0

    async def search_threads(
        self,
        *,
        ids: Sequence[str] | None,
        metadata: Row | None,
        values: Row | None,
        status: str | None,
        limit: int,
        offset: int,
        sort_by: str,
        descending: bool,
    ) -> SearchPage:
        params = {
            "ids": list(ids) if ids is not None else None,
            "metadata": enc(metadata),
            "values": enc(values),
            "status": status,
            "limit": limit,
            "offset": offset,
            "sort_by": sort_by,
            "descending": descending,
        }
        return await self._page("search_threads", "count_threads", params)

    # == runs ==========================================================================
    async def create_run(self, row: Row, *, thread_status: str = "busy") -> None:
        await self._write("insert_run", {**run_params(row), "thread_status": thread_status})

    async def get_run(self, run_id: str) -> Row | None:
        return await self._read_one("get_run", {"run_id": run_id})

    async def run_status(self, run_id: str) -> str | None:
        row = await self._read_one("run_status", {"run_id": run_id})
        return None if row is None else str(row["status"])

    async def list_runs(
        self, thread_id: str, *, limit: int, offset: int, status: str | None
    ) -> list[Row]:
        params = {"thread_id": thread_id, "status": status, "limit": limit, "offset": offset}
        return await self._read("list_runs", params)

    async def inflight_runs(self, thread_id: str) -> list[Row]:
        return await self._read("inflight_runs", {"thread_id": thread_id})

    async def runs_with_status(
        self, statuses: Sequence[str], thread_id: str | None = None
    ) -> list[Row]:
        return await self._read(
            "runs_with_status", {"statuses": list(statuses), "thread_id": thread_id}
        )

    async def claim_run(self, now: float, worker_id: str, lease_s: float) -> Row | None:
        params = {"now": now, "worker_id": worker_id, "lease_until": now + lease_s}
        for _ in range(_CLAIM_TRIES):
            try:
                return await self._read_one("claim_run", {**params, "updated_at": now_iso()})
            except errors.UniqueViolation:  # another run of that thread started meanwhile
                continue
        return None

    async def next_run_at(self) -> float | None:
        async with self._cur() as cur:
            value = await _scalar(cur, "next_run_at")
        return None if value is None else float(value)

    async def finish_run(
        self,
        run_id: str,
        status: str,
        ended_at: float,
        thread: Row | None = None,
        *,
        owner: str | None = None,
    ) -> bool:
        fields = dict(thread or {})
        thread_update = thread_params(fields.pop("thread_id", None), fields)
        params = {
            "run_id": run_id,
            "status": status,
            "ended_at": ended_at,
            "updated_at": now_iso(),
            "kwargs": None,
            "owner": owner,
            **{f: thread_update[f] for f in _THREAD_FIELDS},
            "thread_status": thread_update["status"],
            "thread_updated_at": thread_update["updated_at"],
        }
        row = await self._read_one("finish_run", params)
        return bool(row and row["finished"])

    async def delete_run(self, run_id: str) -> bool:
        params = {"run_id": run_id}
        async with self._tx() as cur:
            await _count(cur, "delete_run_events", params)
            return await _count(cur, "delete_run", params) > 0

    async def renew_leases(self, worker_id: str, until: float) -> list[tuple[str, str | None]]:
        rows = await self._read("renew_leases", {"worker_id": worker_id, "until": until})
        return [(str(r["run_id"]), r["cancel_action"]) for r in rows]

    async def request_cancel(self, run_id: str, action: str, now: float) -> str | None:
        params = {"run_id": run_id, "action": action, "ended_at": now, "updated_at": now_iso()}
        async with self._tx() as cur:
            if action == "rollback":
                ended = await _count(cur, "delete_pending", params)
                if ended:
                    await _count(cur, "delete_run_events", params)
            else:
                ended = await _count(cur, "cancel_pending", params)
            if ended:
                return "pending"
            if await _count(cur, "request_cancel_running", params):
                return "running"
        return None

    async def release_run(self, run_id: str, worker_id: str) -> bool:
        params = {"run_id": run_id, "worker_id": worker_id, "updated_at": now_iso()}
        return await self._write("release_run", params) > 0

    async def reap_expired(self, now: float, max_attempts: int) -> tuple[list[Row], list[Row]]:
        async with self._tx() as cur:
            expired = await _all(cur, "expired_runs", {"now": now})
            requeued = [r for r in expired if failed_attempts(r) < max_attempts]
            failed = [r for r in expired if failed_attempts(r) >= max_attempts]
            stamp = now_iso()
            for name, rows, status in (
                ("requeue_runs", requeued, "pending"),
                ("fail_expired_runs", failed, "error"),
            ):
                if rows:
                    ids = [r["run_id"] for r in rows]
                    await _count(cur, name, {"run_ids": ids, "now": now, "updated_at": stamp})
                    for r in rows:
                        r["status"] = status
        return requeued, failed

    # == run event logs =================================================================
    async def append_events(
        self, events: Sequence[tuple[str, int, str, bytes]], *, owner: str | None = None
    ) -> set[str]:
        if not events:
            return set()
        run_ids, seqs, names, data = zip(*events, strict=True)
        params = {
            "run_ids": list(run_ids),
            "seqs": list(seqs),
            "events": list(names),
            "data": [bytes(d) for d in data],
            "owner": owner,
        }
        held = {str(r["run_id"]) for r in await self._read("insert_events", params)}
        return set() if owner is None else set(run_ids) - held

    async def last_event_seq(self, run_id: str) -> int:
        async with self._cur() as cur:
            return int(await _scalar(cur, "last_event_seq", {"run_id": run_id}) or 0)

    async def read_events(self, run_id: str, after: int, limit: int) -> list[EventRow]:
        rows = await self._read("read_events", {"run_id": run_id, "after": after, "limit": limit})
        return [(int(r["seq"]), str(r["event"]), bytes(r["data"])) for r in rows]

    async def sweep_events(self, ended_before: float) -> int:
        return await self._write("sweep_events", {"ended_before": ended_before})
