"""``copy_thread`` and ``prune`` for ``InMemorySaver`` (mixed into it), as on the SQL savers."""

from __future__ import annotations

import threading
from typing import Any


class MemoryThreadOps:
    """Thread maintenance over ``InMemorySaver``'s ``storage`` and ``writes`` dicts."""

    _lock: threading.RLock
    storage: dict[str, dict[str, dict[str, Any]]]
    writes: dict[tuple[str, str, str], dict[tuple[str, int], Any]]

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Make ``target_thread_id`` a copy of ``source_thread_id`` (replacing its contents)."""
        src, dst = str(source_thread_id), str(target_thread_id)
        if src == dst:
            return
        with self._lock:
            self.delete_thread(dst)
            self.storage[dst] = {ns: dict(saved) for ns, saved in self.storage.get(src, {}).items()}
            for (thread_id, ns, cid), bucket in list(self.writes.items()):
                if thread_id == src:
                    self.writes[(dst, ns, cid)] = dict(bucket)

    def prune(self, thread_id: str, keep_latest: int = 1) -> int:
        """Delete all but the newest ``keep_latest`` checkpoints of each namespace of a thread
        (with their writes); returns how many were deleted."""
        if keep_latest < 0:
            raise ValueError("keep_latest must be >= 0")
        thread_id = str(thread_id)
        dropped = 0
        with self._lock:
            for ns, saved in self.storage.get(thread_id, {}).items():
                for cid in sorted(saved, reverse=True)[keep_latest:]:
                    del saved[cid]
                    self.writes.pop((thread_id, ns, cid), None)
                    dropped += 1
        return dropped

    def delete_thread(self, thread_id: str) -> None:  # provided by the saver
        raise NotImplementedError

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        self.copy_thread(source_thread_id, target_thread_id)

    async def aprune(self, thread_id: str, keep_latest: int = 1) -> int:
        return self.prune(thread_id, keep_latest)
