"""``JsonPlusSerializer``: checkpoint values as tagged JSON, no pickle unless asked for.

Plain JSON values (``None``, bools, 64-bit ints, finite floats, strings, lists, dicts with
string keys) are stored as themselves, so a stored blob stays readable JSON. Everything else
becomes a tagged object ``{"__rg__": tag, ...}``:

====================  ==========================================================
tag                   values
====================  ==========================================================
``tuple`` ``set``     tuples, sets, frozensets (``frozenset``), named tuples (``ntuple``)
``dict``              dicts with non-string keys, or a user key named ``__rg__``
``bytes`` ``int``     bytes/bytearray (base64), ints beyond 64 bits, NaN/±inf (``float``)
``datetime`` ...      datetimes, dates, times, timedeltas, UUIDs, Decimals
``enum``              enum members (class path + value)
``dc`` ``model``      dataclasses and Pydantic v2 models (incl. LangChain messages):
                      class path + field values, rebuilt without running validators
``send`` ...          relaygraph's ``Send``, ``Interrupt``, ``Command``
``exc``               exceptions: type and repr (builtins come back as themselves,
                      others as :class:`StoredException`)
``pickle``            anything else, only with ``pickle_fallback=True``
====================  ==========================================================

A value it cannot encode raises :class:`CheckpointSerializationError` naming the channel and
the type. Decoding imports the classes named in the data (never runs pickle unless the
serializer was built with ``pickle_fallback=True``).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import decimal
import enum
import importlib
import json
import math
import uuid
from collections.abc import Callable
from typing import Any

from relaygraph.errors import RelayGraphError
from relaygraph.types import Command, Interrupt, Send

try:  # orjson is an optional accelerator; the output is the same JSON either way
    import orjson

    _fast_dumps: Callable[[Any], bytes] | None = orjson.dumps
except ImportError:  # pragma: no cover - exercised only without orjson
    _fast_dumps = None

__all__ = [
    "CheckpointSerializationError",
    "JsonPlusSerializer",
    "StoredException",
]

TAG = "__rg__"
_TAG_BYTES = TAG.encode()
_decode_untagged = json.JSONDecoder().raw_decode
"""``(value, end)`` of the JSON text at the start of a string, as ``json.loads`` reads it."""
_MAX_INT = 2**63 - 1
_FLAT = frozenset({str, int, bool, type(None)})
"""Leaf types stored as themselves (not float: NaN/inf need a tag, so floats are checked)."""
_STR = frozenset({str})
_MANY = 16
"""Containers longer than this are first scanned at C speed in :func:`_plain`."""
_isfinite = math.isfinite


class CheckpointSerializationError(RelayGraphError, TypeError):
    """A value could not be serialized for a checkpoint."""


class StoredException(Exception):
    """An exception read back from a checkpoint whose type is not rebuilt; repr as stored."""

    def __init__(self, type_name: str, text: str) -> None:
        super().__init__(text)
        self.type_name = type_name
        self.text = text

    def __repr__(self) -> str:
        return self.text


class _Unsupported(Exception):
    def __init__(self, obj: Any) -> None:
        super().__init__(obj)
        self.obj = obj


def _path(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _import(path: str) -> Any:
    module, _, qualname = path.partition(":")
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


class JsonPlusSerializer:
    """Encodes checkpoint values as UTF-8 tagged JSON bytes and back.

    ``pickle_fallback=True`` stores values of unknown types with pickle (base64 inside the
    JSON); off by default, since unpickling runs code chosen by whoever wrote the database.
    """

    def __init__(self, *, pickle_fallback: bool = False) -> None:
        self.pickle_fallback = pickle_fallback

    # == public API ======================================================================
    def dumps(self, obj: Any, *, channel: str | None = None) -> bytes:
        """``obj`` as tagged JSON bytes; ``channel`` names it in errors."""
        if _fast_dumps is not None and _plain(obj):  # nothing to tag: no copy of the tree
            try:
                return _fast_dumps(obj)
            except TypeError:  # ints beyond 64 bits, lone surrogates: json handles both
                pass
        try:
            tree = self.encode(obj)
        except _Unsupported as e:
            raise self._error(e.obj, channel) from None
        if _fast_dumps is not None:
            try:
                return _fast_dumps(tree)
            except TypeError:  # ints beyond 64 bits, lone surrogates: json handles both
                pass
        return json.dumps(tree, separators=(",", ":")).encode()

    @staticmethod
    def _error(obj: Any, channel: str | None) -> CheckpointSerializationError:
        where = f" in channel {channel!r}" if channel is not None else ""
        return CheckpointSerializationError(
            f"Cannot serialize a value of type {type(obj).__module__}."
            f"{type(obj).__qualname__}{where}: {_short_repr(obj)}. Store plain data, "
            "or build the saver with JsonPlusSerializer(pickle_fallback=True)."
        )

    def loads(self, data: bytes | bytearray | memoryview | str) -> Any:
        """The value ``dumps`` encoded.

        Text without the tag's name holds no tagged object (neither JSON encoder escapes
        ASCII letters or ``_``), so it is decoded without the tag hook, a Python call per
        object. (Not with orjson: it reads ints beyond 64 bits, which earlier versions stored
        untagged inside lists and dicts, as floats.) Anything the plain decoder refuses, such
        as a byte order mark, takes the hook path and its errors.
        """
        if isinstance(data, memoryview):
            data = bytes(data)
        try:
            if isinstance(data, str):
                if TAG not in data:
                    value, end = _decode_untagged(data)
                    if end == len(data):
                        return value
            elif _TAG_BYTES not in data:
                text = data.decode()
                value, end = _decode_untagged(text)
                if end == len(text):
                    return value
        except ValueError:  # UnicodeDecodeError too
            pass
        return json.loads(data, object_hook=self._hook)

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        """LangGraph's serializer protocol: ``(type, bytes)``."""
        return "json+", self.dumps(obj)

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        return self.loads(data[1])

    # == encoding ========================================================================
    def encode(self, o: Any) -> Any:
        """``o`` as a tree of JSON-native values (tagged dicts for everything else)."""
        t = type(o)
        if t is str or o is None or t is bool:
            return o
        if t is int:
            return o if -_MAX_INT <= o <= _MAX_INT else {TAG: "int", "v": str(o)}
        if t is float:
            return o if math.isfinite(o) else {TAG: "float", "v": repr(o)}
        if t is list:
            if _FLAT.issuperset(map(type, o)):  # C-speed scan: nothing to tag below
                return o
            enc = self.encode
            return [enc(x) for x in o]
        if t is dict:
            if TAG not in o and _STR.issuperset(map(type, o)):
                if _FLAT.issuperset(map(type, o.values())):
                    return o
                enc = self.encode
                return {k: enc(v) for k, v in o.items()}
            enc = self.encode
            return {TAG: "dict", "v": [[enc(k), enc(v)] for k, v in o.items()]}
        handler = _ENCODERS.get(t)
        if handler is not None:
            return handler(self, o)
        return self._encode_other(o)

    def _encode_other(self, o: Any) -> Any:
        enc = self.encode
        if isinstance(o, enum.Enum):
            return {TAG: "enum", "cls": _path(type(o)), "v": enc(o.value)}
        if _is_pydantic(o):
            fields = dict(o.__dict__)
            extra = getattr(o, "__pydantic_extra__", None)
            if extra:
                fields.update(extra)
            return {
                TAG: "model",
                "cls": _path(type(o)),
                "v": {k: enc(v) for k, v in fields.items()},
                "set": sorted(o.model_fields_set),
            }
        if dataclasses.is_dataclass(o) and not isinstance(o, type):
            values = {f.name: enc(getattr(o, f.name)) for f in dataclasses.fields(o)}
            return {TAG: "dc", "cls": _path(type(o)), "v": values}
        if isinstance(o, tuple) and hasattr(o, "_fields"):
            return {TAG: "ntuple", "cls": _path(type(o)), "v": [enc(x) for x in o]}
        if isinstance(o, BaseException):
            return _encode_exc(self, o)
        for base, convert in _BASES:
            if isinstance(o, base):  # a subclass of a supported type: stored as its base
                return enc(convert(o))
        if self.pickle_fallback:
            import pickle

            return {TAG: "pickle", "v": base64.b64encode(pickle.dumps(o)).decode()}
        raise _Unsupported(o)

    # == decoding ========================================================================
    def _hook(self, d: dict[str, Any]) -> Any:
        tag = d.get(TAG)
        if tag is None:
            return d
        decoder = _DECODERS.get(tag)
        if decoder is None:
            if tag == "pickle" and self.pickle_fallback:
                import pickle

                return pickle.loads(base64.b64decode(d["v"]))  # opted in
            raise CheckpointSerializationError(f"Unknown checkpoint value tag {tag!r}")
        return decoder(d)


