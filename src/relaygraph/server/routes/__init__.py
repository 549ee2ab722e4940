"""The route table: thin handlers that parse HTTP and call the server's services."""

from __future__ import annotations

from starlette.routing import BaseRoute

from relaygraph.server.routes import assistants, meta, runs, store, thread_stream, threads

__all__ = ["ROUTES"]

ROUTES: list[BaseRoute] = [
    *meta.routes,
    *assistants.routes,
    *threads.routes,
    *runs.routes,
    *store.routes,
    *thread_stream.routes,
]
