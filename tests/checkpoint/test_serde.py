"""``JsonPlusSerializer`` on its own: the format, the errors, and the pickle opt-in."""

from __future__ import annotations

import json
import math
from collections import OrderedDict
from typing import Any, NamedTuple

import pytest

from relaygraph.checkpoint.serde import (
    CheckpointSerializationError,
    JsonPlusSerializer,
    StoredException,
)
from relaygraph.errors import RelayGraphError

serde = JsonPlusSerializer()


class Pair(NamedTuple):
    a: int
    b: str


class Opaque:
    def __init__(self, n: int) -> None:
        self.n = n

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Opaque) and other.n == self.n

    __hash__ = object.__hash__


class CustomError(Exception):
    pass


def roundtrip(value: Any, s: JsonPlusSerializer = serde) -> Any:
    return s.loads(s.dumps(value))


def test_plain_json_is_stored_as_itself() -> None:
    value = {"a": [1, 2.5, None, True, "é"], "b": {"c": {}}}
    data = serde.dumps(value)
    assert json.loads(data) == value
    assert serde.loads(data) == value


def test_tagged_values_round_trip() -> None:
    assert roundtrip(Pair(1, "x")) == Pair(1, "x")
    assert type(roundtrip(Pair(1, "x"))) is Pair
    assert roundtrip({"__rg__": "tuple", "v": [1]}) == {"__rg__": "tuple", "v": [1]}
    assert roundtrip(-(2**70)) == -(2**70)
    assert math.isnan(roundtrip(float("nan")))
    assert roundtrip("lone \ud800 surrogate") == "lone \ud800 surrogate"
    assert roundtrip(bytearray(b"ab")) == bytearray(b"ab")
    assert roundtrip(OrderedDict(a=1)) == {"a": 1}  # dict subclasses are kept as dicts
    assert serde.loads_typed(serde.dumps_typed({1, 2})) == {1, 2}


def test_exceptions_keep_type_and_repr() -> None:
    builtin = roundtrip(ValueError("bad", 2))
    assert type(builtin) is ValueError and builtin.args == ("bad", 2)
    custom = roundtrip(CustomError("boom"))
    assert isinstance(custom, StoredException)
    assert repr(custom) == repr(CustomError("boom"))
    assert custom.type_name == "CustomError"


def test_unknown_types_raise_a_typed_error_naming_the_channel() -> None:
    with pytest.raises(CheckpointSerializationError) as info:
        serde.dumps({"nested": [Opaque(1)]}, channel="items")
    assert isinstance(info.value, TypeError)
    assert isinstance(info.value, RelayGraphError)
    assert "'items'" in str(info.value)
    assert "Opaque" in str(info.value)


def test_pickle_only_when_opted_in() -> None:
    pickling = JsonPlusSerializer(pickle_fallback=True)
    data = pickling.dumps({"x": Opaque(3)})
    assert pickling.loads(data) == {"x": Opaque(3)}
    with pytest.raises(CheckpointSerializationError, match="tag 'pickle'"):
        serde.loads(data)  # a reader that did not opt in never unpickles


def test_unknown_tag_is_an_error() -> None:
    with pytest.raises(CheckpointSerializationError):
        serde.loads(b'{"__rg__": "nope"}')


@pytest.mark.parametrize(
    "value",
    [
        {"cp": {"v": 1, "versions": {"a": 2}, "seen": {}, "nodes": ["n1"]}, "refs": {}},
        {"a": [1, 2.5, None, True], "b": [{"c": [[]]}]},
        {"big": [2**64 - 1, 2**70], "deep": {"x": [2**70]}},  # beyond orjson's ints
        {"s": "lone \ud800 surrogate", "t": ["\udfff"]},
        {"x": (1, 2), "y": [float("inf")], "z": {"__rg__": 1}, "w": {1: "a"}},
        [1.5, float("nan"), {"a": (1,)}, "x"],
        {"nested": {"tuple": {"inside": [("a",)]}}},
    ],
)
def test_plain_fast_path_matches_the_tagged_encoding(value: Any) -> None:
    """``dumps`` hands plain trees to orjson without ``encode`` copying them; what it stores
    must read back as what the full path's encoding reads back as."""
    slow = json.dumps(serde.encode(value), separators=(",", ":"), allow_nan=False)
    back = serde.loads(serde.dumps(value))
    assert repr(back) == repr(serde.loads(slow))
    assert repr(back) == repr(value)


@pytest.mark.parametrize(
    "value",
    [
        list(range(40)),
        [*range(40), (1,)],
        [*range(40), 1.5, float("inf")],
        {f"k{i}": i for i in range(40)},
        {**{f"k{i}": i for i in range(40)}, 7: "int key"},
        {**{f"k{i}": i for i in range(40)}, "__rg__": "tag-like key"},
        {**{f"k{i}": str(i) for i in range(40)}, "f": float("nan")},
        [{"role": "user", "content": "hi", "n": [i, 2.5]} for i in range(40)],
    ],
)
def test_long_containers_match_the_tagged_encoding(value: Any) -> None:
    """Long containers are scanned differently from short ones; the result is the same."""
    test_plain_fast_path_matches_the_tagged_encoding(value)


@pytest.mark.parametrize(
    "data",
    [
        b'{"a":[1,2.5,null,true,"s"],"b":{"c":{}}}',
        b'{"big":[1208925819614629174706176,-9223372036854775809]}',  # untagged, as stored
        b'{"x":{"__rg__":"tuple","v":[1,{"__rg__":"set","v":[2]}]},"y":[1]}',
        b'{"text":"mentions __rg__ as plain text"}',
        b'["lone \\ud800 surrogate", "\\u00e9", "\xc3\xa9"]',
        b"[NaN, Infinity, -Infinity, 1e400]",
        b'\xef\xbb\xbf{"bom": 1}',
        b' {"spaced": 1} ',
        b'"just a string"',
        b"12345678901234567890123",
    ],
)
def test_loads_reads_what_json_reads(data: bytes) -> None:
    """Text without tags skips the tag hook: the values are exactly ``json.loads``'s."""
    want = json.loads(data, object_hook=serde._hook)
    for form in (data, bytearray(data), memoryview(data)):
        assert repr(serde.loads(form)) == repr(want)
    if not data.startswith(b"\xef\xbb\xbf"):
        assert repr(serde.loads(data.decode())) == repr(want)


@pytest.mark.parametrize("data", [b'{"a":', b"{} x", b"", b"[1,]", b'{"a":1}\x00'])
def test_loads_rejects_what_json_rejects(data: bytes) -> None:
    with pytest.raises(json.JSONDecodeError):
        serde.loads(data)