def _plain(o: Any) -> bool:
    """Whether ``o`` needs no tag: dicts with string keys (no ``__rg__``), lists, strings,
    ints, bools, ``None`` and finite floats only. (orjson refuses ints beyond 64 bits, and
    ``dumps`` then takes the ``encode`` path, which tags them.)

    A plain loop over each container, which beats a C-speed scan (``issuperset`` over the
    types) on the few items of a checkpoint document; long containers of leaves get the scan.
    """
    t = type(o)
    if t is dict:
        if TAG in o:
            return False
        for k in o:
            if type(k) is not str:
                return False
        items: Any = o.values()
    elif t is list:
        items = o
    elif t is float:
        return _isfinite(o)
    else:
        return t in _FLAT
    if len(items) > _MANY and _FLAT.issuperset(map(type, items)):
        return True
    for v in items:
        t = type(v)
        if t in _FLAT:
            continue
        if t is float:
            if not _isfinite(v):
                return False
        elif (t is not dict and t is not list) or not _plain(v):
            return False
    return True


def _short_repr(o: Any) -> str:
    try:
        text = repr(o)
    except Exception:
        text = object.__repr__(o)
    return text if len(text) <= 80 else text[:77] + "..."


def _is_pydantic(o: Any) -> bool:
    return hasattr(type(o), "model_construct") and hasattr(o, "model_fields_set")


