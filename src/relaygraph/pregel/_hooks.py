"""Optional layers around ``RunLoop``'s generators: node caching and callback tracing.

``RunLoop.steps()`` and ``RunLoop.task_steps()`` hand their generators to these wrappers only
when a run needs them (a cached node, LangChain callbacks in the config), so a plain run pays
nothing. The wrappers add ``SERVICE`` ops, ``(SERVICE, obj, method, args)``: the sync driver
calls ``obj.method(*args)`` and the async driver awaits ``obj.a<method>(*args)``, so cache
lookups and callback hooks are written once here and performed by both drivers.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from relaygraph.pregel._cache import cache_key

if TYPE_CHECKING:
    from relaygraph.pregel._algo import Task
    from relaygraph.pregel._loop import Op, RunLoop

__all__ = ["cached_task_steps", "new_tracer", "traced_steps"]

SERVICE = "service"


def new_tracer(loop: RunLoop) -> Any:
    """A ``RunTracer`` when the run's config carries LangChain callbacks, else ``None``."""
    if not loop.config.get("callbacks"):
        return None
    from relaygraph.pregel._callbacks import RunTracer, wants_tracing

    return RunTracer(loop) if wants_tracing(loop.config) else None


def traced_steps(loop: RunLoop, inner: Generator[Op, Any, None]) -> Generator[Op, Any, None]:
    """``inner`` (the run's steps) inside the graph's callback run."""
    tracer = loop.tracer
    yield (SERVICE, tracer, "graph_start", ())
    try:
        yield from inner
    except GeneratorExit:
        raise
    except BaseException as exc:
        yield (SERVICE, tracer, "graph_error", (exc,))
        raise
    yield (SERVICE, tracer, "graph_end", ())


def cached_task_steps(
    loop: RunLoop, task: Task, inner: Generator[Op, Any, None]
) -> Generator[Op, Any, None]:
    """``inner`` (one task's steps) behind the node cache and inside node callback runs.

    Cache hit: the cached writes become the task's and the node does not run
    (``task.cached``). Miss: the task runs and, if it succeeds, its writes are stored.
    """
    cache = loop.cache
    key = None
    if cache is not None and task.node.cache_policy is not None:
        try:
            key = cache_key(task.node, task.input)
        except Exception as exc:
            task.error = exc
            return
        found = yield (SERVICE, cache, "get", ([key],))
        if key in found:
            task.writes = list(found[key])
            task.cached = True
            return
    if loop.tracer is not None:
        yield from _traced_task(loop, task, inner)
    else:
        yield from inner
    if key is not None and task.error is None and not task.interrupts:
        ttl = task.node.cache_policy.ttl
        yield (SERVICE, cache, "set", ({key: (list(task.writes), ttl)},))


def _traced_task(
    loop: RunLoop, task: Task, inner: Generator[Op, Any, None]
) -> Generator[Op, Any, None]:
    """Forward ``inner``'s ops, opening a node run around each attempt at the node.

    An attempt starts at the ``(CALL, "node")`` op and ends when the task's steps finish
    (after its branches) or when the node call fails (before a retry).
    """
    from relaygraph.pregel._loop import CALL

    tracer = loop.tracer
    send: Any = None
    error: BaseException | None = None
    open_run = False
    failure: BaseException | None = None  # what went wrong after the node returned
    branch_index = 0
    while True:
        try:
            op = inner.throw(error) if error is not None else inner.send(send)
        except StopIteration:
            break
        error = None
        is_node = op[0] is CALL and op[1] == "node"
        branch_run = None
        if is_node:
            if open_run:  # a retry after a failing branch: close the previous attempt
                yield (SERVICE, tracer, "node_error", (task, failure))
            yield (SERVICE, tracer, "node_start", (task,))
            open_run, failure, branch_index = True, None, 0
        elif open_run and op[0] is CALL and op[1] == "branch":
            branch_run = yield (SERVICE, tracer, "branch_start", (task, branch_index, op[3]))
            branch_index += 1
        try:
            send = yield op
        except GeneratorExit:
            raise
        except BaseException as exc:
            if is_node:
                open_run = False
                yield (SERVICE, tracer, "node_error", (task, exc))
            else:
                if branch_run is not None:
                    yield (SERVICE, tracer, "branch_error", (branch_run, exc))
                failure = exc
            error = exc
        else:
            if branch_run is not None:
                yield (SERVICE, tracer, "branch_end", (branch_run, send))
    if open_run:
        if task.error is not None or failure is not None:
            yield (SERVICE, tracer, "node_error", (task, task.error or failure))
        else:
            yield (SERVICE, tracer, "node_end", (task, task.returned))
