"""A client for LangGraph API servers (``relaygraph serve``/``dev``, LangGraph Platform).

It mirrors the official ``langgraph-sdk``: ``get_client()`` gives an async client,
``get_sync_client()`` a blocking one, each with ``assistants``, ``threads``, ``runs``,
``crons`` and ``store``, methods of the same names and arguments. ``RemoteGraph`` runs a
deployed graph behind the local graph interface (``invoke``/``stream``/``get_state``...).

    from relaygraph.client import get_client

    client = get_client(url="http://127.0.0.1:2024")
    thread = await client.threads.create()
    async for part in client.runs.stream(
        thread["thread_id"], "agent", input={"topic": "ice cream"}, stream_mode="updates"
    ):
        print(part.event, part.data)

Layout: each API method is a pure op (``_ops/``: a generator of requests, no I/O) over the
shared request/SSE core (``_protocol``, ``_sse``, ``_stream``, ``_errors``); ``_face`` runs
ops over httpx, sync or async; ``_resources`` declares the methods once for both faces.
The client never imports the relaygraph engine.
"""

from __future__ import annotations

from relaygraph.client._client import (
    DEFAULT_URL,
    LangGraphClient,
    SyncLangGraphClient,
    get_client,
    get_sync_client,
)
from relaygraph.client._errors import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    LangGraphError,
    NotFoundError,
    PermissionDeniedError,
    ProtocolError,
    RateLimitError,
    RunError,
    UnprocessableEntityError,
    ValidationError,
)
from relaygraph.client._protocol import RetryPolicy
from relaygraph.client._remote import RemoteGraph
from relaygraph.client._resources import (
    AssistantsClient,
    CronClient,
    RunsClient,
    StoreClient,
    SyncAssistantsClient,
    SyncCronClient,
    SyncRunsClient,
    SyncStoreClient,
    SyncThreadsClient,
    ThreadsClient,
)
from relaygraph.client._sse import ServerSentEvent, SSEDecoder
from relaygraph.client._stream import StreamPart

__all__ = [
    "DEFAULT_URL",
    "APIConnectionError",
    "APIStatusError",
    "AssistantsClient",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "CronClient",
    "InternalServerError",
    "LangGraphClient",
    "LangGraphError",
    "NotFoundError",
    "PermissionDeniedError",
    "ProtocolError",
    "RateLimitError",
    "RemoteGraph",
    "RetryPolicy",
    "RunError",
    "RunsClient",
    "SSEDecoder",
    "ServerSentEvent",
    "StoreClient",
    "StreamPart",
    "SyncAssistantsClient",
    "SyncCronClient",
    "SyncLangGraphClient",
    "SyncRunsClient",
    "SyncStoreClient",
    "SyncThreadsClient",
    "ThreadsClient",
    "UnprocessableEntityError",
    "ValidationError",
    "get_client",
    "get_sync_client",
]
