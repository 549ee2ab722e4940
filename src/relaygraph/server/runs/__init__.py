"""Runs: the service the routes call, its queue and workers, execution, and event logs."""

from __future__ import annotations

from relaygraph.server.runs._modes import WIRE_MODES, mode_of_event
from relaygraph.server.runs._service import RunService
from relaygraph.server.runs._stream import EventLog, RunStream

__all__ = ["WIRE_MODES", "EventLog", "RunService", "RunStream", "mode_of_event"]
