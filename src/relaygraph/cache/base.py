"""``BaseCache``: the interface the engine uses to look up and store a node's writes.

Keys are ``(namespace, key)`` pairs (``FullKey``): the namespace names the node, the key
digests its input. Values are stored with an optional time to live in seconds.
"""

from __future__ import annotations

import pickle
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, Generic, Protocol, TypeVar

ValueT = TypeVar("ValueT")
Namespace = tuple[str, ...]
FullKey = tuple[Namespace, str]

__all__ = ["BaseCache", "FullKey", "Namespace", "PickleSerializer", "SerializerProtocol"]


class SerializerProtocol(Protocol):
    """What a cache uses to turn values into bytes and back (a checkpoint serde fits)."""

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]: ...

    def loads_typed(self, data: tuple[str, bytes]) -> Any: ...


class PickleSerializer:
    """The default serializer: pickle (protocol 5).

    Storing bytes means a cached value is a copy: mutating what a node returned, or what a
    cache hit handed out, never changes the cached entry.
    """

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        return "pickle", pickle.dumps(obj, protocol=5)

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        return pickle.loads(data[1])


class BaseCache(ABC, Generic[ValueT]):
    """A key-value cache for node writes, with sync and async faces.

    Subclasses implement ``get``/``set``/``clear`` and their ``a``-prefixed async twins.
    ``serde`` turns values into bytes for caches that store them.
    """

    serde: SerializerProtocol = PickleSerializer()

    def __init__(self, *, serde: SerializerProtocol | None = None) -> None:
        self.serde = serde or self.serde

    @abstractmethod
    def get(self, keys: Sequence[FullKey]) -> dict[FullKey, ValueT]:
        """The cached values for those of ``keys`` that are present and not expired."""

    @abstractmethod
    async def aget(self, keys: Sequence[FullKey]) -> dict[FullKey, ValueT]:
        """Async ``get``."""

    @abstractmethod
    def set(self, pairs: Mapping[FullKey, tuple[ValueT, int | None]]) -> None:
        """Store each ``key: (value, ttl_seconds)``; a ``None`` ttl never expires."""

    @abstractmethod
    async def aset(self, pairs: Mapping[FullKey, tuple[ValueT, int | None]]) -> None:
        """Async ``set``."""

    @abstractmethod
    def clear(self, namespaces: Sequence[Namespace] | None = None) -> None:
        """Delete the entries of ``namespaces`` (every entry when ``None``)."""

    @abstractmethod
    async def aclear(self, namespaces: Sequence[Namespace] | None = None) -> None:
        """Async ``clear``."""
