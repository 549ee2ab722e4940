"""The storage interface the server is written against."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any

__all__ = ["EventRow", "Row", "SearchPage", "Storage"]

Row = dict[str, Any]
"""One stored resource, JSON columns decoded."""

SearchPage = tuple[list[Row], int]
"""``(rows, total matching)``."""

EventRow = tuple[int, str, bytes]
"""One logged run event: ``(seq, event name, JSON data)``."""


class Storage(abc.ABC):
    """Assistants, threads, runs and run event logs.

    The run queue relies on two guarantees: ``claim_run`` hands a pending run to exactly one
    caller, and at most one run per thread is ``running`` (the backend enforces this).
    """

    @abc.abstractmethod
    async def setup(self) -> None:
        """Create or migrate the schema."""

    @abc.abstractmethod
    async def close(self) -> None: ...

    # == assistants ====================================================================
    @abc.abstractmethod
    async def create_assistant(self, row: Row) -> bool:
        """Insert ``row`` (and its version 1); ``False`` if the id exists."""

    @abc.abstractmethod
    async def get_assistant(self, assistant_id: str) -> Row | None: ...

    @abc.abstractmethod
    async def add_assistant_version(self, row: Row) -> None:
        """Store ``row`` as a new version and make it current."""

    @abc.abstractmethod
    async def list_assistant_versions(
        self, assistant_id: str, metadata: Row | None, limit: int, offset: int
    ) -> list[Row]: ...

    @abc.abstractmethod
    async def set_assistant_version(self, assistant_id: str, version: int) -> Row | None:
        """Make ``version`` current; the assistant, or ``None`` if that version is missing."""

    @abc.abstractmethod
    async def delete_assistant(self, assistant_id: str) -> bool: ...

    @abc.abstractmethod
    async def search_assistants(
        self,
        *,
        graph_id: str | None,
        name: str | None,
        metadata: Row | None,
        limit: int,
        offset: int,
        sort_by: str,
        descending: bool,
    ) -> SearchPage: ...

    # == threads =======================================================================
    @abc.abstractmethod
    async def create_thread(self, row: Row) -> bool:
        """Insert ``row``; ``False`` if the id exists."""

    @abc.abstractmethod
    async def get_thread(self, thread_id: str) -> Row | None: ...

    @abc.abstractmethod
    async def update_thread(self, thread_id: str, fields: Row) -> None:
        """Overwrite the given columns (``metadata``, ``status``, ``values``, ``error``,
        ``interrupts``, ``config``, ``updated_at``, ``state_updated_at``)."""

    @abc.abstractmethod
    async def delete_thread(self, thread_id: str) -> bool:
        """Delete the thread with its runs and their event logs."""

    @abc.abstractmethod
    async def search_threads(
        self,
        *,
        ids: Sequence[str] | None,
        metadata: Row | None,
        values: Row | None,
        status: str | None,
        limit: int,
        offset: int,
        sort_by: str,
        descending: bool,
    ) -> SearchPage: ...

    # == runs ==========================================================================
    @abc.abstractmethod
    async def create_run(self, row: Row, *, thread_status: str = "busy") -> None:
        """Insert a pending run and mark its thread ``thread_status``."""

    @abc.abstractmethod
    async def get_run(self, run_id: str) -> Row | None: ...

    @abc.abstractmethod
    async def list_runs(
        self, thread_id: str, *, limit: int, offset: int, status: str | None
    ) -> list[Row]: ...

    @abc.abstractmethod
    async def inflight_runs(self, thread_id: str) -> list[Row]:
        """The thread's ``pending`` and ``running`` runs, oldest first."""

    @abc.abstractmethod
    async def pending_runs(self) -> list[Row]:
        """Every ``pending`` run, oldest first (to reopen their event logs at startup)."""

    @abc.abstractmethod
    async def claim_run(self, now: float) -> Row | None:
        """Move the oldest runnable pending run (its time has come, its thread is free and
        has no older pending run) to ``running`` and return it."""

    @abc.abstractmethod
    async def next_run_at(self) -> float | None:
        """When the earliest scheduled pending run becomes due."""

    @abc.abstractmethod
    async def finish_run(
        self, run_id: str, status: str, ended_at: float, thread: Row | None = None
    ) -> None:
        """Set a terminal status; with ``thread`` (``{"thread_id", ...update_thread fields}``)
        update that thread in the same transaction."""

    @abc.abstractmethod
    async def delete_run(self, run_id: str) -> bool:
        """Delete the run and its event log."""

    @abc.abstractmethod
    async def recover(self, ended_at: float) -> list[Row]:
        """At startup: fail runs left ``running`` by a previous process; returns them."""

    # == run event logs =================================================================
    @abc.abstractmethod
    async def append_events(self, events: Sequence[tuple[str, int, str, bytes]]) -> None:
        """Log ``(run_id, seq, event, data)`` rows (of any runs) in one write."""

    @abc.abstractmethod
    async def read_events(self, run_id: str, after: int, limit: int) -> list[EventRow]:
        """Logged events with ``seq > after``, in order, at most ``limit``."""

    @abc.abstractmethod
    async def sweep_events(self, ended_before: float) -> int:
        """Drop the logs of runs that ended before ``ended_before``; returns rows deleted."""

    # == helpers shared by backends ========================================================
    @staticmethod
    def contains(doc: Any, subset: Any) -> bool:
        """JSON containment: every key of ``subset`` is in ``doc`` with a containing value."""
        if isinstance(subset, dict):
            return isinstance(doc, dict) and all(
                k in doc and Storage.contains(doc[k], v) for k, v in subset.items()
            )
        return bool(doc == subset)
