"""``PostgresSaver``: checkpoints in PostgreSQL (psycopg 3, ``psycopg_pool``).

    with PostgresSaver.from_conn_string("postgresql://user@host/db") as saver:
        saver.setup()  # create or migrate the schema; safe to run twice, or from two processes
        graph = builder.compile(checkpointer=saver)

Give it a ``psycopg_pool.ConnectionPool`` (each operation borrows a connection) or one
``psycopg.Connection`` (operations take turns on it); either way connections must be in
autocommit mode, as each operation runs in its own transaction. Tables are created
unqualified, so a connection's ``search_path`` picks the schema. Requires the ``postgres``
extra (``pip install relaygraph[postgres]``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from psycopg import Connection, Cursor
from psycopg_pool import ConnectionPool

from relaygraph.checkpoint._faces import PlanSaver
from relaygraph.checkpoint._sqlcore import ALL, MANY, Op, Plan, SqlCore, drive
from relaygraph.checkpoint.postgres._queries import DIALECT
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

    @contextmanager
    def _cursor(self) -> Iterator[Cursor[Any]]:
        if isinstance(self.conn, ConnectionPool):
            with self.conn.connection() as conn, conn.transaction(), conn.cursor() as cur:
                yield cur
        else:
            with self.lock, self.conn.transaction(), self.conn.cursor() as cur:
                yield cur

    def _run(self, plan: Plan[T], *, write: bool = True) -> T:
        with self._cursor() as cur:
            return drive(plan, lambda op: execute(cur, op))

    def setup(self) -> list[int]:
        """Create or migrate the schema; returns the migration versions it applied."""
        return self._run(self.core.setup())
