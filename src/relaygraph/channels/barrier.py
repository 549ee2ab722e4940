"""``NamedBarrierValue``: fires once every named upstream node has written (joins)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from relaygraph.channels.base import BaseChannel
from relaygraph.constants import MISSING


class NamedBarrierValue(BaseChannel):
    """Collects upstream names; available when all of ``names`` have arrived."""

    __slots__ = ("names",)

    def __init__(self, names: frozenset[str], key: str = "") -> None:
        super().__init__(key)
        self.names = names
        self.value = frozenset()

    def _reset(self) -> None:
        self.value = frozenset()

    def update(self, values: Sequence[Any]) -> bool:
        if not values:
            return False
        seen = self.value | frozenset(v for v in values if v in self.names)
        if seen == self.value:
            return False
        self.value = seen
        return True

    def is_available(self) -> bool:
        return bool(self.names) and self.value == self.names

    def get(self) -> Any:
        return None

    def consume(self) -> bool:
        if self.value == self.names:
            self.value = frozenset()
            return True
        return False

    def checkpoint(self) -> Any:
        return sorted(self.value) if self.value else MISSING

    def from_checkpoint(self, value: Any) -> BaseChannel:
        clone = self.new()
        if value is not MISSING:
            clone.value = frozenset(value)
        return clone
