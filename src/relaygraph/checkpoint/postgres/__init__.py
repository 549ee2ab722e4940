"""``PostgresSaver``: checkpoints in PostgreSQL (psycopg 3, ``psycopg_pool``).

    with PostgresSaver.from_conn_string("postgresql://user@host/db") as saver:
        saver.setup()  # create or migrate the schema; safe to run twice, or from two processes
        graph = builder.compile(checkpointer=saver)

Give it a ``psycopg_pool.ConnectionPool`` (each operation borrows a connection) or one
``psycopg.Connection`` (operations take turns on it); either way connections must be in
autocommit mode: an operation of several statements runs them in a transaction of its own,
one of a single statement (most writes, most reads) runs it alone (see
:mod:`~relaygraph.checkpoint.postgres._statements`). Tables are created
unqualified, so a connection's ``search_path`` picks the schema. Requires the ``postgres``
extra (``pip install relaygraph[postgres]``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any, TypeVar

from psycopg import Connection, Cursor
from psycopg_pool import ConnectionPool

from relaygraph.checkpoint._faces import PlanSaver
from relaygraph.checkpoint._sqlcore import ALL, MANY, Op, Plan, SqlCore, drive
from relaygraph.checkpoint.postgres._queries import DIALECT
from relaygraph.checkpoint.postgres._statements import BEGIN, COMMIT, statements
from relaygraph.checkpoint.serde import JsonPlusSerializer

__all__ = ["CONNECTION_KWARGS", "PostgresSaver"]

T = TypeVar("T")

CONNECTION_KWARGS: dict[str, Any] = {"autocommit": True}
"""What ``from_conn_string`` passes to every connection it opens."""


def execute(cursor: Cursor[Any], op: Op) -> Any:
    """Run one op of a core plan on a sync cursor."""
    if op.mode == MANY:
        cursor.executemany(op.sql, op.params)
        return None
    cursor.execute(op.sql, op.params)
    return cursor.fetchall() if op.mode == ALL else None


def run(conn: Connection[Any], plan: Plan[T]) -> T:
    """Run ``plan`` on ``conn`` (autocommit), in a transaction only where it needs one."""
    with conn.cursor() as cursor, ExitStack() as transaction:
        if not conn.autocommit:  # against the docs: all of it in one transaction, committed
            with conn.transaction():
                return drive(plan, lambda op: execute(cursor, op))

        def step(op: Op) -> Any:
            if op is BEGIN:
                transaction.enter_context(conn.transaction())
            elif op is COMMIT:
                transaction.close()
            else:
                return execute(cursor, op)
            return None

        return drive(statements(plan), step)


class PostgresSaver(PlanSaver):
    """Checkpoints in PostgreSQL; call :meth:`setup` once before use."""

    def __init__(
        self,
        conn: Connection[Any] | ConnectionPool,
        *,
        serde: JsonPlusSerializer | None = None,
    ) -> None:
        self.conn = conn
        self.core = SqlCore(DIALECT, serde)
        self.serde = self.core.serde
        self.lock = threading.Lock()

    @classmethod
    @contextmanager
    def from_conn_string(
        cls,
        conn_string: str,
        *,
        max_size: int = 8,
        serde: JsonPlusSerializer | None = None,
    ) -> Iterator[PostgresSaver]:
        """A saver with its own connection pool (up to ``max_size``), closed on exit."""
        pool = ConnectionPool(
            conn_string, min_size=1, max_size=max_size, kwargs=CONNECTION_KWARGS, open=False
        )
        with pool:
            yield cls(pool, serde=serde)

    def _run(self, plan: Plan[T], *, write: bool = True) -> T:
        if isinstance(self.conn, ConnectionPool):
            with self.conn.connection() as conn:
                return run(conn, plan)
        with self.lock:
            return run(self.conn, plan)

    def setup(self) -> list[int]:
        """Create or migrate the schema; returns the migration versions it applied."""
        return self._run(self.core.setup())
