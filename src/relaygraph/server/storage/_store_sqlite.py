"""``StoreSqlite``: the store on ``SqliteStorage``'s database (a mixin; statements in
``store_sqlite.sql``). Like the rest of that backend, statements run inline on the loop."""

from __future__ import annotations

import abc
import sqlite3
from collections.abc import Sequence
from typing import Any

from relaygraph.server import _json
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
    matches,
    namespace_range,
    search_params,
    select_namespaces,
    split_namespace,
)

__all__ = ["StoreSqlite"]

Q = load_queries("relaygraph.server.storage", "store_sqlite.sql")


def _match(value: str, plain: str | None, conditions: str | None) -> bool:
    return matches(
        _json.loads(value),
        None if plain is None else _json.loads(plain),
        None if conditions is None else _json.loads(conditions),
    )


def _decoded(row: tuple[Any, ...]) -> Item:
    namespace, key, value, created_at, updated_at = row[:5]
    return item(namespace, key, _json.loads(value), created_at, updated_at)


class StoreSqlite(StoreStorage):
    """The store methods of ``SqliteStorage`` (which provides ``db``)."""

    @property
    @abc.abstractmethod
    def db(self) -> sqlite3.Connection: ...

    def _rows(self, name: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        cur = self.db.execute(Q[name], params)
        cur.row_factory = None  # type: ignore[assignment]
        return cur.fetchall()

    async def setup_store(self) -> None:
        self.db.create_function("rg_store_match", 3, _match, deterministic=True)
        for statement in Q["store_schema"].split(";\n"):
            if statement.strip():
                self.db.execute(statement)

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
        self.db.execute(
            Q["store_put"],
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
        params = {"namespace": join_namespace(namespace), "key": key, "now": clock(now)}
        if refresh:
            self.db.execute(Q["store_refresh"], params)
        rows = self._rows("store_get", params)
        return _decoded(rows[0]) if rows else None

    async def delete_item(self, namespace: Sequence[str], key: str) -> None:
        self.db.execute(Q["store_delete"], {"namespace": join_namespace(namespace), "key": key})

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
        rows = self._rows("store_search", params)
        if refresh:
            expiring = [{"namespace": r[0], "key": r[1], "now": now} for r in rows if r[5]]
            if expiring:
                self.db.executemany(Q["store_refresh"], expiring)
        return [_decoded(r) for r in rows]

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
        found = [split_namespace(r[0]) for r in self._rows("store_namespaces", params)]
        return select_namespaces(
            found, prefix=prefix, suffix=suffix, max_depth=max_depth, limit=limit, offset=offset
        )

    async def sweep_items(self, now: float | None = None) -> int:
        return int(self.db.execute(Q["store_sweep"], {"now": clock(now)}).rowcount)