def _encode_exc(s: JsonPlusSerializer, e: BaseException) -> dict[str, Any]:
    try:
        args: Any = s.encode(list(e.args))
    except _Unsupported:
        args = None
    return {TAG: "exc", "cls": _path(type(e)), "repr": repr(e), "args": args}


def _decode_exc(d: dict[str, Any]) -> BaseException:
    module, _, name = d["cls"].partition(":")
    if module == "builtins" and d.get("args") is not None:
        cls = getattr(__import__("builtins"), name, None)
        if isinstance(cls, type) and issubclass(cls, BaseException):
            try:
                return cls(*d["args"])
            except Exception:
                pass
    return StoredException(name, d["repr"])


def _decode_model(d: dict[str, Any]) -> Any:
    cls = _import(d["cls"])
    return cls.model_construct(_fields_set=set(d["set"]), **d["v"])


def _decode_dataclass(d: dict[str, Any]) -> Any:
    cls = _import(d["cls"])
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise CheckpointSerializationError(f"{d['cls']} is not a dataclass")
    values = d["v"]
    fields = {f.name: f for f in dataclasses.fields(cls)}
    obj = cls(**{k: v for k, v in values.items() if k in fields and fields[k].init})
    for k, v in values.items():
        if k in fields and not fields[k].init:
            object.__setattr__(obj, k, v)
    return obj


def _decode_enum(d: dict[str, Any]) -> Any:
    cls = _import(d["cls"])
    if not (isinstance(cls, type) and issubclass(cls, enum.Enum)):
        raise CheckpointSerializationError(f"{d['cls']} is not an Enum")
    return cls(d["v"])


