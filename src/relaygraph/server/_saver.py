"""The server's checkpoint saver: SQLite (or PostgreSQL with ``database_url``).

``InlineSqliteSaver`` is ``AsyncSqliteSaver`` with its async methods run on the event loop's
thread, as ``SqliteStorage`` runs its statements: each call is a few indexed statements in one
WAL transaction (``synchronous=NORMAL``, no fsync per commit), far cheaper than the hop to a
worker thread and back that ``asyncio.to_thread`` costs (a queue put, a thread wake-up and two
GIL hand-offs, several per step). Nothing else in the server uses the saver from another
thread, so its lock is never contended.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

from relaygraph.checkpoint.base import CheckpointTuple
from relaygraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from relaygraph.server._settings import ServerSettings

__all__ = ["InlineSqliteSaver", "open_saver"]


class InlineSqliteSaver(AsyncSqliteSaver):
    """``AsyncSqliteSaver`` whose async methods run inline (see the module docstring)."""

    async def aget_tuple(self, config: dict[str, Any]) -> CheckpointTuple | None:
        return self.get_tuple(config)

    async def alist(
        self,
        config: dict[str, Any] | None,
        *,
        filter: dict[str, Any] | None = None,
        before: dict[str, Any] | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        for item in list(self.list(config, filter=filter, before=before, limit=limit)):
            yield item

    async def aput(
        self,
        config: dict[str, Any],
        checkpoint: Any,
        metadata: Any,
        new_versions: dict[str, Any],
    ) -> dict[str, Any]:
        return self.put(config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self,
        config: dict[str, Any],
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        self.put_writes(config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        self.delete_thread(thread_id)

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        self.copy_thread(source_thread_id, target_thread_id)

    async def aprune(self, thread_id: str, keep_latest: int = 1) -> int:
        return self.prune(thread_id, keep_latest)


def open_saver(settings: ServerSettings) -> contextlib.AbstractAsyncContextManager[Any]:
    """The saver for ``settings``: PostgreSQL with a ``database_url``, else a SQLite file in
    the data directory."""
    if settings.database_url:
        from relaygraph.checkpoint.postgres.aio import AsyncPostgresSaver

        return AsyncPostgresSaver.from_conn_string(settings.database_url)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return InlineSqliteSaver.from_conn_string(str(settings.data_dir / "checkpoints.sqlite"))
