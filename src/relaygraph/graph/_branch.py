"""Conditional edges: a routing function and an optional path map."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from relaygraph.constants import END
from relaygraph.errors import InvalidUpdateError, UnknownNodeError
from relaygraph.graph._node import injected_kwargs, is_async_callable
from relaygraph.types import Send


@dataclasses.dataclass(frozen=True)
class Branch:
    """``add_conditional_edges(source, path, path_map)``."""

    path: Callable[..., Any]
    path_map: dict[Hashable, str] | None
    is_async: bool
    kwargs: tuple[str, ...]

    @classmethod
    def make(cls, path: Callable[..., Any], path_map: Any) -> Branch:
        if isinstance(path_map, dict):
            mapping: dict[Hashable, str] | None = dict(path_map)
        elif isinstance(path_map, (list, tuple)):
            mapping = {name: name for name in path_map}
        elif path_map is None:
            mapping = None
        else:
            raise TypeError(f"path_map must be a dict or a list, got {type(path_map).__name__}")
        return cls(path, mapping, is_async_callable(path), injected_kwargs(path))

    def destinations(self) -> tuple[str, ...]:
        return tuple(self.path_map.values()) if self.path_map else ()

    def resolve(self, result: Any, nodes: Sequence[str] | set[str]) -> list[str | Send]:
        """Turn the routing function's result into node names and ``Send`` packets."""
        items = result if isinstance(result, (list, tuple)) else [result]
        out: list[str | Send] = []
        for item in items:
            if isinstance(item, Send):
                out.append(item)
                continue
            if self.path_map is not None:
                if item not in self.path_map:
                    raise InvalidUpdateError(
                        f"Branch returned {item!r}, which is not in its path_map "
                        f"{list(self.path_map)}"
                    )
                item = self.path_map[item]
            if item is None:
                raise InvalidUpdateError("Branch returned None; return END to stop")
            if item != END and item not in nodes:
                raise UnknownNodeError(f"Branch returned unknown node {item!r}")
            out.append(item)
        return out