def _decode_ntuple(d: dict[str, Any]) -> Any:
    cls = _import(d["cls"])
    if not (isinstance(cls, type) and issubclass(cls, tuple)):
        raise CheckpointSerializationError(f"{d['cls']} is not a tuple type")
    return cls(*d["v"])


def _decode_float(d: dict[str, Any]) -> float:
    return float(d["v"])


_ENCODERS: dict[type, Callable[[JsonPlusSerializer, Any], Any]] = {
    tuple: lambda s, o: {TAG: "tuple", "v": [s.encode(x) for x in o]},
    set: lambda s, o: {TAG: "set", "v": [s.encode(x) for x in o]},
    frozenset: lambda s, o: {TAG: "frozenset", "v": [s.encode(x) for x in o]},
    bytes: lambda s, o: {TAG: "bytes", "v": base64.b64encode(o).decode()},
    bytearray: lambda s, o: {TAG: "bytearray", "v": base64.b64encode(o).decode()},
    dt.datetime: lambda s, o: {TAG: "datetime", "v": o.isoformat()},
    dt.date: lambda s, o: {TAG: "date", "v": o.isoformat()},
    dt.time: lambda s, o: {TAG: "time", "v": o.isoformat()},
    dt.timedelta: lambda s, o: {TAG: "timedelta", "v": [o.days, o.seconds, o.microseconds]},
    uuid.UUID: lambda s, o: {TAG: "uuid", "v": str(o)},
    decimal.Decimal: lambda s, o: {TAG: "decimal", "v": str(o)},
    Send: lambda s, o: {TAG: "send", "node": o.node, "arg": s.encode(o.arg)},
    Interrupt: lambda s, o: {
        TAG: "interrupt",
        "value": s.encode(o.value),
        "id": o.id,
        "schema": s.encode(o.response_schema),
    },
    Command: lambda s, o: {
        TAG: "command",
        "graph": o.graph,
        "update": s.encode(o.update),
        "resume": s.encode(o.resume),
        "goto": s.encode(o.goto),
    },
}

_BASES: tuple[tuple[type, Callable[[Any], Any]], ...] = (
    (dict, dict),
    (list, list),
    (tuple, tuple),
    (str, str.__str__),
    (int, int.__int__),
    (float, float.__float__),
    (set, set),
    (frozenset, frozenset),
    (bytes, bytes),
    (dt.datetime, lambda o: dt.datetime.fromisoformat(o.isoformat())),
)

_DECODERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "tuple": lambda d: tuple(d["v"]),
    "set": lambda d: set(d["v"]),
    "frozenset": lambda d: frozenset(d["v"]),
    "dict": lambda d: {k: v for k, v in d["v"]},
    "bytes": lambda d: base64.b64decode(d["v"]),
    "bytearray": lambda d: bytearray(base64.b64decode(d["v"])),
    "int": lambda d: int(d["v"]),
    "float": _decode_float,
    "datetime": lambda d: dt.datetime.fromisoformat(d["v"]),
    "date": lambda d: dt.date.fromisoformat(d["v"]),
    "time": lambda d: dt.time.fromisoformat(d["v"]),
    "timedelta": lambda d: dt.timedelta(*d["v"]),
    "uuid": lambda d: uuid.UUID(d["v"]),
    "decimal": lambda d: decimal.Decimal(d["v"]),
    "enum": _decode_enum,
    "model": _decode_model,
    "dc": _decode_dataclass,
    "ntuple": _decode_ntuple,
    "exc": _decode_exc,
    "send": lambda d: Send(d["node"], d["arg"]),
    "interrupt": lambda d: Interrupt(value=d["value"], id=d["id"], response_schema=d["schema"]),
    "command": lambda d: Command(
        graph=d["graph"], update=d["update"], resume=d["resume"], goto=d["goto"]
    ),
}
