"""Checkpoint ids: time-ordered UUID-shaped strings, so that newer ids sort after older ones."""

from __future__ import annotations

import os
import threading
import time
from datetime import datetime, timezone

_lock = threading.Lock()
_last = 0
_node = os.urandom(8).hex()
_suffix = f"-{_node[:4]}-{_node[4:16]}"
_second: tuple[int, str] = (0, "")
"""The current second as ``(epoch seconds, "YYYY-MM-DDTHH:MM:SS")``, for timestamps."""


def _next_tick() -> int:
    """Now in 100 ns units, and strictly greater than any tick returned before."""
    global _last
    t = time.time_ns() // 100
    with _lock:
        if t <= _last:
            t = _last + 1
        _last = t
    return t


def _format_id(t: int) -> str:
    h = f"{t:015x}"
    return h[:8] + "-" + h[8:12] + "-6" + h[12:] + _suffix


def new_checkpoint_id() -> str:
    """A uuid6-style id whose lexical order is creation order (within and across processes)."""
    return _format_id(_next_tick())


def new_checkpoint_id_and_ts() -> tuple[str, str]:
    """A new checkpoint id and its creation time in ISO format (``datetime.isoformat()``).

    One clock reading for both; the date part is formatted once a second.
    """
    global _second
    t = _next_tick()
    sec, us = divmod(t // 10, 1_000_000)
    cached = _second
    if cached[0] != sec:
        cached = _second = (sec, datetime.fromtimestamp(sec, timezone.utc).isoformat()[:19])
    ts = f"{cached[1]}.{us:06d}+00:00" if us else f"{cached[1]}+00:00"
    return _format_id(t), ts
