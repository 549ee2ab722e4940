"""``Emitter``: routes one run's events to the consumers that asked for them.

A run has up to two consumers: its own caller (``stream()`` modes, or nothing for
``invoke()``), and, for a subgraph, the root stream when it was opened with
``subgraphs=True``. Events carry the run's namespace relative to each consumer's root.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

NS = tuple[str, ...]


class Target:
    """One consumer: the modes it wants, where to put events, and its root's depth."""

    __slots__ = ("channel", "depth", "modes", "put", "subgraphs")

    def __init__(
        self,
        modes: frozenset[str],
        put: Callable[[Any], None],
        subgraphs: bool,
        depth: int = 0,
        channel: Any = None,
    ) -> None:
        self.modes = modes
        self.put = put
        self.subgraphs = subgraphs
        self.depth = depth
        self.channel = channel


class Emitter:
    """Sends ``(ns, mode, payload)`` events of one run to its targets."""

    __slots__ = ("_routes", "modes", "ns", "targets")

    def __init__(self, ns: NS, targets: list[Target]) -> None:
        self.ns = ns
        self.targets = targets
        # mode -> [(put, namespace relative to that consumer's root, its channel or None)]
        routes: dict[str, list[tuple[Callable[[Any], None], NS, Any]]] = {}
        for t in targets:
            if len(ns) > t.depth and not t.subgraphs:
                continue
            rel = ns[t.depth :]
            for mode in t.modes:
                routes.setdefault(mode, []).append((t.put, rel, t.channel))
        self._routes = routes
        self.modes = frozenset(routes)

    def emit(self, mode: str, payload: Any) -> None:
        for put, ns, _ in self._routes.get(mode, ()):
            put((ns, mode, payload))

    def writer(self, mode: str = "custom") -> Callable[[Any], None]:
        """A one-argument function emitting ``mode`` events (a no-op when nobody listens)."""
        routes = self._routes.get(mode)
        if not routes:
            return _noop
        if len(routes) == 1:
            put, ns, channel = routes[0]
            if channel is not None:
                return channel.writer(ns, mode)  # type: ignore[no-any-return]

            def write(chunk: Any) -> None:
                put((ns, mode, chunk))

            return write

        def write_all(chunk: Any) -> None:
            for put, ns, _ in routes:
                put((ns, mode, chunk))

        return write_all

    def inherited_targets(self) -> list[Target]:
        """Targets a subgraph run inherits: consumers that asked for subgraph events."""
        return [t for t in self.targets if t.subgraphs]


def _noop(chunk: Any) -> None:
    return None
