"""``AsyncSqliteSaver``: the SQLite saver for ``astream``/``ainvoke``.

    async with AsyncSqliteSaver.from_conn_string("checkpoints.db") as saver:
        await saver.setup()
        graph = builder.compile(checkpointer=saver)

It runs the same code as :class:`~relaygraph.checkpoint.sqlite.SqliteSaver` on a stdlib
``sqlite3`` connection, each call in a worker thread so the event loop never waits on the
disk. The sync methods work too (from any thread).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from relaygraph.checkpoint.serde import JsonPlusSerializer
from relaygraph.checkpoint.sqlite import _SqliteBase, connect

__all__ = ["AsyncSqliteSaver"]


class AsyncSqliteSaver(_SqliteBase):
    """Checkpoints in a SQLite database, for async graphs; ``await setup()`` once before use."""

    @classmethod
    @asynccontextmanager
    async def from_conn_string(
        cls,
        conn_string: str,
        *,
        synchronous: str = "NORMAL",
        serde: JsonPlusSerializer | None = None,
    ) -> AsyncIterator[AsyncSqliteSaver]:
        """A saver on the file ``conn_string`` (or ``":memory:"``), closed on exit."""
        conn = await asyncio.to_thread(connect, conn_string, synchronous=synchronous)
        try:
            yield cls(conn, serde=serde)
        finally:
            await asyncio.to_thread(conn.close)

    async def setup(self) -> list[int]:
        """Create or migrate the schema; returns the migration versions it applied."""
        return await asyncio.to_thread(self._setup)
