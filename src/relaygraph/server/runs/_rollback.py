"""Undo a run's checkpoints (cancel with ``action=rollback``), through the saver interface.

The checkpoints written since the run started are found by their timestamps. If the thread
had none before, its checkpoints are deleted; otherwise the last checkpoint from before the
run is written again as the newest one, so the thread's state is what it was.
"""

from __future__ import annotations

import os
import time
from typing import Any

__all__ = ["rollback_thread"]

_node = os.urandom(6).hex()


def _checkpoint_id() -> str:
    # Same layout as the engine's ids (100 ns ticks, lexically time-ordered), so it sorts last.
    h = f"{time.time_ns() // 100:015x}"
    return f"{h[:8]}-{h[8:12]}-6{h[12:15]}-{_node[:4]}-{_node[4:12]}{_node[:4]}"


async def rollback_thread(saver: Any, thread_id: str, started_at: str) -> None:
    """Make ``thread_id``'s state what it was before ``started_at`` (an ISO timestamp)."""
    config = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
    newest: Any = None
    before: Any = None
    async for saved in saver.alist(config):
        if newest is None:
            newest = saved
        if str(saved.checkpoint.get("ts", "")) < started_at:
            before = saved
            break
    if newest is None or before is newest:
        return
    if before is None:
        await saver.adelete_thread(thread_id)
        return
    checkpoint = {**before.checkpoint, "id": _checkpoint_id()}
    metadata = {**before.metadata, "source": "update", "step": newest.metadata.get("step", 0) + 1}
    versions = dict(checkpoint.get("channel_versions") or {})
    await saver.aput(newest.config, checkpoint, metadata, versions)
