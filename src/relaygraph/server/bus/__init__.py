"""Signals between server instances that share one database.

Storage is the source of truth; the bus only says *when* to look at it again: a run became
claimable (``wake``), a run's log grew or its run ended (``events``), a cancel was requested
(``cancel``). A lost message therefore delays, never loses: every listener also re-checks
storage every ``poll_s`` seconds, which is short while the bus is down.

``LocalBus`` is for one process (nothing to tell anyone); ``RedisBus`` uses Redis pub/sub;
``PostgresBus`` uses PostgreSQL's LISTEN/NOTIFY when no Redis is configured.
"""

from __future__ import annotations

from relaygraph.server.bus._base import Bus, Deliver, LocalBus, Signal

__all__ = ["Bus", "Deliver", "LocalBus", "PostgresBus", "RedisBus", "Signal", "open_bus"]


def __getattr__(name: str) -> object:
    if name == "RedisBus":
        from relaygraph.server.bus._redis import RedisBus

        return RedisBus
    if name == "PostgresBus":
        from relaygraph.server.bus._postgres import PostgresBus

        return PostgresBus
    raise AttributeError(name)


def open_bus(redis_url: str | None, database_url: str | None, channel: str) -> Bus:
    """Redis when ``redis_url`` is set, else LISTEN/NOTIFY on the PostgreSQL database at
    ``database_url`` (a URL or a conninfo string), else the single-process ``LocalBus``."""
    if redis_url:
        from relaygraph.server.bus._redis import RedisBus

        return RedisBus(redis_url, channel)
    if database_url:
        from relaygraph.server.bus._postgres import PostgresBus

        return PostgresBus(database_url, channel)
    return LocalBus()
