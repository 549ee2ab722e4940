"""Node caches: ``BaseCache`` (the interface) and ``InMemoryCache`` (in ``cache.memory``).

A cache stores a node's writes, keyed by the node and its input, so that a later run with
the same input skips the node: ``add_node(..., cache_policy=CachePolicy())`` plus
``compile(cache=InMemoryCache())``.
"""

from __future__ import annotations

from relaygraph.cache.base import BaseCache, FullKey, Namespace

__all__ = ["BaseCache", "FullKey", "Namespace"]
