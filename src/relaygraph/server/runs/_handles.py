"""In-memory handles on the runs this process is executing (for cancellation)."""

from __future__ import annotations

import asyncio
import dataclasses

__all__ = ["CANCEL_MESSAGES", "LEAVE_REASONS", "RunHandle"]

CANCEL_MESSAGES = {
    "interrupt": (
        "UserInterrupt",
        "interrupt requested via POST /threads/{thread_id}/runs/{run_id}/cancel",
    ),
    "rollback": (
        "UserRollback",
        "rollback requested via POST /threads/{thread_id}/runs/{run_id}/cancel",
    ),
    "disconnect": (
        "UserInterrupt",
        "client disconnected from the run stream (on_disconnect=cancel)",
    ),
}
"""cancel reason -> (error name, message) recorded on the thread."""

LEAVE_REASONS = frozenset(("handoff", "lost"))
"""Reasons that stop a run here without ending it: ``handoff`` (this instance shuts down and
hands the run back to the queue) and ``lost`` (its lease expired; another instance owns it)."""


@dataclasses.dataclass
class RunHandle:
    """A running run: its task, and why it was cancelled (``None`` while it is not)."""

    run_id: str
    thread_id: str
    started_at: str
    claimed_at: float = 0.0
    """``time.monotonic()`` when this instance claimed the run."""
    task: asyncio.Task[None] | None = None
    cancel_reason: str | None = None
    finishing: bool = False
    """Set once the run's outcome is being recorded: too late to cancel it."""

    def cancel(self, reason: str) -> None:
        """Stop the run now (at its next ``await``); ``reason`` is a ``CANCEL_MESSAGES`` key
        or one of ``LEAVE_REASONS``. The first reason given is kept."""
        if self.finishing:
            return
        if self.cancel_reason is None:
            self.cancel_reason = reason
        if self.task is not None and not self.task.done():
            self.task.cancel()
