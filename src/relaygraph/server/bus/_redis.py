"""``RedisBus``: signals over one Redis pub/sub channel."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from relaygraph.server.bus._base import QueuedBus

__all__ = ["RedisBus"]


class RedisBus(QueuedBus):
    """Publishes to, and subscribes to, ``channel`` on the Redis server at ``url``."""

    def __init__(self, url: str, channel: str) -> None:
        super().__init__()
        import redis.asyncio

        self.url = url
        self.channel = channel
        self._client: Any = redis.asyncio.from_url(
            url, socket_connect_timeout=2.0, socket_timeout=5.0, health_check_interval=10
        )

    async def _send(self, messages: list[str]) -> None:
        async with self._client.pipeline(transaction=False) as pipe:
            for message in messages:
                pipe.publish(self.channel, message)
            await pipe.execute()

    async def _listen(self, connected: Callable[[], None]) -> None:
        pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self.channel)
            connected()
            while True:
                message = await pubsub.get_message(timeout=5.0)
                if message is None:
                    await pubsub.ping()  # notice a dead connection while it is quiet
                    continue
                if message.get("type") == "message":
                    self._received(message["data"])
        finally:
            await pubsub.aclose()

    async def _disconnect(self) -> None:
        await self._client.aclose()
