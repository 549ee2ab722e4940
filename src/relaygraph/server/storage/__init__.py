"""Where the server keeps assistants, threads, runs and each run's event log.

``Storage`` is the interface (async, so a networked database can plug in); ``SqliteStorage``
is the default, on one SQLite file with every statement a named query in ``sqlite.sql``.
Rows are plain dicts whose JSON columns are already decoded.
"""

from __future__ import annotations

from relaygraph.server.storage._base import Row, SearchPage, Storage
from relaygraph.server.storage._sqlite import SqliteStorage

__all__ = ["Row", "SearchPage", "SqliteStorage", "Storage"]
