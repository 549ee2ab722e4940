"""``AsyncPostgresSaver``: checkpoints in PostgreSQL for async graphs (psycopg 3 async).

    async with AsyncPostgresSaver.from_conn_string("postgresql://user@host/db") as saver:
        await saver.setup()
        graph = builder.compile(checkpointer=saver)

The same plans as :class:`~relaygraph.checkpoint.postgres.PostgresSaver`, run on a
``psycopg_pool.AsyncConnectionPool`` or one ``psycopg.AsyncConnection`` (autocommit), each
as its :func:`~relaygraph.checkpoint.postgres._statements.statements`.
The sync methods may be called from other threads; they run on the saver's event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any, TypeVar

from psycopg import AsyncConnection, AsyncCursor
from psycopg_pool import AsyncConnectionPool

from relaygraph.checkpoint._faces import LoopBoundSaver
from relaygraph.checkpoint._sqlcore import ALL, MANY, Op, Plan, SqlCore, adrive
from relaygraph.checkpoint.base import Checkpoint, CheckpointMetadata, CheckpointTuple
from relaygraph.checkpoint.postgres import CONNECTION_KWARGS
from relaygraph.checkpoint.postgres._queries import DIALECT
from relaygraph.checkpoint.postgres._statements import BEGIN, COMMIT, statements
from relaygraph.checkpoint.serde import JsonPlusSerializer

__all__ = ["AsyncPostgresSaver"]

T = TypeVar("T")


async def aexecute(cursor: AsyncCursor[Any], op: Op) -> Any:
    """Run one op of a core plan on an async cursor."""
    if op.mode == MANY:
        await cursor.executemany(op.sql, op.params)
        return None
    await cursor.execute(op.sql, op.params)
    return await cursor.fetchall() if op.mode == ALL else None


async def arun(conn: AsyncConnection[Any], plan: Plan[T]) -> T:
    """Run ``plan`` on ``conn`` (autocommit), in a transaction only where it needs one."""
    async with conn.cursor() as cursor, AsyncExitStack() as transaction:
        if not conn.autocommit:  # against the docs: all of it in one transaction, committed
            async with conn.transaction():
                return await adrive(plan, lambda op: aexecute(cursor, op))

        async def step(op: Op) -> Any:
            if op is BEGIN:
                await transaction.enter_async_context(conn.transaction())
            elif op is COMMIT:
                await transaction.aclose()
            else:
                return await aexecute(cursor, op)
            return None

        return await adrive(statements(plan), step)


class AsyncPostgresSaver(LoopBoundSaver):
    """Checkpoints in PostgreSQL for async graphs; ``await setup()`` once before use.

    Build it inside the event loop it will serve.
    """

    def __init__(
        self,
        conn: AsyncConnection[Any] | AsyncConnectionPool,
        *,
        serde: JsonPlusSerializer | None = None,
    ) -> None:
        self.conn = conn
        self.core = SqlCore(DIALECT, serde)
        self.serde = self.core.serde
        self.lock = asyncio.Lock()
        self.loop = asyncio.get_running_loop()

    @classmethod
    @asynccontextmanager
    async def from_conn_string(
        cls,
        conn_string: str,
        *,
        max_size: int = 8,
        serde: JsonPlusSerializer | None = None,
    ) -> AsyncIterator[AsyncPostgresSaver]:
        """A saver with its own connection pool (up to ``max_size``), closed on exit."""
        pool = AsyncConnectionPool(
            conn_string, min_size=1, max_size=max_size, kwargs=CONNECTION_KWARGS, open=False
        )
        async with pool:
            yield cls(pool, serde=serde)

    async def _run(self, plan: Plan[T]) -> T:
        if isinstance(self.conn, AsyncConnectionPool):
            async with self.conn.connection() as conn:
                return await arun(conn, plan)
        async with self.lock:
            return await arun(self.conn, plan)

    async def setup(self) -> list[int]:
        """Create or migrate the schema; returns the migration versions it applied."""
        return await self._run(self.core.setup())

    # == BaseCheckpointSaver (async) =====================================================
    async def aget_tuple(self, config: dict[str, Any]) -> CheckpointTuple | None:
        return await self._run(self.core.get_tuple(config))

    async def alist(
        self,
        config: dict[str, Any] | None,
        *,
        filter: dict[str, Any] | None = None,
        before: dict[str, Any] | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        plan = self.core.list(config, filter=filter, before=before, limit=limit)
        for item in await self._run(plan):
            yield item

    async def aput(
        self,
        config: dict[str, Any],
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: dict[str, Any],
    ) -> dict[str, Any]:
        return await self._run(self.core.put(config, checkpoint, metadata, new_versions))

    async def aput_writes(
        self,
        config: dict[str, Any],
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        await self._run(self.core.put_writes(config, writes, task_id, task_path))

    async def adelete_thread(self, thread_id: str) -> None:
        await self._run(self.core.delete_thread(thread_id))

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        await self._run(self.core.copy_thread(source_thread_id, target_thread_id))

    async def aprune(self, thread_id: str, keep_latest: int = 1) -> int:
        return await self._run(self.core.prune(thread_id, keep_latest))
