"""The two faces: thin drivers that run the pure ops over httpx, sync or async.

A face owns an httpx client and a :class:`RetryPolicy` and knows how to perform each
instruction of ``_protocol.py``; that is all that differs between sync and async. Resource
classes (``ThreadsClient`` and friends) are written once, generic in the face, with
methods declared as ``get = call(threads.get)``: the :class:`call` / :class:`iterate`
descriptors hand the op to the face of the instance they are read from, so
``client.threads.get(...)`` is a coroutine function on an async client and a plain function
on a sync one, with the op's own signature and docstring (checked by mypy through the
overloads below).
"""

from __future__ import annotations

import functools
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Any, Generic, Protocol, TypeVar, overload

import anyio
import httpx
from typing_extensions import ParamSpec

from relaygraph.client._errors import APIConnectionError, ProtocolError
from relaygraph.client._protocol import (
    Emit,
    Op,
    Read,
    Request,
    Retry,
    RetryPolicy,
    StreamOp,
)

__all__ = ["AsyncFace", "Face", "Resource", "SyncFace", "call", "iterate"]

P = ParamSpec("P")
T = TypeVar("T")
F_co = TypeVar("F_co", covariant=True)


def _build(http: httpx.Client | httpx.AsyncClient, req: Request) -> httpx.Request:
    headers = dict(req.headers) if req.headers else {}
    content = req.content()
    if content is not None:
        headers.setdefault("content-type", "application/json")
    return http.build_request(
        req.method, req.url, params=req.params, content=content, headers=headers
    )


def _connection_error(exc: httpx.TransportError) -> APIConnectionError:
    try:
        request: httpx.Request | None = exc.request
    except RuntimeError:
        request = None
    where = f" ({request.method} {request.url})" if request is not None else ""
    error = APIConnectionError(f"{type(exc).__name__}: {exc}{where}", request=request)
    error.__cause__ = exc
    return error


def _capture(op: Op[T], box: list[T]) -> StreamOp[Any]:
    box.append((yield from op))


class SyncFace:
    """Runs ops with blocking I/O on an ``httpx.Client``."""

    def __init__(self, http: httpx.Client, retry: RetryPolicy) -> None:
        self.http = http
        self.retry = retry

    def run(self, op: Op[T]) -> T:
        """Run a call op to its result."""
        box: list[T] = []
        for _ in self.iterate(_capture(op, box)):
            raise ProtocolError("a call op emitted stream items")
        return box[0]

    def iterate(self, op: StreamOp[T]) -> Iterator[T]:
        """Run a stream op, yielding what it emits."""
        http = self.http
        response: httpx.Response | None = None
        chunks: Iterator[bytes] | None = None
        value: Any = None
        error: httpx.TransportError | None = None
        try:
            while True:
                try:
                    instr = op.send(value) if error is None else op.throw(error)
                except StopIteration:
                    return
                except APIConnectionError:
                    raise
                except httpx.TransportError as exc:
                    raise _connection_error(exc) from exc
                value = error = None
                if isinstance(instr, Emit):
                    yield from instr.items
                    continue
                try:
                    if isinstance(instr, Read):
                        value = next(chunks, b"") if chunks is not None else b""
                    elif isinstance(instr, Request):
                        if response is not None:
                            response.close()
                            response = chunks = None
                        value = response = http.send(_build(http, instr), stream=True)
                        if instr.stream and response.status_code < 300:
                            chunks = response.iter_bytes()
                        else:
                            response.read()
                            response.close()
                            response = None
                    elif isinstance(instr, Retry):
                        attempt = instr.attempt
                        value = attempt <= self.retry.max_attempts
                        if value:
                            time.sleep(self.retry.delay(attempt))
                    else:  # pragma: no cover - a bug in an op
                        raise ProtocolError(f"unknown instruction {instr!r}")
                except httpx.TransportError as exc:
                    error = exc
        finally:
            if response is not None:
                response.close()
            op.close()

    def bind_call(self, op: Callable[P, Op[T]]) -> Callable[P, T]:
        """``op`` as a blocking method."""

        @functools.wraps(op)
        def method(*args: P.args, **kwargs: P.kwargs) -> T:
            return self.run(op(*args, **kwargs))

        return method

    def bind_stream(self, op: Callable[P, StreamOp[T]]) -> Callable[P, Iterator[T]]:
        """``op`` as a method returning an iterator."""

        @functools.wraps(op)
        def method(*args: P.args, **kwargs: P.kwargs) -> Iterator[T]:
            return self.iterate(op(*args, **kwargs))

        return method

    def close(self) -> None:
        """Close the underlying httpx client."""
        self.http.close()


