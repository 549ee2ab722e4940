"""LangChain callback runs for a graph run and its node tasks (what ``astream_events`` sees).

When a run's config carries LangChain ``callbacks``, the run is traced the way LangGraph traces
it: the graph is one chain run (named after the graph, ``run_id`` taken from the config, with
``ls_integration: langgraph`` metadata), and every node attempt is a child chain run tagged
``graph:step:N`` with the task's metadata. Inside a node, ``config["callbacks"]`` becomes the
node run's ``seq:step:1`` child, so chat models, custom events and nested graphs called from
the node are recorded under it. In async runs, streaming handlers (``astream_events``,
``astream_log``) are shown the node's return value as its single streamed chunk.

``RunLoop`` asks for these hooks as ``SERVICE`` ops, so the sync driver calls the plain
methods and the async driver awaits the ``a``-prefixed ones; what they record (names, tags,
metadata, parents) is decided once, in the shared ``_*_manager`` helpers. LangChain is imported
only here, and this module only when a run has callbacks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import BaseCallbackManager
from langchain_core.callbacks.manager import AsyncCallbackManager, CallbackManager
from langchain_core.tracers._streaming import _StreamingCallbackHandler

if TYPE_CHECKING:
    from relaygraph.pregel._algo import Task
    from relaygraph.pregel._loop import RunLoop

__all__ = ["RunTracer", "wants_tracing"]

_LS_INTEGRATION = {"ls_integration": "langgraph"}
# configurable keys a graph run also records as metadata (when set and not already there)
_TO_METADATA = (
    "thread_id",
    "checkpoint_id",
    "checkpoint_ns",
    "task_id",
    "run_id",
    "assistant_id",
    "graph_id",
)


def wants_tracing(config: dict[str, Any]) -> bool:
    """Whether a run with this config records LangChain callback runs.

    Only the engine's own stream-mode handlers (which need no runs) do not count.
    """
    return any(
        not type(h).__module__.startswith("relaygraph.")
        for h in _handlers_of(config.get("callbacks"))
    )


def _handlers_of(callbacks: Any) -> list[Any]:
    if isinstance(callbacks, BaseCallbackManager):
        return list(callbacks.handlers)
    if isinstance(callbacks, (list, tuple)):
        return list(callbacks)
    return [] if callbacks is None else [callbacks]


def _stream_handlers(handlers: Iterable[Any]) -> list[Any]:
    """Handlers that want a run's streamed output (LangChain's event/log streamers).

    The engine's own ``messages``/``tools`` handlers are left out, as LangGraph leaves out its
    stream-mode handlers.
    """
    return [
        h
        for h in handlers
        if isinstance(h, _StreamingCallbackHandler)
        and not type(h).__module__.startswith("relaygraph.")
    ]


async def _one(value: Any) -> AsyncIterator[Any]:
    yield value


class RunTracer:
    """The callback runs of one ``RunLoop``: the graph run and its live node runs."""

    def __init__(self, loop: RunLoop) -> None:
        self.loop = loop
        self.run: Any = None
        self.node_runs: dict[str, Any] = {}
        self.base_handlers = _handlers_of(loop.config.get("callbacks"))

    # == what is recorded (shared by both faces) ==========================================
    def _graph_manager(self, cls: type[Any]) -> tuple[Any, dict[str, Any]]:
        config = self.loop.config
        metadata = dict(config.get("metadata") or {})
        configurable = config.get("configurable") or {}
        for key in _TO_METADATA:
            value = configurable.get(key)
            if value and key not in metadata:
                metadata[key] = value
        manager = cls.configure(
            inheritable_callbacks=config.get("callbacks"),
            inheritable_tags=config.get("tags"),
            inheritable_metadata=metadata,
        )
        if "ls_integration" not in manager.metadata:
            manager.add_metadata(dict(_LS_INTEGRATION))
        start = {
            "name": config.get("run_name") or self.loop.graph.name,
            "run_id": config.get("run_id"),
        }
        return manager, start

    def _node_manager(self, cls: type[Any], task: Task) -> Any:
        config = self.loop.config_of(task)
        tags = list(config.get("tags") or ())
        tags.extend(t for t in task.node.tags if t not in tags)
        manager = cls.configure(
            inheritable_callbacks=self.run.get_child(f"graph:step:{self.loop.step + 1}"),
            inheritable_tags=tags,
            inheritable_metadata=config.get("metadata"),
        )
        # Follow the task's own callbacks: handlers the engine attached to this task (its
        # messages/tools handlers) join, handlers it dropped (a parent task's) leave.
        task_handlers = _handlers_of(config.get("callbacks"))
        for h in self.base_handlers:
            if h not in task_handlers and h in manager.handlers:
                manager.remove_handler(h)
        for h in task_handlers:
            if h not in self.base_handlers:
                manager.add_handler(h, inherit=True)
        return manager

    def _node_started(self, task: Task, run: Any) -> None:
        self.node_runs[task.id] = run
        config = self.loop.config_of(task)
        config["callbacks"] = run.get_child("seq:step:1")
        config.pop("run_id", None)
        config.pop("run_name", None)

    def _graph_output(self) -> Any:
        return self.loop.output()

    def _branch_manager(self, cls: type[Any], task: Task, index: int) -> tuple[Any, Any]:
        """The callback manager for the task's ``index``-th branch, and the branch."""
        node = task.node
        branch = node.branches[index]
        # LangGraph's node sequence: the node, its state writer, its edge writer (if it has
        # static edges), then one step per branch.
        step = 3 + index + (1 if node.edge_writes else 0)
        config = self.loop.config_of(task)
        manager = cls.configure(
            inheritable_callbacks=self.node_runs[task.id].get_child(f"seq:step:{step}"),
            inheritable_tags=config.get("tags"),
            inheritable_metadata=config.get("metadata"),
        )
        return manager, branch

    @staticmethod
    def _branch_name(branch: Any, is_async: bool) -> str | None:
        name = getattr(branch.path, "__name__", None)
        if name is not None and name != "<lambda>":
            return str(name)
        # LangGraph's run for an anonymous routing function is named by its sync face only.
        return None if is_async else "RunnableCallable"

    # == sync face =======================================================================
    def graph_start(self) -> None:
        """Start the graph's chain run."""
        manager, start = self._graph_manager(CallbackManager)
        self.run = manager.on_chain_start(None, self.loop.input, **start)

    def graph_end(self) -> None:
        """End the graph's run with the run's output."""
        if self.run is not None:
            self.run.on_chain_end(self._graph_output())

    def graph_error(self, error: BaseException) -> None:
        """End the graph's run with ``error``."""
        if self.run is not None:
            self.run.on_chain_error(error)

    def node_start(self, task: Task) -> None:
        """Start a chain run for one attempt of ``task``; its config now points inside it."""
        run = self._node_manager(CallbackManager, task).on_chain_start(
            None, task.input, name=task.name
        )
        self._node_started(task, run)

    def node_end(self, task: Task, output: Any) -> None:
        """End the task's run (the sync face streams nothing, as in LangGraph)."""
        run = self.node_runs.pop(task.id, None)
        if run is not None:
            run.on_chain_end(output)

    def node_error(self, task: Task, error: BaseException) -> None:
        """End the task's run with ``error``."""
        run = self.node_runs.pop(task.id, None)
        if run is not None:
            run.on_chain_error(error)

    def branch_start(self, task: Task, index: int, arg: Any) -> Any:
        """Start a run for a conditional edge of ``task``'s node; returns it."""
        manager, branch = self._branch_manager(CallbackManager, task, index)
        return manager.on_chain_start(None, arg, name=self._branch_name(branch, False))

    def branch_end(self, run: Any, result: Any) -> None:
        """End a conditional edge's run with the routing function's result."""
        run.on_chain_end(result)

    def branch_error(self, run: Any, error: BaseException) -> None:
        """End a conditional edge's run with ``error``."""
        run.on_chain_error(error)

    # == async face ======================================================================
    async def agraph_start(self) -> None:
        """Async ``graph_start``."""
        manager, start = self._graph_manager(AsyncCallbackManager)
        self.run = await manager.on_chain_start(None, self.loop.input, **start)

    async def agraph_end(self) -> None:
        """Async ``graph_end``."""
        if self.run is not None:
            await self.run.on_chain_end(self._graph_output())

    async def agraph_error(self, error: BaseException) -> None:
        """Async ``graph_error``."""
        if self.run is not None:
            await self.run.on_chain_error(error)

    async def anode_start(self, task: Task) -> None:
        """Async ``node_start``."""
        run = await self._node_manager(AsyncCallbackManager, task).on_chain_start(
            None, task.input, name=task.name
        )
        self._node_started(task, run)

    async def anode_end(self, task: Task, output: Any) -> None:
        """Show ``output`` to streaming handlers as the run's one chunk, then end the run."""
        run = self.node_runs.pop(task.id, None)
        if run is None:
            return
        for h in _stream_handlers(run.handlers):
            async for _ in h.tap_output_aiter(run.run_id, _one(output)):
                pass
        await run.on_chain_end(output)

    async def anode_error(self, task: Task, error: BaseException) -> None:
        """Async ``node_error``."""
        run = self.node_runs.pop(task.id, None)
        if run is not None:
            await run.on_chain_error(error)

    async def abranch_start(self, task: Task, index: int, arg: Any) -> Any:
        """Async ``branch_start``."""
        manager, branch = self._branch_manager(AsyncCallbackManager, task, index)
        return await manager.on_chain_start(None, arg, name=self._branch_name(branch, True))

    async def abranch_end(self, run: Any, result: Any) -> None:
        """Async ``branch_end``."""
        await run.on_chain_end(result)

    async def abranch_error(self, run: Any, error: BaseException) -> None:
        """Async ``branch_error``."""
        await run.on_chain_error(error)
