"""Checkpoint ids: time-ordered UUID-shaped strings, so that newer ids sort after older ones."""

from __future__ import annotations

import os
import threading
import time

_lock = threading.Lock()
_last = 0
_node = os.urandom(8).hex()


def new_checkpoint_id() -> str:
    """A uuid6-style id whose lexical order is creation order (within and across processes)."""
    global _last
    with _lock:
        t = max(time.time_ns() // 100, _last + 1)
        _last = t
    h = f"{t:015x}"
    return f"{h[:8]}-{h[8:12]}-6{h[12:15]}-{_node[:4]}-{_node[4:16]}"
