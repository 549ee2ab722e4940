"""``PostgresBus``: signals over PostgreSQL LISTEN/NOTIFY (when there is no Redis)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from relaygraph.server.bus._base import QueuedBus

__all__ = ["PostgresBus"]

_NOTIFY = "SELECT pg_notify(%s::text, message) FROM unnest(%s::text[]) AS message"
"""A batch of messages, sent in order."""


class PostgresBus(QueuedBus):
    """NOTIFY on, and LISTEN to, ``channel`` of the database at ``url``."""

    def __init__(self, url: str, channel: str) -> None:
        super().__init__()
        self.url = url
        self.channel = channel.replace(":", "_").replace("-", "_")
        self._sender: Any = None

    async def _send(self, messages: list[str]) -> None:
        import psycopg

        if self._sender is None or self._sender.closed:
            self._sender = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
        async with self._sender.cursor() as cur:  # one statement, not a pipeline of many
            await cur.execute(_NOTIFY, (self.channel, messages))

    async def _listen(self, connected: Callable[[], None]) -> None:
        import psycopg
        from psycopg import sql

        async with await psycopg.AsyncConnection.connect(self.url, autocommit=True) as conn:
            await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
            connected()
            async for notify in conn.notifies():
                self._received(notify.payload)

    async def _disconnect(self) -> None:
        if self._sender is not None:
            await self._sender.close()
            self._sender = None
