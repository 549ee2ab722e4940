"""``get_client`` / ``get_sync_client``: the entry points, and the two client classes."""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Generic

import httpx

from relaygraph.client._face import AsyncFace, Face, SyncFace
from relaygraph.client._protocol import RetryPolicy
from relaygraph.client._resources import (
    AssistantsClient,
    CronClient,
    RunsClient,
    StoreClient,
    ThreadsClient,
)

__all__ = ["DEFAULT_URL", "LangGraphClient", "SyncLangGraphClient", "get_client", "get_sync_client"]

DEFAULT_URL = "http://127.0.0.1:2024"
"""Where ``relaygraph dev`` (and ``langgraph dev``) listen by default."""

_API_KEY_ENV = ("LANGGRAPH_API_KEY", "LANGSMITH_API_KEY", "LANGCHAIN_API_KEY")
_DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=300.0, write=300.0, pool=5.0)


class _FromEnv:
    def __repr__(self) -> str:
        return "<from environment>"


FROM_ENV: Any = _FromEnv()


@functools.cache
def _ssl_context() -> Any:
    # One verifying context for every client: building one costs ~40 ms, sharing it ~0.
    make = getattr(httpx, "create_ssl_context", None)
    return make() if make is not None else True


def _headers(api_key: str | None, headers: Mapping[str, str] | None) -> dict[str, str]:
    from relaygraph import __version__

    out = {"user-agent": f"relaygraph-client-py/{__version__}"}
    if api_key is FROM_ENV:
        api_key = next((os.environ[k] for k in _API_KEY_ENV if os.environ.get(k)), None)
    if api_key:
        out["x-api-key"] = api_key
    out.update({k.lower(): v for k, v in (headers or {}).items()})
    return out


class _Client(Generic[Face]):
    """The resource groups over one face."""

    def __init__(self, face: Face) -> None:
        self._face: Face = face
        self.assistants: AssistantsClient[Face] = AssistantsClient(face)
        self.threads: ThreadsClient[Face] = ThreadsClient(face)
        self.runs: RunsClient[Face] = RunsClient(face)
        self.crons: CronClient[Face] = CronClient(face)
        self.store: StoreClient[Face] = StoreClient(face)

    @property
    def http(self) -> Any:
        """The underlying ``httpx`` client."""
        return self._face.http


class LangGraphClient(_Client[AsyncFace]):
    """The async client: ``await client.threads.create()``,
    ``async for part in client.runs.stream(...)``. Close it with ``aclose()`` or
    ``async with``."""

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._face.aclose()

    async def __aenter__(self) -> LangGraphClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class SyncLangGraphClient(_Client[SyncFace]):
    """The blocking client: ``client.threads.create()``, ``for part in
    client.runs.stream(...)``. Close it with ``close()`` or ``with``."""

    def close(self) -> None:
        """Close the connection pool."""
        self._face.close()

    def __enter__(self) -> SyncLangGraphClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def get_client(
    *,
    url: str | None = None,
    api_key: str | None = FROM_ENV,
    headers: Mapping[str, str] | None = None,
    timeout: httpx.Timeout | float | None = None,
    retry: RetryPolicy | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> LangGraphClient:
    """An async client for the LangGraph API server at ``url`` (default :data:`DEFAULT_URL`).

    ``api_key`` is sent as ``x-api-key``; left out, it is read from ``LANGGRAPH_API_KEY``,
    ``LANGSMITH_API_KEY`` or ``LANGCHAIN_API_KEY`` (pass ``None`` to send none). ``headers``
    go on every request. ``retry`` bounds reconnects of dropped streams and waits.
    ``transport`` swaps the network for any httpx transport (an in-process ASGI app, a mock).
    """
    http = httpx.AsyncClient(
        base_url=url or DEFAULT_URL,
        headers=_headers(api_key, headers),
        timeout=timeout if timeout is not None else _DEFAULT_TIMEOUT,
        transport=transport,
        verify=_ssl_context(),
    )
    return LangGraphClient(AsyncFace(http, retry or RetryPolicy()))


def get_sync_client(
    *,
    url: str | None = None,
    api_key: str | None = FROM_ENV,
    headers: Mapping[str, str] | None = None,
    timeout: httpx.Timeout | float | None = None,
    retry: RetryPolicy | None = None,
    transport: httpx.BaseTransport | None = None,
) -> SyncLangGraphClient:
    """A blocking client; the same arguments as :func:`get_client`."""
    http = httpx.Client(
        base_url=url or DEFAULT_URL,
        headers=_headers(api_key, headers),
        timeout=timeout if timeout is not None else _DEFAULT_TIMEOUT,
        transport=transport,
        verify=_ssl_context(),
    )
    return SyncLangGraphClient(SyncFace(http, retry or RetryPolicy()))
