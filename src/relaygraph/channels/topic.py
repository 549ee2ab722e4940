"""``Topic``: a per-step queue of packets (the ``Send`` tasks of the next step)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from relaygraph.channels.base import BaseChannel
from relaygraph.constants import MISSING


class Topic(BaseChannel):
    """Holds the values written in the last step, in write order; cleared each step."""

    __slots__ = ()

    def __init__(self, key: str = "") -> None:
        super().__init__(key)
        self.value = []

    def _reset(self) -> None:
        self.value = []

    def update(self, values: Sequence[Any]) -> bool:
        had = bool(self.value)
        self.value = list(values)
        return had or bool(values)

    def is_available(self) -> bool:
        return bool(self.value)

    def checkpoint(self) -> Any:
        return list(self.value) if self.value else MISSING

    def from_checkpoint(self, value: Any) -> BaseChannel:
        clone = self.new()
        if value is not MISSING:
            clone.value = list(value)
        return clone
