"""JSON in and out: compact orjson, with the objects graphs put in their state made plain.

``dumps`` turns LangChain messages and Pydantic models into their ``model_dump()``,
dataclasses (``Interrupt``, ``Send``) into dicts, exceptions into ``{"error", "message"}``,
sets into lists, and anything else into its ``str``. ``loads`` raises ``ValueError``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson

__all__ = ["dumps", "error_body", "loads", "plain"]

_OPTS = orjson.OPT_NON_STR_KEYS


def _default(obj: Any) -> Any:
    dump = getattr(obj, "model_dump", None)
    if dump is not None:
        return dump()
    if isinstance(obj, BaseException):
        return error_body(obj)
    if isinstance(obj, (set, frozenset)):
        return list(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    to_dict = getattr(obj, "_asdict", None)
    if to_dict is not None:
        return to_dict()
    return str(obj)


def dumps(obj: Any) -> bytes:
    """``obj`` as compact JSON bytes."""
    return orjson.dumps(obj, default=_default, option=_OPTS)


def loads(data: bytes | str) -> Any:
    """Parse JSON; raises ``ValueError`` (``orjson.JSONDecodeError``) on bad input."""
    return orjson.loads(data)


def plain(obj: Any) -> Any:
    """``obj`` as plain JSON-able Python values (a JSON round trip)."""
    return orjson.loads(dumps(obj))


def error_body(exc: BaseException) -> dict[str, str]:
    """The ``{"error", "message"}`` shape a failed run reports."""
    return {"error": type(exc).__name__, "message": str(exc)}
