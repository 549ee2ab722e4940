"""``EventChannel``: a bounded, thread-safe hand-off from a run to one consumer.

Producers are the run's loop and its nodes (in threads or on the event loop); the consumer is
the ``stream()``/``astream()`` iterator. The hot path of a put is a deque append plus two
cheap checks: ``attention`` (set while the consumer sleeps or after it left) and the buffer
length. So a busy stream moves events in batches, with a thread hand-off only when the
consumer runs dry or the buffer fills.

Backpressure: when ``maxsize`` events wait, a producer thread blocks until the consumer has
drained the buffer. A producer on the consumer's own event loop cannot block; the async driver
awaits ``wait_writable()`` between steps and pauses node coroutines at their next ``await``.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio


DEFAULT_MAXSIZE = 4096
LINGER_S = 0.0002
"""How long a sync consumer that ran dry waits for more events before it sleeps (0.2 ms)."""


class StreamClosed(BaseException):
    """The consumer went away; the run stops at the next event it emits."""


class EventChannel:
    __slots__ = (
        "_async_prod_waiters",
        "_async_waiter",
        "_cond",
        "_error",
        "_loop",
        "_loop_thread",
        "_producers_waiting",
        "attention",
        "buf",
        "closed",
        "done",
        "high",
    )

    def __init__(self, maxsize: int = DEFAULT_MAXSIZE) -> None:

        self.buf: deque[Any] = deque()
        self.high = max(2, maxsize)
        self.attention = False
        self.closed = False
        self.done = False
        self._cond = threading.Condition(threading.Lock())
        self._producers_waiting = 0
        self._async_waiter: asyncio.Future[None] | None = None
        self._async_prod_waiters: list[asyncio.Future[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._error: BaseException | None = None

    # -- producer side -------------------------------------------------------------------
    def put(self, item: Any) -> None:
        """Hand an event to the consumer; blocks a producer thread while the buffer is full."""
        buf = self.buf
        buf.append(item)
        if self.attention or len(buf) >= self.high:
            self.after_put()

    def writer(self, ns: tuple[str, ...], mode: str) -> Callable[[Any], None]:
        """A one-argument put of ``(ns, mode, value)`` events: the stream writer's hot path."""
        buf = self.buf
        append = buf.append
        high = self.high
        after_put = self.after_put
        channel = self

        def write(value: Any) -> None:
            append((ns, mode, value))
            if channel.attention or len(buf) >= high:
                after_put()

        return write

    def after_put(self) -> None:
        """The slow path of a put: wake a sleeping consumer, apply backpressure."""
        if self.closed:
            self.buf.clear()
            raise StreamClosed()
        if self._async_waiter is not None or self.attention:
            self._wake_consumer()
        if len(self.buf) >= self.high and threading.get_ident() != self._loop_thread:
            self._wait_not_full()

    def finish(self, error: BaseException | None = None) -> None:
        """The producer is done (``error`` is re-raised to the consumer after the last event)."""
        self._error = error
        self.done = True
        self._wake_consumer()

    def _wait_not_full(self) -> None:
        with self._cond:
            self._producers_waiting += 1
            try:
                while len(self.buf) >= self.high and not self.closed:
                    self._cond.wait()
            finally:
                self._producers_waiting -= 1
        if self.closed:
            raise StreamClosed()

    def is_full(self) -> bool:
        return len(self.buf) >= self.high

    async def wait_writable(self) -> None:
        """For a producer on the consumer's event loop: wait until the buffer has room."""
        import asyncio

        while len(self.buf) >= self.high and not self.closed:
            fut = asyncio.get_running_loop().create_future()
            self._async_prod_waiters.append(fut)
            await fut
        if self.closed:
            raise StreamClosed()

    def _wake_consumer(self) -> None:
        fut = self._async_waiter
        if fut is not None:
            self._async_waiter = None
            self.attention = self.closed
            loop = self._loop
            if loop is None:
                return
            if threading.get_ident() == self._loop_thread:
                if not fut.done():
                    fut.set_result(None)
            else:
                with contextlib.suppress(RuntimeError):  # loop closed: the consumer is gone
                    loop.call_soon_threadsafe(_resolve, fut)
            return
        if self._loop is not None:
            # An async consumer re-checks the buffer after registering its waiter; with no
            # waiter registered yet there is nobody to wake.
            return
        with self._cond:
            self.attention = self.closed
            self._cond.notify_all()

    def wake_producers(self) -> None:
        """Let producers blocked on a full buffer go on (the consumer has drained it)."""
        if self._producers_waiting:
            with self._cond:
                self._cond.notify_all()
        if self._async_prod_waiters:
            waiters, self._async_prod_waiters = self._async_prod_waiters, []
            for fut in waiters:
                if not fut.done():
                    fut.set_result(None)

    # -- consumer side -------------------------------------------------------------------
    def close(self) -> None:
        """The consumer stops reading: blocked and future producers get ``StreamClosed``."""
        self.closed = True
        self.attention = True
        self.buf.clear()
        with self._cond:
            self._cond.notify_all()
        for fut in self._async_prod_waiters:
            if not fut.done():
                fut.set_result(None)
        self._async_prod_waiters = []

    def wait(self) -> bool:
        """Block until events arrive (``True``) or the producer finished (``False``).

        Raises the producer's error once every event before it was read.
        """
        buf = self.buf
        if buf:
            return True
        if not self.done and self._producers_waiting == 0:
            # Linger briefly before paying for a thread wake-up: events that arrive in
            # bursts (LLM tokens, custom progress) are then handed over in batches.
            time.sleep(LINGER_S)
            if buf:
                return True
        with self._cond:
            while True:
                self.attention = True  # before the check: a put after it will wake us
                if buf or self.done:
                    break
                if self._producers_waiting:
                    self._cond.notify_all()
                self._cond.wait()
            self.attention = self.closed
        if buf:
            return True
        if self._error is not None:
            raise self._error
        return False

    async def await_items(self) -> bool:
        """The async face of ``wait()``."""
        buf = self.buf
        if buf:
            return True
        self.wake_producers()
        while not buf:
            if self.done:
                if self._error is not None:
                    raise self._error
                return False
            fut = self._loop.create_future()  # type: ignore[union-attr]
            self._async_waiter = fut
            self.attention = True
            if buf or self.done:
                self._async_waiter = None
                self.attention = self.closed
                continue
            await fut
        return True

    def bind_loop(self) -> None:
        """Record the running event loop as the consumer's (call before producers start)."""
        import asyncio

        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)
