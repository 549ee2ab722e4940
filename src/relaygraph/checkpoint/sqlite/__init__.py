"""``SqliteSaver``: checkpoints in a SQLite file (stdlib ``sqlite3``, WAL mode).

    with SqliteSaver.from_conn_string("checkpoints.db") as saver:
        saver.setup()  # create or migrate the schema; safe to run twice, or from two processes
        graph = builder.compile(checkpointer=saver)

One connection, shared by all threads under a lock; every operation is one transaction
(writes take the write lock up front with ``BEGIN IMMEDIATE``). WAL with
``synchronous=NORMAL`` by default: a committed step survives the process being killed; an OS
crash or power loss may lose the last few (``synchronous="FULL"`` keeps them, at an fsync per
commit). The async methods run the same code in a worker thread
(see :class:`~relaygraph.checkpoint.sqlite.aio.AsyncSqliteSaver`).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from relaygraph.checkpoint._faces import PlanSaver
from relaygraph.checkpoint._sqlcore import ALL, MANY, Op, Plan, SqlCore
from relaygraph.checkpoint.serde import JsonPlusSerializer
from relaygraph.checkpoint.sqlite._queries import DIALECT

__all__ = ["SqliteSaver", "connect"]

T = TypeVar("T")


SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")


def connect(
    path: str | Path, *, timeout: float = 30.0, synchronous: str = "NORMAL"
) -> sqlite3.Connection:
    """A connection set up for the saver: autocommit (explicit transactions), WAL, shareable.

    ``synchronous="FULL"`` fsyncs every commit, so a step also survives power loss (several
    times slower per step on most disks).
    """
    if synchronous.upper() not in SYNCHRONOUS:
        raise ValueError(f"synchronous must be one of {SYNCHRONOUS}")
    conn = sqlite3.connect(
        str(path), timeout=timeout, isolation_level=None, check_same_thread=False
    )
    if str(path) != ":memory:":
        conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous.upper()}")
    return conn


_GROUPED = frozenset({DIALECT.upsert_checkpoint, DIALECT.upsert_blob, DIALECT.upsert_write})
"""Upserts that :meth:`_SqliteBase.transaction` collects: one table each, no reads."""


def _one_row(op: Op) -> bool:
    return op.mode != MANY or len(op.params) == 1


class _SqliteBase(PlanSaver):
    """The shared body of the sync and async SQLite savers: runs core plans on ``conn``."""

    def __init__(
        self, conn: sqlite3.Connection, *, serde: JsonPlusSerializer | None = None
    ) -> None:
        self.conn = conn
        self.core = SqlCore(DIALECT, serde)
        self.serde = self.core.serde
        self.lock = threading.RLock()
        self._batch: dict[str, list[Any]] | None = None

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run several saver calls as one transaction (one commit): group commit.

        The engine uses it with ``durability="async"`` to store what queued up during a step.
        Inside it, the rows of the upserts are collected per statement and inserted with one
        ``executemany`` each (they touch one table each, so only their order within a table
        matters, and that is kept), before any other statement and at the commit.
        """
        with self.lock:
            if self._batch is not None:
                yield
                return
            self.conn.execute("BEGIN IMMEDIATE")
            self._batch = {}
            try:
                yield
                self._flush()
            except BaseException:
                self._batch = None
                self.conn.execute("ROLLBACK")
                raise
            self._batch = None
            self.conn.execute("COMMIT")

    def _flush(self) -> None:
        """Insert the upsert rows collected by :meth:`transaction`."""
        batch = self._batch
        if batch:
            for sql, rows in batch.items():
                self._execute(Op(sql, rows, MANY))
            batch.clear()

    def _run(self, plan: Plan[T], *, write: bool = True) -> T:
        """Run ``plan`` as one transaction, taken only when it needs one.

        Ops whose result the plan does not read are queued; a plan that comes down to one
        single-row statement runs it in autocommit mode (atomic on its own), saving the
        BEGIN/COMMIT round of the commonest write, ``put_writes`` of one value.
        """
        conn = self.conn
        queued: list[Op] = []
        with self.lock:
            batch = self._batch
            if batch is not None:  # inside transaction(): its owner commits (or rolls back)
                return self._run_batched(plan, batch)
            try:
                op = next(plan)
                while True:
                    if op.mode == ALL and not conn.in_transaction:
                        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                    if conn.in_transaction:
                        for q in queued:
                            self._execute(q)
                        queued.clear()
                        op = plan.send(self._execute(op))
                    else:
                        queued.append(op)
                        op = plan.send(None)
            except StopIteration as stop:
                try:
                    if len(queued) == 1 and not conn.in_transaction and _one_row(queued[0]):
                        self._execute(queued[0])
                    elif queued or conn.in_transaction:
                        if not conn.in_transaction:
                            conn.execute("BEGIN IMMEDIATE")
                        for q in queued:
                            self._execute(q)
                        conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
                return stop.value  # type: ignore[no-any-return]
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _run_batched(self, plan: Plan[T], batch: dict[str, list[Any]]) -> T:
        try:
            op = next(plan)
            while True:
                if op.sql in _GROUPED:
                    rows = batch.get(op.sql)
                    if rows is None:
                        rows = batch[op.sql] = []
                    if op.mode == MANY:
                        rows.extend(op.params)
                    else:
                        rows.append(op.params)
                    op = plan.send(None)
                else:
                    self._flush()
                    op = plan.send(self._execute(op))
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]

    def _execute(self, op: Op) -> Any:
        if op.mode == MANY:
            if len(op.params) == 1:
                self.conn.execute(op.sql, op.params[0])
            else:
                self.conn.executemany(op.sql, op.params)
            return None
        try:
            cursor = self.conn.execute(op.sql, op.params)
        except sqlite3.OperationalError as e:
            if "no such table" in str(e):
                raise sqlite3.OperationalError(f"{e}: call the saver's setup() first") from e
            raise
        return cursor.fetchall() if op.mode == ALL else None

    def _setup(self) -> list[int]:
        return self._run(self.core.setup())


class SqliteSaver(_SqliteBase):
    """Checkpoints in a SQLite database; call :meth:`setup` once before use."""

    @classmethod
    @contextmanager
    def from_conn_string(
        cls,
        conn_string: str,
        *,
        synchronous: str = "NORMAL",
        serde: JsonPlusSerializer | None = None,
    ) -> Iterator[SqliteSaver]:
        """A saver on the file ``conn_string`` (or ``":memory:"``), closed on exit."""
        conn = connect(conn_string, synchronous=synchronous)
        try:
            yield cls(conn, serde=serde)
        finally:
            conn.close()

    def setup(self) -> list[int]:
        """Create or migrate the schema; returns the migration versions it applied."""
        return self._setup()
