"""Ids on the wire: UUIDv7 for threads and runs, the reference's UUIDv5 for default assistants,
and path ids checked before anything else runs."""

from __future__ import annotations

import os
import time
import uuid
from datetime import datetime, timezone

from relaygraph.server._errors import HTTPError

__all__ = ["NAMESPACE_GRAPH", "assistant_id_for", "now_iso", "parse_uuid", "uuid7"]

NAMESPACE_GRAPH = uuid.UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8")
_last_ms = 0
_counter = 0


def uuid7() -> str:
    """A time-ordered UUIDv7 (ms timestamp, a 12-bit counter within the ms, random tail)."""
    global _last_ms, _counter
    ms = time.time_ns() // 1_000_000
    if ms <= _last_ms:
        _counter += 1
        if _counter > 0xFFF:
            _last_ms += 1
            _counter = 0
        ms = _last_ms
    else:
        _last_ms, _counter = ms, 0
    tail = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms << 80) | (0x7 << 76) | (_counter << 64) | (0b10 << 62) | tail
    return str(uuid.UUID(int=value))


def assistant_id_for(graph_id: str) -> str:
    """The default assistant of a graph: ``uuid5(6ba7b821-..., graph_id)``."""
    return str(uuid.uuid5(NAMESPACE_GRAPH, graph_id))


def parse_uuid(value: str, what: str, *, status: int = 422) -> str:
    """``value`` in canonical form, or ``Invalid <what> ID: must be a UUID`` (422); with
    ``status=400`` the reference's run-creation wording."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        if status == 400:
            raise HTTPError(400, "badly formed hexadecimal UUID string") from None
        raise HTTPError(422, f"Invalid {what} ID: must be a UUID") from None


def now_iso() -> str:
    """Now as ISO-8601 with microseconds and ``+00:00``."""
    return datetime.now(timezone.utc).isoformat()
