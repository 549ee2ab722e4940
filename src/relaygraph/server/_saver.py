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
from collections.abc import Callable
from typing import Any, TypeVar

from relaygraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from relaygraph.server._settings import ServerSettings

__all__ = ["InlineSqliteSaver", "open_saver"]

T = TypeVar("T")


class InlineSqliteSaver(AsyncSqliteSaver):
    """``AsyncSqliteSaver`` whose async methods run inline (see the module docstring)."""

    async def _blocking(self, fn: Callable[..., T], *args: Any) -> T:
        return fn(*args)


def open_saver(settings: ServerSettings) -> contextlib.AbstractAsyncContextManager[Any]:
    """The saver for ``settings``: PostgreSQL with a ``database_url``, else a SQLite file in
    the data directory."""
    if settings.database_url:
        from relaygraph.checkpoint.postgres.aio import AsyncPostgresSaver

        return AsyncPostgresSaver.from_conn_string(settings.database_url)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return InlineSqliteSaver.from_conn_string(str(settings.data_dir / "checkpoints.sqlite"))
