"""Request bodies checked against the OpenAPI document's schemas, with jsonschema-style messages.

A small validator for the keywords the document uses (``type``, ``enum``, ``anyOf``,
``oneOf``, ``$ref``, ``properties``, ``required``, ``items``, bounds, ``format: uuid``).
The first failure becomes a 422 whose text names the field, as the reference server words it:

    "ten" is not of type "integer"

    Failed validating "type" in schema["components"]["schemas"]["ThreadSearchRequest"]["properties"]["limit"]

    On instance["limit"]:
        "ten"
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterator
from importlib import resources
from typing import Any

from relaygraph.server import _json
from relaygraph.server._errors import HTTPError

__all__ = ["OpenAPI", "load_openapi"]

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_TYPES: dict[str, Any] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


class _Failure(Exception):
    def __init__(
        self, message: str, keyword: str, schema_path: list[Any], path: list[Any], value: Any
    ):
        super().__init__(message)
        self.message, self.keyword = message, keyword
        self.schema_path, self.path, self.value = schema_path, path, value


def _show(value: Any) -> str:
    return _json.dumps(value).decode()


def _index(parts: list[Any]) -> str:
    return "".join(f"[{_show(p)}]" for p in parts)


class OpenAPI:
    """The served OpenAPI document and a validator over its ``components.schemas``."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.schemas: dict[str, Any] = document["components"]["schemas"]

    @functools.cached_property
    def body(self) -> bytes:
        return _json.dumps(self.document)

    def validate(self, value: Any, name: str) -> None:
        """Raise a 422 ``HTTPError`` unless ``value`` matches schema ``name``."""
        base = ["components", "schemas", name]
        try:
            self._check(value, self.schemas[name], base, [])
        except _Failure as f:
            raise HTTPError(
                422,
                f"{f.message}\n\nFailed validating {_show(f.keyword)} in schema{_index(f.schema_path)}"
                f"\n\nOn instance{_index(f.path)}:\n    {_show(f.value)}",
            ) from None

    def _resolve(self, ref: str) -> tuple[Any, list[Any]]:
        parts = ref.lstrip("#/").split("/")
        node: Any = self.document
        for p in parts:
            node = node[p]
        return node, parts

    def _ok(self, value: Any, schema: Any, spath: list[Any], path: list[Any]) -> bool:
        try:
            self._check(value, schema, spath, path)
        except _Failure:
            return False
        return True

    def _check(self, value: Any, schema: Any, spath: list[Any], path: list[Any]) -> None:
        if not isinstance(schema, dict):
            return
        if "$ref" in schema:
            target, tpath = self._resolve(schema["$ref"])
            self._check(value, target, tpath, path)
        types = schema.get("type")
        if types is not None:
            names = types if isinstance(types, list) else [types]
            if not any(_TYPES[t](value) for t in names if t in _TYPES):
                shown = ", ".join(_show(t) for t in names)
                raise _Failure(f"{_show(value)} is not of type {shown}", "type", spath, path, value)
        if "enum" in schema and value not in schema["enum"]:
            raise _Failure(
                f"{_show(value)} is not one of {_candidates(schema['enum'])}",
                "enum",
                spath,
                path,
                value,
            )
        for key in ("anyOf", "oneOf"):
            options = schema.get(key)
            if options is None:
                continue
            hits = sum(self._ok(value, o, [*spath, key, i], path) for i, o in enumerate(options))
            if hits == 0 or (key == "oneOf" and hits > 1):
                how = "any" if hits == 0 else "exactly one"
                raise _Failure(
                    f"{_show(value)} is not valid under {how} of the schemas listed in the {key!r} keyword",
                    key,
                    spath,
                    path,
                    value,
                )
        yield_failures = list(self._bounds(value, schema, spath, path))
        if yield_failures:
            raise yield_failures[0]
        if isinstance(value, dict):
            for name in schema.get("required", ()):
                if name not in value:
                    raise _Failure(
                        f"{_show(name)} is a required property", "required", spath, path, value
                    )
            for name, sub in (schema.get("properties") or {}).items():
                if name in value:
                    self._check(value[name], sub, [*spath, "properties", name], [*path, name])
        elif isinstance(value, list) and isinstance(schema.get("items"), dict):
            for i, item in enumerate(value):
                self._check(item, schema["items"], [*spath, "items"], [*path, i])

    def _bounds(
        self, value: Any, schema: dict[str, Any], spath: list[Any], path: list[Any]
    ) -> Iterator[_Failure]:
        if _TYPES["number"](value):
            minimum, maximum = schema.get("minimum"), schema.get("maximum")
            if _is_int64_field(value, schema):
                minimum = _INT64_MIN if minimum is None else minimum
                maximum = _INT64_MAX if maximum is None else maximum
            if minimum is not None and value < minimum:
                yield _Failure(
                    f"{_show(value)} is less than the minimum of {minimum}",
                    "minimum",
                    spath,
                    path,
                    value,
                )
            if maximum is not None and value > maximum:
                yield _Failure(
                    f"{_show(value)} is greater than the maximum of {maximum}",
                    "maximum",
                    spath,
                    path,
                    value,
                )
        elif isinstance(value, str):
            if "maxLength" in schema and len(value) > schema["maxLength"]:
                yield _Failure(f"{_show(value)} is too long", "maxLength", spath, path, value)
            if "minLength" in schema and len(value) < schema["minLength"]:
                yield _Failure(f"{_show(value)} is too short", "minLength", spath, path, value)
            if schema.get("format") == "uuid" and not _is_uuid(value):
                yield _Failure(
                    f"{_show(value)} is not a {_show('uuid')}", "format", spath, path, value
                )
        elif isinstance(value, list) and "minItems" in schema and len(value) < schema["minItems"]:
            yield _Failure(f"{_show(value)} should be non-empty", "minItems", spath, path, value)


def _is_int64_field(value: Any, schema: dict[str, Any]) -> bool:
    """Whether ``value`` fills an ``integer`` field: one the databases store as a signed
    64-bit integer (a limit, an offset, a version), so bounded to that range."""
    return _TYPES["integer"](value) and schema.get("type") == "integer"


def _candidates(options: list[Any]) -> str:
    shown = [_show(o) for o in options]
    if len(shown) <= 3:
        return ", ".join(shown[:-1]) + (" or " if len(shown) > 1 else "") + shown[-1]
    return f"{shown[0]}, {shown[1]} or {len(shown) - 2} other candidates"


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def load_openapi(graph_ids: list[str]) -> OpenAPI:
    """The packaged OpenAPI document, with each ``graph_id`` enum set to the loaded graphs."""
    text = resources.files("relaygraph.server").joinpath("openapi.json").read_bytes()
    document = _json.loads(text)
    for schema in document["components"]["schemas"].values():
        graph = (schema.get("properties") or {}).get("graph_id")
        if isinstance(graph, dict) and "enum" in graph:
            graph["enum"] = list(graph_ids)
    return OpenAPI(document)
