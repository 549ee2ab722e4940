"""``EphemeralValue``: holds a write for exactly one step (edge triggers)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from relaygraph.channels.base import BaseChannel
from relaygraph.constants import MISSING


class EphemeralValue(BaseChannel):
    """Available in the step after it is written, then cleared."""

    __slots__ = ()

    def update(self, values: Sequence[Any]) -> bool:
        if not values:
            if self.value is MISSING:
                return False
            self.value = MISSING
            return True
        self.value = values[-1]
        return True
