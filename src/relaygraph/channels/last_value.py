"""``LastValue``: a plain state key that takes at most one write per step."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from relaygraph.channels.base import BaseChannel
from relaygraph.errors import ErrorCode, InvalidUpdateError, create_error_message


class LastValue(BaseChannel):
    """Holds the last value written; two writes in one step is an error."""

    __slots__ = ()

    def update(self, values: Sequence[Any]) -> bool:
        if not values:
            return False
        if len(values) != 1:
            raise InvalidUpdateError(
                create_error_message(
                    message=f"At key '{self.key}': Can receive only one value per step. "
                    "Use an Annotated key to handle multiple values.",
                    error_code=ErrorCode.INVALID_CONCURRENT_GRAPH_UPDATE,
                )
            )
        self.value = values[-1]
        return True
