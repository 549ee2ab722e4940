"""JSON in and out: orjson when it is installed (compact and fast), else the standard library.

``dumps`` also takes what graph inputs commonly hold: Pydantic models (LangChain messages),
dataclasses, sets, ``datetime``/``UUID``, and objects with a ``to_json``/``dict`` method.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

__all__ = ["dumps", "loads"]


def _default(obj: Any) -> Any:
    dump = getattr(obj, "model_dump", None)
    if callable(dump) and not isinstance(obj, type):
        return dump()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    if isinstance(obj, bytes):
        return obj.decode("utf-8", "replace")
    iso = getattr(obj, "isoformat", None)
    if callable(iso):
        return iso()
    for name in ("to_json", "dict"):
        method = getattr(obj, name, None)
        if callable(method) and not isinstance(obj, type):
            return method()
    if type(obj).__name__ == "UUID":
        return str(obj)
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


loads: Callable[[bytes | str], Any]
dumps: Callable[[Any], bytes]

try:
    import orjson

    _OPTS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY

    def dumps(obj: Any) -> bytes:
        """Serialize ``obj`` to compact JSON bytes."""
        return orjson.dumps(obj, default=_default, option=_OPTS)

    loads = orjson.loads

except ImportError:  # pragma: no cover - exercised only without orjson

    def dumps(obj: Any) -> bytes:
        """Serialize ``obj`` to compact JSON bytes."""
        return json.dumps(obj, default=_default, separators=(",", ":"), ensure_ascii=False).encode()

    loads = json.loads
