"""Client fixtures: ``mode`` runs a test through the sync and the async client alike."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from relaygraph.client import RetryPolicy, get_client, get_sync_client

FAST_RETRY = RetryPolicy(max_attempts=3, initial_delay=0.01, max_delay=0.05)


class Mode:
    """One face of a client: build it, await or not, iterate sync or async.

    ``sync``/``async`` are relaygraph's faces; ``official-sync``/``official-async`` are the
    official ``langgraph-sdk``'s, for scenarios both SDKs must pass.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.is_async = name.endswith("async")
        self.official = name.startswith("official")

    def client(self, url: str, **kwargs: Any) -> Any:
        if self.official:
            import langgraph_sdk

            make = langgraph_sdk.get_client if self.is_async else langgraph_sdk.get_sync_client
            return make(url=url, api_key=kwargs.get("api_key"), headers=kwargs.get("headers"))
        kwargs.setdefault("retry", FAST_RETRY)
        kwargs.setdefault("api_key", None)
        return (get_client if self.is_async else get_sync_client)(url=url, **kwargs)

    async def call(self, value: Any) -> Any:
        return await value if inspect.isawaitable(value) else value

    async def collect(self, stream: Iterator[Any] | AsyncIterator[Any]) -> list[Any]:
        if isinstance(stream, AsyncIterator):
            return [item async for item in stream]
        return list(stream)

    async def close(self, client: Any) -> None:
        await self.call(client.aclose() if self.is_async else client.close())


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> Mode:
    """The test runs once with ``get_sync_client`` and once with ``get_client``."""
    return Mode(request.param)


@pytest.fixture(params=["sync", "async", "official-sync", "official-async"])
def sdk(request: pytest.FixtureRequest) -> Mode:
    """Both of relaygraph's faces, then both of the official SDK's."""
    if request.param.startswith("official"):
        pytest.importorskip("langgraph_sdk", reason="langgraph-sdk is not installed")
    return Mode(request.param)


@pytest.fixture(scope="session")
def live_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``relaygraph dev`` serving ``examples/agent_project``, shared by the session."""
    from tests.client.live import running_server, server_missing

    if reason := server_missing():
        pytest.skip(reason)
    with running_server(tmp_path_factory.mktemp("live") / "data") as url:
        yield url