class AsyncFace:
    """Runs ops with async I/O on an ``httpx.AsyncClient`` (asyncio or trio, via anyio)."""

    def __init__(self, http: httpx.AsyncClient, retry: RetryPolicy) -> None:
        self.http = http
        self.retry = retry

    async def run(self, op: Op[T]) -> T:
        """Run a call op to its result."""
        box: list[T] = []
        async for _ in self.iterate(_capture(op, box)):
            raise ProtocolError("a call op emitted stream items")
        return box[0]

    async def iterate(self, op: StreamOp[T]) -> AsyncIterator[T]:
        """Run a stream op, yielding what it emits."""
        http = self.http
        response: httpx.Response | None = None
        chunks: AsyncIterator[bytes] | None = None
        value: Any = None
        error: httpx.TransportError | None = None
        try:
            while True:
                try:
                    instr = op.send(value) if error is None else op.throw(error)
                except StopIteration:
                    return
                except APIConnectionError:
                    raise
                except httpx.TransportError as exc:
                    raise _connection_error(exc) from exc
                value = error = None
                if isinstance(instr, Emit):
                    for item in instr.items:
                        yield item
                    continue
                try:
                    if isinstance(instr, Read):
                        value = await anext(chunks, b"") if chunks is not None else b""
                    elif isinstance(instr, Request):
                        if response is not None:
                            await response.aclose()
                            response = chunks = None
                        value = response = await http.send(_build(http, instr), stream=True)
                        if instr.stream and response.status_code < 300:
                            chunks = response.aiter_bytes()
                        else:
                            await response.aread()
                            await response.aclose()
                            response = None
                    elif isinstance(instr, Retry):
                        attempt = instr.attempt
                        value = attempt <= self.retry.max_attempts
                        if value:
                            await anyio.sleep(self.retry.delay(attempt))
                    else:  # pragma: no cover - a bug in an op
                        raise ProtocolError(f"unknown instruction {instr!r}")
                except httpx.TransportError as exc:
                    error = exc
        finally:
            if response is not None:
                await response.aclose()
            op.close()

    def bind_call(self, op: Callable[P, Op[T]]) -> Callable[P, Coroutine[Any, Any, T]]:
        """``op`` as a coroutine method."""

        @functools.wraps(op)
        async def method(*args: P.args, **kwargs: P.kwargs) -> T:
            return await self.run(op(*args, **kwargs))

        return method

    def bind_stream(self, op: Callable[P, StreamOp[T]]) -> Callable[P, AsyncIterator[T]]:
        """``op`` as a method returning an async iterator."""

        @functools.wraps(op)
        def method(*args: P.args, **kwargs: P.kwargs) -> AsyncIterator[T]:
            return self.iterate(op(*args, **kwargs))

        return method

    async def aclose(self) -> None:
        """Close the underlying httpx client."""
        await self.http.aclose()


Face = TypeVar("Face", bound="AsyncFace | SyncFace")


class _HasFace(Protocol[F_co]):
    @property
    def _face(self) -> F_co: ...


class Resource(Generic[Face]):
    """A group of API methods (``client.threads``, ``client.runs``, ...) bound to one face."""

    def __init__(self, face: Face) -> None:
        self._face: Face = face


class call(Generic[P, T]):
    """Declare a resource method from a call op: ``get = call(threads.get)``."""

    def __init__(self, op: Callable[P, Op[T]]) -> None:
        self.op = op
        self.__doc__ = op.__doc__
        self.__wrapped__ = op
        self.name = op.__name__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type) -> call[P, T]: ...
    @overload
    def __get__(
        self, obj: _HasFace[AsyncFace], owner: type
    ) -> Callable[P, Coroutine[Any, Any, T]]: ...
    @overload
    def __get__(self, obj: _HasFace[SyncFace], owner: type) -> Callable[P, T]: ...
    def __get__(self, obj: Any, owner: type) -> Any:
        if obj is None:
            return self
        method = obj._face.bind_call(self.op)
        obj.__dict__[self.name] = method  # bound once per instance
        return method


class iterate(Generic[P, T]):
    """Declare a resource method from a stream op: ``join_stream = iterate(runs.join_stream)``."""

    def __init__(self, op: Callable[P, StreamOp[T]]) -> None:
        self.op = op
        self.__doc__ = op.__doc__
        self.__wrapped__ = op
        self.name = op.__name__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type) -> iterate[P, T]: ...
    @overload
    def __get__(self, obj: _HasFace[AsyncFace], owner: type) -> Callable[P, AsyncIterator[T]]: ...
    @overload
    def __get__(self, obj: _HasFace[SyncFace], owner: type) -> Callable[P, Iterator[T]]: ...
    def __get__(self, obj: Any, owner: type) -> Any:
        if obj is None:
            return self
        method = obj._face.bind_stream(self.op)
        obj.__dict__[self.name] = method
        return method
