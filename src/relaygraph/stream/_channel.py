"""``EventChannel``: a bounded, thread-safe hand-off from a run to one consumer.

Producers are the run's loop and its nodes (in threads or on the event loop); the consumer is
the ``stream()``/``astream()`` iterator. ``put`` appends without locking and only wakes the
consumer when it sleeps, so a busy stream moves events in batches. When ``maxsize`` events are
waiting, a producer thread blocks until the consumer has drained half of them (backpressure);
a producer on the consumer's own event loop cannot block, so the async driver awaits
``wait_writable()`` between steps and node coroutines are paused at their next ``await``.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import AsyncIterator, Iterator
from typing import Any

DEFAULT_MAXSIZE = 4096


class StreamClosed(BaseException):
    """The consumer went away; the run stops at the next event it emits."""


class EventChannel:
    __slots__ = (
        "_async_prod_waiter",
        "_async_waiter",
        "_buf",
        "_closed",
        "_cond",
        "_consumer_waiting",
        "_done",
        "_error",
        "_high",
        "_loop",
        "_loop_thread",
        "_low",
        "_producers_waiting",
    )

    def __init__(self, maxsize: int = DEFAULT_MAXSIZE) -> None:
        self._buf: deque[Any] = deque()
        self._high = max(2, maxsize)
        self._low = self._high // 2
        self._cond = threading.Condition(threading.Lock())
        self._producers_waiting = 0
        self._consumer_waiting = False
        self._async_waiter: asyncio.Future[None] | None = None
        self._async_prod_waiter: asyncio.Future[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._closed = False
        self._done = False
        self._error: BaseException | None = None

    # -- producer side -------------------------------------------------------------------
    def put(self, item: Any) -> None:
        """Hand an event to the consumer; blocks a producer thread while the buffer is full."""
        if self._closed:
            raise StreamClosed()
        buf = self._buf
        buf.append(item)
        if self._consumer_waiting or self._async_waiter is not None:
            self._wake_consumer()
        if len(buf) >= self._high and threading.get_ident() != self._loop_thread:
            self._wait_not_full()

    def finish(self, error: BaseException | None = None) -> None:
        """The producer is done (``error`` is re-raised to the consumer after the last event)."""
        self._error = error
        self._done = True
        self._wake_consumer()

    def _wait_not_full(self) -> None:
        with self._cond:
            self._producers_waiting += 1
            try:
                while len(self._buf) >= self._high and not self._closed:
                    self._cond.wait()
            finally:
                self._producers_waiting -= 1
        if self._closed:
            raise StreamClosed()

    def is_full(self) -> bool:
        return len(self._buf) >= self._high

    async def wait_writable(self) -> None:
        """For a producer on the consumer's event loop: wait until the buffer has room."""
        while len(self._buf) >= self._high and not self._closed:
            fut = asyncio.get_running_loop().create_future()
            self._async_prod_waiter = fut
            if len(self._buf) < self._high:
                self._async_prod_waiter = None
                break
            await fut
        if self._closed:
            raise StreamClosed()

    def _wake_consumer(self) -> None:
        fut = self._async_waiter
        if fut is not None:
            self._async_waiter = None
            loop = self._loop
            if loop is None:
                return
            if threading.get_ident() == self._loop_thread:
                if not fut.done():
                    fut.set_result(None)
            else:
                try:
                    loop.call_soon_threadsafe(_resolve, fut)
                except RuntimeError:  # loop closed: the consumer is gone
                    pass
            return
        with self._cond:
            self._cond.notify_all()

    def _wake_producers(self) -> None:
        if self._producers_waiting:
            with self._cond:
                self._cond.notify_all()
        fut = self._async_prod_waiter
        if fut is not None:
            self._async_prod_waiter = None
            if not fut.done():
                fut.set_result(None)

    # -- consumer side -------------------------------------------------------------------
    def close(self) -> None:
        """The consumer stops reading: blocked and future producers get ``StreamClosed``."""
        self._closed = True
        self._buf.clear()
        with self._cond:
            self._cond.notify_all()
        fut = self._async_prod_waiter
        if fut is not None and not fut.done():
            fut.set_result(None)

    def __iter__(self) -> Iterator[Any]:
        buf = self._buf
        popleft = buf.popleft
        low = self._low
        while True:
            while buf:
                yield popleft()
                if len(buf) <= low and (self._producers_waiting or self._async_prod_waiter):
                    self._wake_producers()
            if self._done:
                if buf:
                    continue
                if self._error is not None:
                    raise self._error
                return
            with self._cond:
                self._consumer_waiting = True
                while not buf and not self._done:
                    if self._producers_waiting:
                        self._cond.notify_all()
                    self._cond.wait()
                self._consumer_waiting = False

    async def __aiter__(self) -> AsyncIterator[Any]:
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._loop_thread = threading.get_ident()
        buf = self._buf
        popleft = buf.popleft
        low = self._low
        while True:
            while buf:
                yield popleft()
                if len(buf) <= low and (self._producers_waiting or self._async_prod_waiter):
                    self._wake_producers()
            if self._done:
                if buf:
                    continue
                if self._error is not None:
                    raise self._error
                return
            self._wake_producers()
            fut = loop.create_future()
            self._async_waiter = fut
            if buf or self._done:
                self._async_waiter = None
                continue
            await fut

    def bind_loop(self) -> None:
        """Record the running event loop as the consumer's (call before producers start)."""
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)
