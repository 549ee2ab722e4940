"""``InMemoryCache``: a thread-safe, per-process node cache with per-entry TTLs."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from relaygraph.cache.base import BaseCache, FullKey, Namespace, SerializerProtocol, ValueT

__all__ = ["InMemoryCache"]

_RAW = "__raw__"


class InMemoryCache(BaseCache[ValueT]):
    """Keeps entries in a dict guarded by a lock; expired entries are dropped when read.

    Values are stored serialized (so hits return copies); a value the serializer cannot
    handle is kept as the object itself.
    """

    def __init__(self, *, serde: SerializerProtocol | None = None) -> None:
        super().__init__(serde=serde)
        self._cache: dict[Namespace, dict[str, tuple[str, Any, float | None]]] = {}
        self._lock = threading.RLock()

    def get(self, keys: Sequence[FullKey]) -> dict[FullKey, ValueT]:
        """The values of ``keys`` that are present and not expired."""
        if not keys:
            return {}
        now = time.time()
        found: dict[FullKey, tuple[str, Any]] = {}
        with self._lock:
            for ns, key in keys:
                ns = tuple(ns)
                entries = self._cache.get(ns)
                if entries is None or key not in entries:
                    continue
                kind, payload, expiry = entries[key]
                if expiry is not None and now >= expiry:
                    del entries[key]
                    continue
                found[(ns, key)] = (kind, payload)
        return {
            k: (payload if kind == _RAW else self.serde.loads_typed((kind, payload)))
            for k, (kind, payload) in found.items()
        }

    async def aget(self, keys: Sequence[FullKey]) -> dict[FullKey, ValueT]:
        """Async ``get`` (the dict lookup does not block)."""
        return self.get(keys)

    def set(self, pairs: Mapping[FullKey, tuple[ValueT, int | None]]) -> None:
        """Store each ``key: (value, ttl_seconds)``; a ``None`` ttl never expires."""
        now = time.time()
        encoded: list[tuple[Namespace, str, tuple[str, Any, float | None]]] = []
        for (ns, key), (value, ttl) in pairs.items():
            payload: Any
            try:
                kind, payload = self.serde.dumps_typed(value)
            except Exception:
                kind, payload = _RAW, value
            expiry = None if ttl is None else now + ttl
            encoded.append((tuple(ns), key, (kind, payload, expiry)))
        with self._lock:
            for ns, key, entry in encoded:
                self._cache.setdefault(ns, {})[key] = entry

    async def aset(self, pairs: Mapping[FullKey, tuple[ValueT, int | None]]) -> None:
        """Async ``set``."""
        self.set(pairs)

    def clear(self, namespaces: Sequence[Namespace] | None = None) -> None:
        """Delete the entries of ``namespaces`` (every entry when ``None``)."""
        with self._lock:
            if namespaces is None:
                self._cache.clear()
                return
            for ns in namespaces:
                self._cache.pop(tuple(ns), None)

    async def aclear(self, namespaces: Sequence[Namespace] | None = None) -> None:
        """Async ``clear``."""
        self.clear(namespaces)
