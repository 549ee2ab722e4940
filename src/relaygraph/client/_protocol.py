"""The instructions a pure client operation yields to its driver, and helpers to write one.

Every client method is written once, as a generator (an *op*) that never touches the
network: it yields :class:`Request`, :class:`Read`, :class:`Retry` and :class:`Emit`
instructions and receives the results. The sync and async faces (``_face.py``) each run ops
with a small loop over their httpx client; nothing else differs between them.

========================  ===========================================================
yielded                   sent back
========================  ===========================================================
``Request(stream=False)``  the ``httpx.Response``, body read
``Request(stream=True)``   the ``httpx.Response``; a 2xx body is left open for ``Read``,
                           any other body is read (so errors can be decoded)
``READ``                  the next chunk of the open body; ``b""`` at its end
``Retry(n)``              after the policy's backoff, ``True``; ``False`` when spent
``Emit(items)``           ``None`` after the consumer took the items (streams only)
========================  ===========================================================

A transport failure (``httpx.TransportError``) while sending or reading is thrown into the
op at its ``yield``, so the op decides whether to retry.
"""

from __future__ import annotations

import random
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx

from relaygraph.client._errors import error_for_response
from relaygraph.client._json import dumps, loads

__all__ = [
    "READ",
    "Emit",
    "Instruction",
    "Op",
    "QueryParams",
    "Read",
    "Request",
    "Retry",
    "RetryPolicy",
    "StreamOp",
    "body",
    "call_json",
    "decode",
    "p",
    "query",
]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

QueryParams = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Request:
    """Send one HTTP request; ``url`` is a path under the client's base URL (or absolute)."""

    method: str
    url: str
    json: Any = None
    has_body: bool = False
    params: QueryParams | None = None
    headers: Mapping[str, str] | None = None
    stream: bool = False

    def content(self) -> bytes | None:
        """The request body: compact JSON, or ``None`` for no body."""
        return dumps(self.json) if self.has_body else None


@dataclass(frozen=True, slots=True)
class Read:
    """Read the next chunk of the open response body."""


READ = Read()


@dataclass(frozen=True, slots=True)
class Retry:
    """Wait before reconnect ``attempt`` (1-based); the driver answers whether to go on
    (``False`` once its :class:`RetryPolicy` has no attempts left)."""

    attempt: int


@dataclass(frozen=True)
class RetryPolicy:
    """How a dropped stream or wait reconnects: at most ``max_attempts`` tries in a row,
    waiting ``initial_delay * 2**(n-1)`` seconds (capped at ``max_delay``) plus up to
    ``jitter`` of that at random."""

    max_attempts: int = 5
    initial_delay: float = 0.5
    max_delay: float = 5.0
    jitter: float = 0.25

    def delay(self, attempt: int) -> float:
        """Seconds to wait before reconnect ``attempt`` (1-based)."""
        base = min(self.max_delay, self.initial_delay * 2 ** max(0, attempt - 1))
        return base * (1.0 + self.jitter * random.random())


@dataclass(frozen=True, slots=True)
class Emit(Generic[T_co]):
    """Hand ``items`` to whoever iterates the stream."""

    items: Sequence[T_co]


Instruction = Request | Read | Retry | Emit[Any]
Op = Generator[Request | Read | Retry, Any, T]
"""A plain call: yields requests (and maybe reads/sleeps), returns the result."""
StreamOp = Generator[Request | Read | Retry | Emit[T], Any, None]
"""A stream: like an op, plus ``Emit`` instructions carrying the items it produces."""


def p(segment: Any) -> str:
    """Quote one path segment (ids are user input)."""
    return quote(str(segment), safe="")


def body(_always: Mapping[str, Any] | None = None, /, **fields: Any) -> dict[str, Any]:
    """A JSON body of the fields that are not ``None``, plus ``_always`` as given."""
    out = {k: v for k, v in fields.items() if v is not None}
    if _always:
        out.update(_always)
    return out


def query(params: QueryParams | None, extra: QueryParams | None) -> dict[str, Any] | None:
    """Merge the method's own query parameters with the caller's ``params=``."""
    if not params and not extra:
        return None
    merged = {k: v for k, v in (params or {}).items() if v is not None}
    merged.update(extra or {})
    return merged


def decode(response: httpx.Response) -> Any:
    """Raise the typed error for a non-2xx response; else its JSON body (``None`` if empty)."""
    if response.status_code >= 300:
        raise error_for_response(response)
    content = response.content
    if not content or response.status_code == 204:
        return None
    return loads(content)


def call_json(
    method: str,
    url: str,
    *,
    json: Any = None,
    has_body: bool | None = None,
    params: QueryParams | None = None,
    headers: Mapping[str, str] | None = None,
) -> Op[Any]:
    """The common op: one request, the decoded JSON back (or the typed error raised)."""
    request = Request(
        method,
        url,
        json=json,
        has_body=json is not None if has_body is None else has_body,
        params=params,
        headers=headers,
    )
    response = yield request
    return decode(response)
