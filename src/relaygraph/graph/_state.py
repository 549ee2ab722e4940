"""State schemas: turn a TypedDict, dataclass or Pydantic model into channels, and back.

Pure functions, no I/O. A schema's fields become channels (``Annotated[T, reducer]`` makes
a ``BinaryOperatorAggregate``, anything else a ``LastValue``); node inputs are built from
channel values; node outputs are turned into ``(key, value)`` writes.
"""

from __future__ import annotations

import dataclasses
import sys
import typing
from collections.abc import Callable, Mapping
from typing import Annotated, Any, get_args, get_origin, get_type_hints

from typing_extensions import is_typeddict

from relaygraph.channels import BaseChannel, BinaryOperatorAggregate, LastValue
from relaygraph.errors import ErrorCode, GraphSetupError, InvalidUpdateError, create_error_message

__all__ = [
    "SchemaInfo",
    "channels_for_schema",
    "schema_info",
    "update_as_items",
]


@dataclasses.dataclass(frozen=True)
class SchemaInfo:
    """What the engine needs to know about one schema."""

    schema: Any
    keys: tuple[str, ...]
    kind: str  # "typeddict" | "dataclass" | "pydantic" | "dict" | "other"

    def build(self, values: Mapping[str, Any]) -> Any:
        """Make the object a node receives from channel values."""
        if self.kind in ("typeddict", "dict", "other"):
            return values
        try:
            return self.schema(**values)
        except Exception as exc:
            raise InvalidUpdateError(f"Invalid state for {self.schema.__name__}: {exc}") from exc


def _is_pydantic(schema: Any) -> bool:
    mod = sys.modules.get("pydantic")
    return bool(mod) and isinstance(schema, type) and issubclass(schema, mod.BaseModel)  # type: ignore[union-attr]


def _hints(schema: Any) -> dict[str, Any]:
    try:
        return get_type_hints(schema, include_extras=True)
    except Exception:
        return dict(getattr(schema, "__annotations__", {}))


def _fields(schema: Any) -> tuple[str, dict[str, Any]]:
    if schema is None or schema is dict:
        return "dict", {}
    if _is_pydantic(schema):
        hints = _hints(schema)
        return "pydantic", {name: hints.get(name, Any) for name in schema.model_fields}
    if dataclasses.is_dataclass(schema) and isinstance(schema, type):
        hints = _hints(schema)
        return "dataclass", {f.name: hints.get(f.name, Any) for f in dataclasses.fields(schema)}
    if is_typeddict(schema) or isinstance(schema, type):
        return ("typeddict" if is_typeddict(schema) else "other"), _hints(schema)
    raise GraphSetupError(f"Unsupported state schema: {schema!r}")


def schema_info(schema: Any) -> SchemaInfo:
    kind, fields = _fields(schema)
    return SchemaInfo(schema=schema, keys=tuple(fields), kind=kind)


def _reducer_of(annotation: Any) -> tuple[Any, Callable[[Any, Any], Any] | None]:
    """Split ``Annotated[T, reducer]`` into ``(T, reducer)``; the last callable wins."""
    if get_origin(annotation) is Annotated:
        base, *meta = get_args(annotation)
        for m in reversed(meta):
            if callable(m):
                _check_reducer(m)
                return base, m
        return base, None
    return annotation, None


def _check_reducer(fn: Callable[..., Any]) -> None:
    import inspect

    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return
    positional = [
        p
        for p in sig.parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    has_var = any(p.kind is p.VAR_POSITIONAL for p in sig.parameters.values())
    if len(positional) > 2 or (len(positional) < 2 and not has_var and len(sig.parameters) < 2):
        raise GraphSetupError(
            f"Reducer {getattr(fn, '__name__', fn)!r} must take two positional arguments "
            "(current, update)"
        )


def channels_for_schema(schema: Any) -> dict[str, BaseChannel]:
    """One channel per field of ``schema``, in declaration order."""
    _, fields = _fields(schema)
    channels: dict[str, BaseChannel] = {}
    for key, annotation in fields.items():
        if get_origin(annotation) is typing.ClassVar:
            continue
        typ, reducer = _reducer_of(annotation)
        channels[key] = BinaryOperatorAggregate(typ, reducer, key) if reducer else LastValue(key)
    return channels


def update_as_items(update: Any) -> list[tuple[str, Any]]:
    """A node's (or a Command's) update as ordered ``(key, value)`` pairs.

    Accepts a mapping, a dataclass or Pydantic instance, a list of ``(key, value)``
    pairs, or ``None``.
    """
    if update is None:
        return []
    if isinstance(update, Mapping):
        return list(update.items())
    if dataclasses.is_dataclass(update) and not isinstance(update, type):
        return [(f.name, getattr(update, f.name)) for f in dataclasses.fields(update)]
    if _is_pydantic(type(update)):
        data = update.__dict__
        return [(k, data[k]) for k in type(update).model_fields if k in data]
    if isinstance(update, (list, tuple)) and all(
        isinstance(i, tuple) and len(i) == 2 and isinstance(i[0], str) for i in update
    ):
        return list(update)
    raise InvalidUpdateError(
        create_error_message(
            message=f"Expected dict, got {update}",
            error_code=ErrorCode.INVALID_GRAPH_NODE_RETURN_VALUE,
        )
    )
