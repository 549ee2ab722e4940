"""``StorePostgres``: the store on ``PostgresStorage``'s database (a mixin; statements in
``store_postgres.sql``)."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any

from psycopg_pool import AsyncConnectionPool

from relaygraph.server._ids import now_iso
from relaygraph.server.storage._named import load_queries
from relaygraph.server.storage._params import enc
from relaygraph.server.storage._store_base import (
    Item,
    StoreStorage,
    clock,
    item,
    join_namespace,
    literal_head,
    namespace_range,
    search_params,
    select_namespaces,
    split_namespace,
)

__all__ = ["StorePostgres"]

Q = load_queries("relaygraph.server.storage", "store_postgres.sql")


class StorePostgres(StoreStorage):
    """The store methods of ``PostgresStorage`` (which provides ``pool``)."""

    @property
    @abc.abstractmethod
    def pool(self) -> AsyncConnectionPool: ...

    async def _fetch(self, name: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        async with self.pool.connection() as conn, conn.cursor() as cur:
            await cur.execute(Q[name], params)
            return await cur.fetchall()

    async def _execute(self, name: str, params: dict[str, Any]) -> int:
        async with self.pool.connection() as conn, conn.cursor() as cur:
            await cur.execute(Q[name], params)
            return cur.rowcount

    async def setup_store(self) -> None:
        async with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            await cur.execute(Q["store_setup_lock"])
            for statement in Q["store_schema"].split(";\n"):
                if statement.strip():
                    await cur.execute(statement)

    async def put_item(
        self,
        namespace: Sequence[str],
        key: str,
        value: dict[str, Any],
        *,
        ttl_minutes: float | None = None,
        now: float | None = None,
    ) -> None:
        now = clock(now)
        await self._maybe_sweep(now)
        await self._execute(
            "store_put",
            {
                "namespace": join_namespace(namespace),
                "key": key,
                "value": enc(value),
                "stamp": now_iso(),
                "now": now,
                "ttl_minutes": ttl_minutes,
                "expires_at": None if ttl_minutes is None else now + ttl_minutes * 60,
            },
        )

    async def get_item(
        self, namespace: Sequence[str], key: str, *, refresh: bool = True, now: float | None = None
    ) -> Item | None:
        params = {
            "namespace": join_namespace(namespace),
            "key": key,
            "now": clock(now),
            "refresh": refresh,
        }
        rows = await self._fetch("store_get", params)
        return item(*rows[0][:5]) if rows else None

    async def delete_item(self, namespace: Sequence[str], key: str) -> None:
        await self._execute("store_delete", {"namespace": join_namespace(namespace), "key": key})

    async def search_items(
        self,
        prefix: Sequence[str],
        *,
        filter: dict[str, Any] | None = None,
        limit: int = 10,
        offset: int = 0,
        refresh: bool = True,
        now: float | None = None,
    ) -> list[Item]:
        now = clock(now)
        params = search_params(prefix, filter, limit, offset, now)
        rows = await self._fetch("store_search", params)
        expiring = [r for r in rows if r[5] is not None]
        if refresh and expiring:
            await self._execute(
                "store_refresh_many",
                {
                    "namespaces": [r[0] for r in expiring],
                    "keys": [r[1] for r in expiring],
                    "now": now,
                },
            )
        return [item(*r[:5]) for r in rows]

    async def list_namespaces(
        self,
        *,
        prefix: Sequence[str] | None = None,
        suffix: Sequence[str] | None = None,
        max_depth: int | None = None,
        limit: int = 100,
        offset: int = 0,
        now: float | None = None,
    ) -> list[list[str]]:
        params = {**namespace_range(literal_head(prefix)), "now": clock(now)}
        found = [split_namespace(r[0]) for r in await self._fetch("store_namespaces", params)]
        return select_namespaces(
            found, prefix=prefix, suffix=suffix, max_depth=max_depth, limit=limit, offset=offset
        )

    async def sweep_items(self, now: float | None = None) -> int:
        return await self._execute("store_sweep", {"now": clock(now)})
