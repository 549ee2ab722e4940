"""``BinaryOperatorAggregate``: a key with a reducer, ``Annotated[list, operator.add]``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, get_origin

from relaygraph.channels.base import BaseChannel
from relaygraph.constants import MISSING


def _default_for(typ: Any) -> Any:
    """``typ()`` for concrete collection/number types, so reducer keys start out present."""
    origin = get_origin(typ) or typ
    if origin in (list, dict, set, tuple, int, float, str, frozenset):
        return origin()
    if isinstance(origin, type):
        try:
            return origin()
        except Exception:
            return MISSING
    return MISSING


class BinaryOperatorAggregate(BaseChannel):
    """Folds every write into the value with ``reducer(current, update)``."""

    __slots__ = ("reducer", "typ")

    def __init__(self, typ: Any, reducer: Callable[[Any, Any], Any], key: str = "") -> None:
        super().__init__(key)
        self.typ = typ
        self.reducer = reducer
        self.value = _default_for(typ)

    def _reset(self) -> None:
        self.value = _default_for(self.typ)

    def update(self, values: Sequence[Any]) -> bool:
        if not values:
            return False
        it = iter(values)
        if self.value is MISSING:
            self.value = next(it)
        reducer = self.reducer
        value = self.value
        for v in it:
            value = reducer(value, v)
        self.value = value
        return True
