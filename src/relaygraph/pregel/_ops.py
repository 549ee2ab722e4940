"""The I/O requests ``RunLoop.steps()`` yields to its drivers, and what each carries."""

from __future__ import annotations

from typing import Any

from relaygraph.pregel import _hooks

LOAD, PUT, RUN, PUT_WRITES = "load", "put", "run", "put_writes"
"""``(LOAD[, config])`` a checkpoint tuple; ``(PUT, config, checkpoint, metadata, versions)``;
``(RUN, tasks, step)`` the tasks of a step."""
CALL, SLEEP = "call", "sleep"
"""Requests of ``RunLoop.task_steps()``: call the node or a branch; wait before a retry."""
SERVICE = _hooks.SERVICE
"""``(SERVICE, obj, method, args)``: ``obj.method(*args)``, or ``await obj.a<method>(*args)``."""

Op = tuple[Any, ...]
