"""The channel interface the step algebra relies on."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from relaygraph.constants import MISSING
from relaygraph.errors import EmptyChannelError


def _copy(channel: BaseChannel) -> Any:
    cls = channel.__class__
    clone = cls.__new__(cls)
    for slot in _slots_of(cls):
        object.__setattr__(clone, slot, getattr(channel, slot))
    return clone


_SLOTS: dict[type, tuple[str, ...]] = {}


def _slots_of(cls: type) -> tuple[str, ...]:
    slots = _SLOTS.get(cls)
    if slots is None:
        slots = _SLOTS[cls] = tuple(
            s for c in cls.__mro__ for s in getattr(c, "__slots__", ()) if s != "value"
        )
    return slots


class BaseChannel(ABC):
    """One key of the state: receives a step's writes, holds a value, checkpoints it.

    Channels are mutable and owned by one run; ``from_checkpoint`` makes a fresh one.
    """

    __slots__ = ("key", "value")

    def __init__(self, key: str = "") -> None:
        self.key = key
        self.value: Any = MISSING

    @abstractmethod
    def update(self, values: Sequence[Any]) -> bool:
        """Apply one step's writes (``[]`` at a step with none); return whether it changed."""

    def get(self) -> Any:
        """The current value; raises ``EmptyChannelError`` when there is none."""
        if self.value is MISSING:
            raise EmptyChannelError(self.key)
        return self.value

    def is_available(self) -> bool:
        return self.value is not MISSING

    def consume(self) -> bool:
        """Called after a task triggered by this channel ran; return whether it changed."""
        return False

    def checkpoint(self) -> Any:
        """The value to store (``MISSING`` when empty)."""
        return self.value

    def new(self) -> BaseChannel:
        """An empty channel of the same kind and configuration."""
        clone = _copy(self)
        clone.value = MISSING
        clone._reset()
        return clone

    def _reset(self) -> None:  # noqa: B027 - optional hook, empty by default
        """Put a fresh clone into its empty state (subclasses with defaults override)."""

    def from_checkpoint(self, value: Any) -> BaseChannel:
        """A fresh channel holding a stored value."""
        clone = self.new()
        if value is not MISSING:
            clone.value = value
        return clone

    def copy(self) -> BaseChannel:
        return self.from_checkpoint(self.checkpoint())
