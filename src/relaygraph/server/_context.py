"""What every route reaches through ``request.app.state.ctx``."""

from __future__ import annotations

import dataclasses
from typing import Any

from relaygraph.server._errors import HTTPError
from relaygraph.server._graphs import GraphRegistry
from relaygraph.server._metrics import Metrics
from relaygraph.server._schema import OpenAPI
from relaygraph.server._settings import ServerSettings
from relaygraph.server.runs import EventLog, RunService
from relaygraph.server.storage import Row, Storage

__all__ = ["ServerContext"]


@dataclasses.dataclass
class ServerContext:
    """The server's parts, built once at startup."""

    settings: ServerSettings
    storage: Storage
    graphs: GraphRegistry
    openapi: OpenAPI
    saver: Any
    log: EventLog
    runs: RunService
    metrics: Metrics

    def graph_of(self, thread: Row, *, required: bool = False) -> Any:
        """The graph a thread's runs use (``None`` if it never ran, unless ``required``)."""
        graph_id = (thread.get("metadata") or {}).get("graph_id")
        if isinstance(graph_id, str) and graph_id in self.graphs:
            return self.graphs.get(graph_id)
        if required:
            raise HTTPError(
                400,
                f"Thread '{thread['thread_id']}' has no assigned graph ID. This usually occurs "
                "when no run has been made on this thread. Please create a run first.",
            )
        return None
