"""The bus interface, its wire format, and the single-process ``LocalBus``."""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from typing import NamedTuple

__all__ = ["Bus", "Deliver", "LocalBus", "Signal"]

logger = logging.getLogger("relaygraph.server.bus")


class Signal(NamedTuple):
    """One message: ``kind`` is ``wake``, ``events`` or ``cancel``."""

    kind: str
    run_id: str = ""
    action: str = ""

    def encode(self, origin: str) -> str:
        return f"{origin}|{self.kind}|{self.run_id}|{self.action}"

    @staticmethod
    def decode(raw: str | bytes) -> tuple[str, Signal] | None:
        """``(origin, signal)``, or ``None`` for a malformed message."""
        text = raw.decode() if isinstance(raw, bytes) else raw
        parts = text.split("|")
        if len(parts) != 4 or parts[1] not in ("wake", "events", "cancel"):
            return None
        return parts[0], Signal(parts[1], parts[2], parts[3])


Deliver = Callable[[Signal], None]
"""Called on the event loop for each signal from *another* instance."""


class Bus(abc.ABC):
    """Fire-and-forget signals to the other instances on the same database."""

    healthy_poll_s = 5.0
    """Storage re-check interval while the bus works (a safety net against lost messages)."""
    degraded_poll_s = 0.25
    """Storage re-check interval while the bus is down."""

    def __init__(self) -> None:
        self.origin = os.urandom(6).hex()
        self.healthy = False

    @property
    def poll_s(self) -> float | None:
        """How long a listener may wait on the bus before re-checking storage."""
        return self.healthy_poll_s if self.healthy else self.degraded_poll_s

    @abc.abstractmethod
    async def start(self, deliver: Deliver) -> None:
        """Start listening; ``deliver`` gets every signal from other instances."""

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    def publish(self, signal: Signal) -> None:
        """Send ``signal`` to the other instances; never blocks, never raises."""


class LocalBus(Bus):
    """One process: there is nobody to signal, and local wake-ups need no polling."""

    def __init__(self) -> None:
        super().__init__()
        self.healthy = True

    @property
    def poll_s(self) -> float | None:
        return None

    async def start(self, deliver: Deliver) -> None:
        return None

    async def close(self) -> None:
        return None

    def publish(self, signal: Signal) -> None:
        return None


class QueuedBus(Bus):
    """A bus whose sends go through a bounded queue drained by one sender task, and whose
    receiving side reconnects with backoff; subclasses supply ``_send`` and ``_listen``."""

    queue_size = 10_000

    def __init__(self) -> None:
        super().__init__()
        self._outbox: asyncio.Queue[str] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._deliver: Deliver | None = None
        self._listening = False
        self._send_failed = False

    async def start(self, deliver: Deliver) -> None:
        self._deliver = deliver
        self._outbox = asyncio.Queue(self.queue_size)
        self._tasks = [
            asyncio.ensure_future(self._send_loop(self._outbox)),
            asyncio.ensure_future(self._listen_loop()),
        ]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await self._disconnect()

    def publish(self, signal: Signal) -> None:
        outbox = self._outbox
        if outbox is None:
            return
        with contextlib.suppress(asyncio.QueueFull):  # listeners poll storage meanwhile
            outbox.put_nowait(signal.encode(self.origin))

    def _received(self, raw: str | bytes) -> None:
        decoded = Signal.decode(raw)
        if decoded is None or decoded[0] == self.origin or self._deliver is None:
            return
        self._deliver(decoded[1])

    async def _send_loop(self, outbox: asyncio.Queue[str]) -> None:
        while True:
            message = await outbox.get()
            batch = [message]
            while not outbox.empty() and len(batch) < 512:
                batch.append(outbox.get_nowait())
            try:  # a signal said twice in one batch says nothing more
                await self._send(list(dict.fromkeys(batch)) if len(batch) > 1 else batch)
            except Exception as exc:  # dropped: listeners poll storage while we are degraded
                self._degrade(exc)
                self._send_failed = True
                await asyncio.sleep(0.5)
                continue
            if self._send_failed and self._listening:
                self._send_failed = False
                self.healthy = True

    async def _listen_loop(self) -> None:
        backoff = 0.1
        while True:
            try:
                await self._listen(self._connected)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._degrade(exc)
            self._listening = False
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)

    def _connected(self) -> None:
        """Called by ``_listen`` once subscribed: anything sent meanwhile may be lost, so
        listeners re-check storage (a ``wake`` and an ``events`` for every run)."""
        if not self.healthy:
            logger.info("bus connected", extra={"bus": type(self).__name__})
        self._listening = True
        self._send_failed = False
        self.healthy = True
        if self._deliver is not None:
            self._deliver(Signal("wake"))
            self._deliver(Signal("events"))

    def _degrade(self, exc: BaseException) -> None:
        if self.healthy:
            logger.warning(
                "bus unavailable, polling storage",
                extra={"bus": type(self).__name__, "error": repr(exc)},
            )
        self.healthy = False

    @abc.abstractmethod
    async def _send(self, messages: list[str]) -> None: ...

    @abc.abstractmethod
    async def _listen(self, connected: Callable[[], None]) -> None:
        """Subscribe, call ``connected()``, then pass each message to ``_received`` until
        the connection fails (raise)."""

    @abc.abstractmethod
    async def _disconnect(self) -> None: ...
