"""``astream_events`` for graphs: LangChain's event stream over a traced ``astream``.

The graph is handed to LangChain's own ``astream_events`` machinery through a thin
``Runnable`` adapter. That machinery adds its event handler to the config's callbacks and
iterates ``graph.astream(...)``; with callbacks configured, the engine records the graph and
each node attempt as chain runs (``_callbacks.RunTracer``), so the events are LangChain's:

* the root ``on_chain_start``/``on_chain_end`` (named after the graph), and one root
  ``on_chain_stream`` per chunk ``astream`` yields (so it follows ``stream_mode``);
* per node: ``on_chain_start`` (tag ``graph:step:N``), ``on_chain_stream`` with the node's
  return value, and ``on_chain_end`` with output and input;
* whatever runs inside a node under its ``seq:step:1`` child: chat models, custom events
  (``adispatch_custom_event``), tools, and nested graphs (which get no stream event);
* filtering by ``include_*``/``exclude_*`` names, tags and types; ``version="v1"`` as well.

LangChain is imported here only, and this module only when ``astream_events`` is called.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from langchain_core.runnables import Runnable, RunnableConfig

from relaygraph.stream import _format as fmt

__all__ = ["astream_events", "stream_events"]

# Chunks written from inside running tasks reach LangGraph's stream consumer a few event-loop
# turns after they are written (they hop through ``call_soon_threadsafe`` and the loop's
# waiter), while the step loop's own chunks are yielded at once. Handing ours to the event
# handler after the same number of turns keeps the root ``on_chain_stream`` events where the
# reference puts them relative to the node's own events (e.g. a custom chunk written before
# ``await adispatch_custom_event(...)`` lands after the node's ``on_chain_stream``).
_TASK_CHUNK_LAG = 4
_FROM_TASKS = frozenset(("custom", "messages", "tools"))


class _GraphRunnable(Runnable[Any, Any]):
    """A compiled graph seen as a LangChain ``Runnable`` (for the event-stream machinery)."""

    def __init__(self, graph: Any) -> None:
        self.graph = graph
        self.name = graph.name

    def get_name(self, suffix: str | None = None, *, name: str | None = None) -> str:
        base = name or self.graph.name
        return f"{base}{suffix}" if suffix else str(base)

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        return self.graph.invoke(input, config, **kwargs)

    async def ainvoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        return await self.graph.ainvoke(input, config, **kwargs)

    async def astream(  # type: ignore[override]
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> AsyncIterator[Any]:
        # Stream with mode tags so chunks written by tasks can be told apart, then give each
        # chunk the shape the caller's ``stream_mode`` asks for.
        graph = self.graph
        stream_mode = kwargs.pop("stream_mode", None)
        subgraphs = bool(kwargs.get("subgraphs", False))
        version = kwargs.get("version", "v1")
        modes, tagged, _, version = graph._stream_setup(
            stream_mode, (), None, subgraphs, version, {}
        )
        shape = fmt.formatter(
            tagged, subgraphs, version, graph._to_state(kwargs.get("output_keys"))
        )
        async for item in graph.astream(input, config, stream_mode=list(modes), **kwargs):
            if version == "v2":
                ns, mode, out = item["ns"], item["type"], item
            else:
                ns, mode, payload = item if subgraphs else ((), *item)
                out = shape(ns, mode, payload)
            if ns or mode in _FROM_TASKS:
                for _ in range(_TASK_CHUNK_LAG):
                    await asyncio.sleep(0)
            yield out


def astream_events(
    graph: Any,
    input: Any,
    config: Any = None,
    *,
    version: str = "v2",
    include_names: Sequence[str] | None = None,
    include_types: Sequence[str] | None = None,
    include_tags: Sequence[str] | None = None,
    exclude_names: Sequence[str] | None = None,
    exclude_types: Sequence[str] | None = None,
    exclude_tags: Sequence[str] | None = None,
    **kwargs: Any,
) -> AsyncIterator[dict[str, Any]]:
    """The events of one run of ``graph``; ``kwargs`` go to ``graph.astream``."""
    if version not in ("v1", "v2"):
        raise NotImplementedError(
            f"astream_events(version={version!r}) is not supported; use 'v1' or 'v2'."
        )
    runnable: Any = _GraphRunnable(graph)
    events = runnable.astream_events(
        input,
        config,
        version=version,
        include_names=include_names,
        include_types=include_types,
        include_tags=include_tags,
        exclude_names=exclude_names,
        exclude_types=exclude_types,
        exclude_tags=exclude_tags,
        **kwargs,
    )
    return events  # type: ignore[no-any-return]


def stream_events(
    graph: Any, input: Any, config: Any = None, *, version: str = "v2", **kwargs: Any
) -> Iterator[dict[str, Any]]:
    """Sync event streaming is not available for v1/v2 (as in LangChain): always raises."""
    raise NotImplementedError(
        f"stream_events(version={version!r}) is not supported. Use astream_events() for "
        "v1/v2, or stream_events(version='v3') on a supported subclass."
    )
