"""``SqliteStorage``: the default backend, one SQLite file in WAL mode.

Statements run inline on the event loop's thread: each is a short indexed lookup or a small
write (WAL, ``synchronous=NORMAL``, so no fsync per commit), cheaper than a hop to a worker
thread. Because no ``await`` separates a read from the write that follows it, ``claim_run``
is atomic among the coroutines of one process; the partial unique index on running runs
backs the one-active-run-per-thread rule in the database itself.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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
from relaygraph.server.storage._store_sqlite import StoreSqlite

__all__ = ["SqliteStorage"]

Q = load_queries("relaygraph.server.storage", "sqlite.sql")

_MIGRATIONS = (Q["schema"], Q["migrate_2"], Q["migrate_3"])
"""Schema version ``i + 1`` is reached by running ``_MIGRATIONS[i]``."""

_JSON_COLUMNS = frozenset(
    ("config", "context", "metadata", "state_values", "error", "interrupts", "kwargs")
)


def _contains(doc: str | None, subset: str) -> bool:
    if doc is None:
        return False
    return Storage.contains(_json.loads(doc), _json.loads(subset))


def _row(cursor: sqlite3.Cursor, values: tuple[Any, ...]) -> Row:
    out: Row = {}
    for (name, *_), value in zip(cursor.description, values, strict=True):
        if name in _JSON_COLUMNS and value is not None:
            value = _json.loads(value)
        out["values" if name == "state_values" else name] = value
    return out


class SqliteStorage(Storage, StoreSqlite):
    """Storage on the SQLite file ``path`` (``":memory:"`` for a throwaway one)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._db: sqlite3.Connection | None = None

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("SqliteStorage.setup() was not awaited")
        return self._db

    async def setup(self) -> None:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA busy_timeout=5000")
        db.create_function("rg_contains", 2, _contains, deterministic=True)
        self._migrate(db)
        db.row_factory = _row
        self._db = db
        await self.setup_store()

    @staticmethod
    def _migrate(db: sqlite3.Connection) -> None:
        """Bring the schema to the newest version (``PRAGMA user_version``) in one transaction;
        ``BEGIN IMMEDIATE`` makes a second process wait, then find the work done."""
        if db.execute("PRAGMA user_version").fetchone()[0] >= len(_MIGRATIONS):
            return
        db.execute("BEGIN IMMEDIATE")
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            for migration in _MIGRATIONS[version:]:
                for statement in migration.split(";\n"):
                    if statement.strip():
                        db.execute(statement)
            db.execute(f"PRAGMA user_version = {len(_MIGRATIONS)}")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    async def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _one(self, name: str, params: Any) -> Row | None:
        row: Row | None = self.db.execute(Q[name], params).fetchone()
        return row

    def _scalar(self, name: str, params: Any) -> Any:
        cur = self.db.execute(Q[name], params)
        cur.row_factory = None  # type: ignore[assignment]
        row = cur.fetchone()
        return row[0] if row else None

    # == assistants ====================================================================
    async def create_assistant(self, row: Row) -> bool:
        params = assistant_params(row)
        with self._tx() as db:
            if db.execute(Q["insert_assistant"], params).rowcount == 0:
                return False
            db.execute(Q["insert_assistant_version"], params)
        return True

    async def get_assistant(self, assistant_id: str) -> Row | None:
        return self._one("get_assistant", (assistant_id,))

    async def add_assistant_version(self, row: Row) -> None:
        params = assistant_params(row)
        with self._tx() as db:
            db.execute(Q["insert_assistant_version"], params)
            db.execute(Q["set_assistant"], params)

    async def list_assistant_versions(
        self, assistant_id: str, metadata: Row | None, limit: int, offset: int
    ) -> list[Row]:
        params = {
            "assistant_id": assistant_id,
            "metadata": enc(metadata),
            "limit": limit,
            "offset": offset,
        }
        return list(self.db.execute(Q["list_assistant_versions"], params))

    async def set_assistant_version(self, assistant_id: str, version: int) -> Row | None:
        found = self._one("get_assistant_version", (assistant_id, version))
        if found is None:
            return None
        params = assistant_params({**found, "updated_at": now_iso()})
        self.db.execute(Q["set_assistant"], params)
        return await self.get_assistant(assistant_id)

    async def delete_assistant(self, assistant_id: str) -> bool:
        with self._tx() as db:
            gone = db.execute(Q["delete_assistant"], (assistant_id,)).rowcount > 0
            db.execute(Q["delete_assistant_versions"], (assistant_id,))
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
        rows = list(self.db.execute(Q["search_assistants"], params))
        total = rows[0]["total"] if rows else self._scalar("count_assistants", params)
        for r in rows:
            r.pop("total", None)
        return rows, int(total or 0)

    # == threads =======================================================================
    async def create_thread(self, row: Row) -> bool:
        params = new_thread_params(row)
        return self.db.execute(Q["insert_thread"], params).rowcount > 0

    async def get_thread(self, thread_id: str) -> Row | None:
        return self._one("get_thread", (thread_id,))

    async def thread_metadata(self, thread_id: str) -> Row | None:
        row = self._one("thread_metadata", (thread_id,))
        return None if row is None else row["metadata"]

    async def update_thread(
        self, thread_id: str, fields: Row, *, busy_if_inflight: bool = False
    ) -> None:
        if not busy_if_inflight:
            self.db.execute(Q["update_thread"], thread_params(thread_id, fields))
            return
        with self._tx() as db:
            db.execute(Q["update_thread"], thread_params(thread_id, fields))
            db.execute(Q["thread_busy_if_inflight"], {"thread_id": thread_id})

    async def delete_thread(self, thread_id: str) -> bool:
        with self._tx() as db:
            db.execute(Q["delete_thread_events"], (thread_id,))
            db.execute(Q["delete_thread_runs"], (thread_id,))
            return db.execute(Q["delete_thread"], (thread_id,)).rowcount > 0

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
            "ids": enc(list(ids)) if ids is not None else None,
            "metadata": enc(metadata),
            "values": enc(values),
            "status": status,
            "limit": limit,
            "offset": offset,
            "sort_by": sort_by,
            "descending": descending,
        }
        rows = list(self.db.execute(Q["search_threads"], params))
        total = rows[0]["total"] if rows else self._scalar("count_threads", params)
        for r in rows:
            r.pop("total", None)
        return rows, int(total or 0)

    # == runs ==========================================================================
    async def create_run(self, row: Row, *, thread_status: str = "busy") -> None:
        with self._tx() as db:
            db.execute(
                Q["insert_run"],
                run_params(row),
            )
            db.execute(
                Q["set_thread_status"],
                {
                    "thread_id": row["thread_id"],
                    "status": thread_status,
                    "updated_at": row["created_at"],
                },
            )

    async def get_run(self, run_id: str) -> Row | None:
        return self._one("get_run", (run_id,))

    async def run_status(self, run_id: str) -> str | None:
        status = self._scalar("run_status", (run_id,))
        return None if status is None else str(status)

    async def list_runs(
        self, thread_id: str, *, limit: int, offset: int, status: str | None
    ) -> list[Row]:
        params = {"thread_id": thread_id, "status": status, "limit": limit, "offset": offset}
        return list(self.db.execute(Q["list_runs"], params))

    async def inflight_runs(self, thread_id: str) -> list[Row]:
        return list(self.db.execute(Q["inflight_runs"], (thread_id,)))

    async def runs_with_status(
        self, statuses: Sequence[str], thread_id: str | None = None
    ) -> list[Row]:
        params = {"statuses": enc(list(statuses)), "thread_id": thread_id}
        return list(self.db.execute(Q["runs_with_status"], params))

    async def claim_run(self, now: float, worker_id: str, lease_s: float) -> Row | None:
        # no await between the read and the write: atomic among this process's coroutines
        seq = self._scalar("claim_candidate", {"now": now})
        if seq is None:
            return None
        params = {
            "seq": seq,
            "updated_at": now_iso(),
            "worker_id": worker_id,
            "lease_until": now + lease_s,
        }
        try:
            return self._one("mark_running", params)
        except sqlite3.IntegrityError:  # another run of the thread is running
            return None

    async def next_run_at(self) -> float | None:
        value = self._scalar("next_run_at", ())
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
        params = {
            "run_id": run_id,
            "status": status,
            "ended_at": ended_at,
            "updated_at": now_iso(),
            "kwargs": None,
            "owner": owner,
        }
        with self._tx() as db:
            if not db.execute(Q["finish_run"], params).rowcount:
                return False
            if thread is not None:
                fields = dict(thread)
                thread_id = fields.pop("thread_id")
                db.execute(Q["update_thread"], thread_params(thread_id, fields))
                db.execute(Q["thread_busy_if_inflight"], {"thread_id": thread_id})
        return True

    async def delete_run(self, run_id: str) -> bool:
        with self._tx() as db:
            db.execute(Q["delete_run_events"], (run_id,))
            return db.execute(Q["delete_run"], (run_id,)).rowcount > 0

    async def renew_leases(self, worker_id: str, until: float) -> list[tuple[str, str | None]]:
        cur = self.db.execute(Q["renew_leases"], {"worker_id": worker_id, "until": until})
        cur.row_factory = None  # type: ignore[assignment]
        return [(str(run_id), action) for run_id, action in cur.fetchall()]

    async def request_cancel(self, run_id: str, action: str, now: float) -> str | None:
        stamp = now_iso()
        params = {"run_id": run_id, "action": action, "ended_at": now, "updated_at": stamp}
        with self._tx() as db:
            if action == "rollback":
                ended = db.execute(Q["delete_pending"], params).rowcount
                if ended:
                    db.execute(Q["delete_run_events"], (run_id,))
            else:
                ended = db.execute(Q["cancel_pending"], params).rowcount
            if ended:
                return "pending"
            if db.execute(Q["request_cancel_running"], params).rowcount:
                return "running"
        return None

    async def release_run(self, run_id: str, worker_id: str) -> bool:
        params = {"run_id": run_id, "worker_id": worker_id, "updated_at": now_iso()}
        return self.db.execute(Q["release_run"], params).rowcount > 0

    async def reap_expired(self, now: float, max_attempts: int) -> tuple[list[Row], list[Row]]:
        requeued: list[Row] = []
        failed: list[Row] = []
        with self._tx() as db:
            for row in list(db.execute(Q["expired_runs"], {"now": now})):
                params = {"run_id": row["run_id"], "now": now, "updated_at": now_iso()}
                if failed_attempts(row) < max_attempts:
                    db.execute(Q["requeue_run"], params)
                    row["status"] = "pending"
                    requeued.append(row)
                else:
                    db.execute(Q["fail_expired_run"], params)
                    row["status"] = "error"
                    failed.append(row)
        return requeued, failed

    @property
    def single_instance(self) -> bool:
        return True

    # == run event logs =================================================================
    async def append_events(
        self, events: Sequence[tuple[str, int, str, bytes]], *, owner: str | None = None
    ) -> set[str]:
        refused: set[str] = set()
        if owner is not None:  # no await before the write: the check holds for it
            cur = self.db.execute(Q["runs_held_by"], (owner,))
            cur.row_factory = None  # type: ignore[assignment]
            held = {run_id for (run_id,) in cur.fetchall()}
            refused = {e[0] for e in events} - held
            if refused:
                events = [e for e in events if e[0] not in refused]
        if len(events) == 1:  # one statement commits atomically on its own
            self.db.execute(Q["insert_event"], events[0])
        elif events:
            with self._tx() as db:
                db.executemany(Q["insert_event"], events)
        return refused

    async def last_event_seq(self, run_id: str) -> int:
        return int(self._scalar("last_event_seq", (run_id,)) or 0)

    async def read_events(self, run_id: str, after: int, limit: int) -> list[EventRow]:
        cur = self.db.execute(Q["read_events"], (run_id, after, limit))
        cur.row_factory = None  # type: ignore[assignment]
        return [(int(s), str(e), bytes(d)) for s, e, d in cur.fetchall()]

    async def sweep_events(self, ended_before: float) -> int:
        return int(self.db.execute(Q["sweep_events"], (ended_before,)).rowcount)
