"""The relaygraph API server: the LangGraph Platform wire protocol over Starlette.

    from relaygraph.server import ServerSettings, create_app
    app = create_app(ServerSettings(config=Path("langgraph.json")))   # then: uvicorn app

Layout: ``routes/`` (thin HTTP handlers), ``runs/`` (service, queue, workers, execution,
event logs), ``storage/`` (the storage interface and its SQLite backend with named queries),
``_streaming`` (SSE and keep-alive JSON responses), ``_schema`` (request validation against
the served OpenAPI document), ``_graphs`` (``langgraph.json`` loading).
"""

from __future__ import annotations

from relaygraph.server._app import create_app
from relaygraph.server._graphs import GraphLoadError, GraphRegistry, read_project
from relaygraph.server._settings import ServerSettings

__all__ = ["GraphLoadError", "GraphRegistry", "ServerSettings", "create_app", "read_project"]
