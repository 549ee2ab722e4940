"""Where the server keeps assistants, threads, runs and each run's event log.

``Storage`` is the interface (async, so a networked database can plug in); ``SqliteStorage``
is the default, on one SQLite file with every statement a named query in ``sqlite.sql``;
``PostgresStorage`` lets several server processes share one PostgreSQL database (named
queries in ``postgres.sql``; imported on first use, since psycopg is an optional extra).
Rows are plain dicts whose JSON columns are already decoded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from relaygraph.server.storage._base import Row, SearchPage, Storage, failed_attempts
from relaygraph.server.storage._sqlite import SqliteStorage

if TYPE_CHECKING:
    from relaygraph.server.storage._postgres import PostgresStorage

__all__ = ["PostgresStorage", "Row", "SearchPage", "SqliteStorage", "Storage", "failed_attempts"]


def __getattr__(name: str) -> Any:
    if name == "PostgresStorage":
        from relaygraph.server.storage._postgres import PostgresStorage

        return PostgresStorage
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
