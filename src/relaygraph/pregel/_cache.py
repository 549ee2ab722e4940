"""Node caching: the key a task is cached under, and clearing a graph's cached nodes.

A node with a ``CachePolicy`` in a graph compiled with ``cache=...`` is looked up before it
runs. The key's namespace names the node (``("__pregel_ns_writes", <function id>, <node>)``)
and its key is a digest of ``key_func(input)`` (by default a pickle of the input, with dicts
and lists frozen so equal inputs give equal keys). A hit supplies the task's writes; a miss
runs the node and stores its writes with the policy's ``ttl``.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Hashable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from relaygraph.cache.base import FullKey, Namespace
    from relaygraph.graph._node import NodeSpec

__all__ = [
    "CACHE_NS_WRITES",
    "aclear_cache",
    "cache_key",
    "clear_cache",
    "default_cache_key",
    "namespaces_for",
    "node_namespace",
]

CACHE_NS_WRITES = "__pregel_ns_writes"


def _freeze(obj: Any, depth: int = 10) -> Any:
    """A hashable stand-in for ``obj`` (mappings sorted by key) for the default key."""
    if depth <= 0 or isinstance(obj, Hashable):
        return obj
    if isinstance(obj, Mapping):
        return tuple(sorted(((k, _freeze(v, depth - 1)) for k, v in obj.items()), key=repr))
    if isinstance(obj, Sequence):
        return tuple(_freeze(x, depth - 1) for x in obj)
    if isinstance(obj, (set, frozenset)):
        return tuple(sorted((_freeze(x, depth - 1) for x in obj), key=repr))
    if hasattr(obj, "tobytes"):
        return (type(obj).__name__, obj.tobytes(), getattr(obj, "shape", None))
    return obj


def default_cache_key(*args: Any, **kwargs: Any) -> bytes:
    """The default ``CachePolicy.key_func``: a pickle of the (frozen) arguments."""
    return pickle.dumps((_freeze(args), _freeze(kwargs)), protocol=5, fix_imports=False)


def _identifier(node: NodeSpec) -> str:
    action = getattr(node.action, "__func__", node.action)
    module = getattr(action, "__module__", None)
    qualname = getattr(action, "__qualname__", None)
    if not module or not qualname or "<lambda>" in qualname:
        return "__dynamic__"
    return f"{module}.{qualname}"


def node_namespace(node: NodeSpec) -> Namespace:
    """The cache namespace holding ``node``'s entries."""
    return (CACHE_NS_WRITES, _identifier(node), node.name)


def cache_key(node: NodeSpec, input: Any) -> FullKey:
    """The cache key of running ``node`` on ``input`` under its ``cache_policy``."""
    key_func = getattr(node.cache_policy, "key_func", None) or default_cache_key
    raw = key_func(input)
    data = raw.encode() if isinstance(raw, str) else bytes(raw)
    return node_namespace(node), hashlib.blake2b(data, digest_size=16).hexdigest()


def namespaces_for(graph: Any, nodes: Sequence[str] | None) -> list[Namespace]:
    """The cache namespaces of ``nodes`` (all of the graph's nodes when ``None``)."""
    names = graph.nodes.keys() if nodes is None else nodes
    return [node_namespace(graph.nodes[n]) for n in names if n in graph.nodes]


def clear_cache(graph: Any, nodes: Sequence[str] | None = None) -> None:
    """Drop the cached writes of ``nodes`` (every node by default) from the graph's cache."""
    if not graph.cache:
        raise ValueError("No cache is set for this graph. Cannot clear cache.")
    graph.cache.clear(namespaces_for(graph, nodes))


async def aclear_cache(graph: Any, nodes: Sequence[str] | None = None) -> None:
    """Async ``clear_cache``."""
    if not graph.cache:
        raise ValueError("No cache is set for this graph. Cannot clear cache.")
    await graph.cache.aclear(namespaces_for(graph, nodes))
