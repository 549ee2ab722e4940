"""The storage interface the server is written against."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any

from relaygraph.server.storage._store_base import StoreStorage

__all__ = ["EventRow", "Row", "SearchPage", "Storage", "failed_attempts"]

Row = dict[str, Any]
"""One stored resource, JSON columns decoded."""

SearchPage = tuple[list[Row], int]
"""``(rows, total matching)``."""

EventRow = tuple[int, str, bytes]
"""One logged run event: ``(seq, event name, JSON data)``."""


def failed_attempts(run: Row) -> int:
    """Executions of ``run`` that ended without an outcome: its attempts less the times it
    was handed back on purpose (a graceful shutdown), which are not failures."""
    return int(run.get("attempt") or 0) - int(run.get("handoffs") or 0)


class Storage(StoreStorage):
    """Assistants, threads, runs, run event logs, and the store (``StoreStorage``).

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

    async def thread_metadata(self, thread_id: str) -> Row | None:
        """The thread's metadata alone (``None`` when there is no such thread): what run
        creation needs; backends answer it without decoding the thread's values."""
        thread = await self.get_thread(thread_id)
        return None if thread is None else thread.get("metadata") or {}

    @abc.abstractmethod
    async def update_thread(
        self, thread_id: str, fields: Row, *, busy_if_inflight: bool = False
    ) -> None:
        """Overwrite the given columns (``metadata``, ``status``, ``values``, ``error``,
        ``interrupts``, ``config``, ``updated_at``, ``state_updated_at``). With
        ``busy_if_inflight`` (a run of the thread just ended), the status is ``busy`` instead
        while any run of the thread is pending or running, decided in the same transaction
        (as ``finish_run`` does)."""

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

    async def run_status(self, run_id: str) -> str | None:
        """The run's status alone (``None`` when there is no such run); backends answer it
        without decoding the whole row."""
        run = await self.get_run(run_id)
        return None if run is None else str(run["status"])

    @abc.abstractmethod
    async def list_runs(
        self, thread_id: str, *, limit: int, offset: int, status: str | None
    ) -> list[Row]: ...

    @abc.abstractmethod
    async def inflight_runs(self, thread_id: str) -> list[Row]:
        """The thread's ``pending`` and ``running`` runs, oldest first."""

    @abc.abstractmethod
    async def runs_with_status(
        self, statuses: Sequence[str], thread_id: str | None = None
    ) -> list[Row]:
        """Runs in one of ``statuses`` (of ``thread_id`` when given), oldest first; only
        ``pending`` and ``running`` are looked up (finished runs are not indexed for it)."""

    @abc.abstractmethod
    async def claim_run(self, now: float, worker_id: str, lease_s: float) -> Row | None:
        """Move the oldest runnable pending run (its time has come, its thread is free and
        has no older pending run) to ``running`` and return it. (A pending run can carry a
        ``cancel_action`` stored while it ran on a worker that died or handed it back: the
        claimer ends it at once.)

        The claim records ``worker_id``, a lease until ``now + lease_s``, the attempt number
        (``attempt``, 1 on the first claim) and, on the first claim, ``started_at``."""

    @abc.abstractmethod
    async def next_run_at(self) -> float | None:
        """When the earliest scheduled pending run becomes due."""

    @abc.abstractmethod
    async def renew_leases(self, worker_id: str, until: float) -> list[tuple[str, str | None]]:
        """Extend the lease of every run ``worker_id`` holds to ``until``.

        Returns ``(run_id, cancel_action)`` for each run it still holds: a run missing from
        the answer was taken away (its lease expired), and a non-``None`` action is a cancel
        request made anywhere."""

    @abc.abstractmethod
    async def request_cancel(self, run_id: str, action: str, now: float) -> str | None:
        """Cancel an in-flight run, atomically.

        A ``pending`` run ends here: deleted for ``rollback``, else ``interrupted``
        (answer ``"pending"``). A ``running`` run gets ``action`` recorded for its worker to
        act on (answer ``"running"``; an earlier request is kept). ``None``: not in flight."""

    @abc.abstractmethod
    async def release_run(self, run_id: str, worker_id: str) -> bool:
        """Hand a running run held by ``worker_id`` back to the queue (``pending``); the
        hand-back is counted (``handoffs``) so that it does not spend an attempt."""

    @abc.abstractmethod
    async def reap_expired(self, now: float, max_attempts: int) -> tuple[list[Row], list[Row]]:
        """Runs whose lease ended before ``now`` (their worker died): those with fewer than
        ``max_attempts`` failed attempts (:func:`failed_attempts`) go back to ``pending``, the
        others end as ``error``. Returns ``(requeued, failed)``."""

    @property
    def single_instance(self) -> bool:
        """Whether one process owns this storage (then at startup every running run is
        orphaned and can be re-queued at once, without waiting for its lease)."""
        return False

    @abc.abstractmethod
    async def finish_run(
        self,
        run_id: str,
        status: str,
        ended_at: float,
        thread: Row | None = None,
        *,
        owner: str | None = None,
    ) -> bool:
        """Set a terminal status; with ``thread`` (``{"thread_id", ...update_thread fields}``)
        update that thread in the same transaction, its status ``busy`` instead while another
        of its runs is pending or running. With ``owner``, only while that worker
        still holds the run (a worker whose lease expired must not record an outcome over
        its successor's); ``False`` when nothing was changed."""

    @abc.abstractmethod
    async def delete_run(self, run_id: str) -> bool:
        """Delete the run and its event log."""

    # == run event logs =================================================================
    @abc.abstractmethod
    async def append_events(
        self, events: Sequence[tuple[str, int, str, bytes]], *, owner: str | None = None
    ) -> set[str]:
        """Log ``(run_id, seq, event, data)`` rows (of any runs) in one write.

        With ``owner``, only the rows of runs that worker still holds (``running`` under its
        lease) are logged: a worker whose lease expired while it stalled must not write seqs
        its successor writes too. Returns the run ids whose rows were refused."""

    @abc.abstractmethod
    async def last_event_seq(self, run_id: str) -> int:
        """The highest logged seq of ``run_id`` (0 when none)."""

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
