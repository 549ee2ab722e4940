"""``create_app``: the ASGI application, its middleware and its startup/shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from relaygraph.server import _json
from relaygraph.server._auth import ApiKeyMiddleware
from relaygraph.server._context import ServerContext
from relaygraph.server._errors import HTTPError
from relaygraph.server._graphs import GraphRegistry, read_project
from relaygraph.server._ids import assistant_id_for, now_iso
from relaygraph.server._metrics import Metrics
from relaygraph.server._saver import open_saver
from relaygraph.server._schema import load_openapi
from relaygraph.server._settings import ServerSettings
from relaygraph.server.bus import open_bus
from relaygraph.server.routes import ROUTES
from relaygraph.server.runs import EventLog, RunService
from relaygraph.server.storage import SqliteStorage, Storage

__all__ = ["create_app"]

logger = logging.getLogger("relaygraph.server")

_EXPOSE = ["x-pagination-total", "x-pagination-next", "content-location"]
_HOT_PREFIXES = ("/threads/{thread_id}/runs", "/runs")
_METHODS = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]


def _error(status: int, detail: Any, headers: Mapping[str, str] | None = None) -> Response:
    return Response(
        _json.dumps({"detail": detail}), status, dict(headers or {}), "application/json"
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPError)
    return _error(exc.status, exc.detail, exc.headers)


async def _starlette_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return _error(exc.status_code, exc.detail, exc.headers)


async def _unhandled(request: Request, exc: Exception) -> Response:
    logger.exception("unhandled error", extra={"path": request.url.path})
    return _error(500, "Internal Server Error")


async def _ensure_assistants(storage: Storage, graphs: GraphRegistry) -> None:
    for graph_id in graphs.ids:
        now = now_iso()
        await storage.create_assistant(
            {
                "assistant_id": assistant_id_for(graph_id),
                "graph_id": graph_id,
                "name": graph_id,
                "metadata": {"created_by": "system"},
                "created_at": now,
                "updated_at": now,
            }
        )


async def _sweep(storage: Storage, retention_s: float) -> None:
    while True:
        await asyncio.sleep(min(max(retention_s / 4, 1.0), 300.0))
        removed = await storage.sweep_events(time.time() - retention_s)
        if removed:
            logger.info("swept run events", extra={"rows": removed})


def _open_storage(settings: ServerSettings) -> Storage:
    if settings.database_url:
        from relaygraph.server.storage import PostgresStorage

        return PostgresStorage(settings.database_url, max_size=max(4, settings.n_jobs))
    return SqliteStorage(settings.data_dir / "server.sqlite")


def _hot_first(routes: list[BaseRoute]) -> list[BaseRoute]:
    """The route table with the runs' routes first: the router tries routes in order, and
    creating and streaming runs is the hot path (no runs path is also another route's)."""
    hot = [r for r in routes if getattr(r, "path", "").startswith(_HOT_PREFIXES)]
    return [*hot, *(r for r in routes if r not in hot)]


def create_app(
    settings: ServerSettings | None = None,
    *,
    graphs: GraphRegistry | None = None,
    storage: Storage | None = None,
) -> Starlette:
    """The server as an ASGI app.

    Graphs come from ``settings.config`` (``langgraph.json``), imported here so that a broken
    graph fails at once with ``GraphLoadError``; ``graphs``/``storage`` replace them (tests).
    The databases open, and the run workers start, in the app's lifespan.
    """
    settings = settings or ServerSettings.from_env()
    registry = graphs if graphs is not None else GraphRegistry.load(read_project(settings.config))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        store = storage or _open_storage(settings)
        await store.setup()
        async with open_saver(settings) as saver:
            await saver.setup()
            bound = registry.bound(saver)
            await _ensure_assistants(store, bound)
            metrics = Metrics()
            openapi = load_openapi(bound.ids)
            bus = open_bus(settings.redis_url, settings.database_url, settings.bus_channel)
            log = EventLog(store, settings.subscriber_buffer, bus)
            runs = RunService(
                store,
                bound,
                openapi,
                log,
                saver,
                metrics,
                settings.n_jobs,
                bus=bus,
                lease_s=settings.run_lease_s,
                max_attempts=settings.max_attempts,
            )
            app.state.ctx = ServerContext(
                settings, store, bound, openapi, saver, log, runs, metrics
            )
            await runs.start()
            sweeper = asyncio.ensure_future(_sweep(store, settings.event_retention_s))
            logger.info(
                "server ready",
                extra={
                    "graphs": bound.ids,
                    "storage": type(store).__name__,
                    "bus": type(bus).__name__,
                    "worker_id": runs.pool.worker_id,
                },
            )
            try:
                yield
            finally:
                sweeper.cancel()
                await runs.stop(
                    grace_s=settings.shutdown_grace_s, handoff=settings.handoff_on_shutdown
                )
                await log.stop()
                await asyncio.gather(sweeper, return_exceptions=True)
                await store.close()

    middleware = [
        Middleware(
            CORSMiddleware,
            allow_origins=["*"],
            allow_methods=_METHODS,
            allow_headers=["*"],
            expose_headers=_EXPOSE,
            max_age=600,
        )
    ]
    if settings.api_key:
        middleware.append(Middleware(ApiKeyMiddleware, api_key=settings.api_key))
    return Starlette(
        routes=_hot_first(ROUTES),
        middleware=middleware,
        exception_handlers={
            HTTPError: _http_error,
            HTTPException: _starlette_error,
            Exception: _unhandled,
        },
        lifespan=lifespan,
    )
