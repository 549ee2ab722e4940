"""``Pregel``: the run-facing face of a compiled graph (stream, invoke, state, history)."""

from __future__ import annotations

import contextvars
import threading
import warnings
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from relaygraph.constants import INTERRUPT
from relaygraph.pregel._context import current_task_or_none
from relaygraph.pregel._drivers import drive_sync, run_async, run_sync
from relaygraph.pregel._loop import RunLoop
from relaygraph.pregel._state_api import DEFAULT_RECURSION_LIMIT, StateAPI
from relaygraph.stream import _format as fmt
from relaygraph.stream._channel import DEFAULT_MAXSIZE, EventChannel, StreamClosed
from relaygraph.stream._emit import Emitter, Target
from relaygraph.types import GraphOutput

if TYPE_CHECKING:
    pass


_IN_NODE_MODES = frozenset({"custom", "messages", "tools"})
"""Modes whose events are emitted while a node runs, so a sync stream needs a producer thread."""


class Pregel(StateAPI):
    """A compiled graph. Subclasses set the channel/node spec; this class runs it."""

    _is_relaygraph_graph = True
    stream_mode: str = "updates"
    stream_buffer: int = DEFAULT_MAXSIZE

    # set by the subclass
    channels: dict[str, Any]
    nodes: dict[str, Any]
    node_names: frozenset[str]
    state_keys: tuple[str, ...]
    trigger_index: dict[str, list[str]]
    subgraph_nodes: frozenset[str]
    checkpointer: Any
    store: Any
    cache: Any
    interrupt_before_nodes: tuple[str, ...]
    interrupt_after_nodes: tuple[str, ...]
    debug: bool
    name: str
    start_writes: tuple[tuple[str, Any], ...]
    start_branches: tuple[Any, ...]
    input_info: Any
    output_info: Any
    state_info: Any
    context_schema: Any = None
    bound_config: dict[str, Any] | None = None

    # == run setup =======================================================================
    def _make_loop(
        self,
        input: Any,
        config: Mapping[str, Any] | None,
        *,
        own: Target | None,
        context: Any,
        output_keys: str | Sequence[str] | None,
        interrupt_before: Any,
        interrupt_after: Any,
        durability: str | None,
        control: Any = None,
    ) -> RunLoop:
        parent = current_task_or_none()
        cfg: dict[str, Any] = (
            merge_configs(self.bound_config, config) if self.bound_config else dict(config or {})
        )
        if output_keys is not None:
            keys = [output_keys] if isinstance(output_keys, str) else list(output_keys)
            for k in keys:
                if k not in self.state_keys:
                    raise ValueError(f"Key {k} not in channels")
        targets: list[Target] = [own] if own is not None else []
        if parent is not None:
            ploop = parent.loop
            if not cfg:
                cfg = dict(parent.config)
            n = parent.subgraph_calls
            parent.subgraph_calls += 1
            elem = f"{parent.task.name}:{parent.task.id}"
            ns = (*ploop.ns, elem) if n == 0 else (*ploop.ns, elem, str(n))
            if own is not None:
                own.depth = len(ns)
            if self.checkpointer is False:
                checkpointer = None
            elif self.checkpointer in (None, True):
                checkpointer = ploop.checkpointer
            else:
                checkpointer = self.checkpointer
            for t in ploop.emitter.inherited_targets():
                if own is not None and own.modes:
                    t = Target(t.modes - own.modes, t.put, t.subgraphs, t.depth)
                targets.append(t)
            durability = durability or ploop.durability
            context = context if context is not None else ploop.context
            limit = cfg.get("recursion_limit", ploop.recursion_limit)
        else:
            ns = ()
            checkpointer = self.checkpointer if self.checkpointer not in (True, False) else None
            limit = cfg.get("recursion_limit", DEFAULT_RECURSION_LIMIT)
            if checkpointer is not None:
                conf = cfg.get("configurable") or {}
                if not conf.get("thread_id") and not conf.get("checkpoint_id"):
                    raise ValueError(
                        "Checkpointer requires one or more of the following 'configurable' "
                        "keys: thread_id, checkpoint_ns, checkpoint_id"
                    )
            elif durability is not None:
                warnings.warn(
                    "`durability` has no effect when no checkpointer is present.", stacklevel=4
                )
        if not isinstance(limit, int) or limit < 1:
            raise ValueError("recursion_limit must be at least 1")
        durability = durability or "async"
        if durability not in ("sync", "async", "exit"):
            raise ValueError(f"durability must be 'sync', 'async' or 'exit', got {durability!r}")
        if context is not None and self.context_schema is not None and isinstance(context, Mapping):
            schema = self.context_schema
            if not (isinstance(schema, type) and issubclass(schema, dict)):
                context = schema(**context)
        ib = fmt.normalize_names(interrupt_before) or self.interrupt_before_nodes
        ia = fmt.normalize_names(interrupt_after) or self.interrupt_after_nodes
        for name in (*ib, *ia):
            if name != "*" and name not in self.node_names:
                raise ValueError(f"Interrupt node `{name}` not found")
        return RunLoop(
            self,
            input,
            config=cfg,
            emitter=Emitter(ns, targets),
            checkpointer=checkpointer,
            durability=durability,
            recursion_limit=limit,
            interrupt_before=ib,
            interrupt_after=ia,
            output_keys=output_keys,
            context=context,
            store=self.store,
            cache=self.cache,
            ns=ns,
            parent=parent,
            control=control
            if control is not None
            else (parent.loop.control if parent is not None else None),
        )

    def _stream_setup(
        self,
        stream_mode: Any,
        print_mode: Any,
        debug: bool | None,
        subgraphs: bool,
        version: Any,
        kwargs: dict[str, Any],
    ) -> tuple[list[str], bool, frozenset[str], str]:
        _pop_deprecated(kwargs)
        if kwargs:
            raise TypeError(f"stream() got unexpected keyword arguments: {sorted(kwargs)}")
        version = fmt.check_version(version)
        parent = current_task_or_none()
        default = "values" if parent is not None else self.stream_mode
        modes, tagged = fmt.parse_modes(stream_mode, default)
        printed, _ = fmt.parse_modes(print_mode or [], default)
        if debug or (debug is None and self.debug):
            printed = list(dict.fromkeys([*printed, "updates", "values"]))
        return modes, tagged, frozenset(printed), version

    # == streaming =======================================================================
    def stream(
        self,
        input: Any,
        config: Mapping[str, Any] | None = None,
        *,
        context: Any = None,
        stream_mode: Any = None,
        print_mode: Any = (),
        output_keys: str | Sequence[str] | None = None,
        interrupt_before: Any = None,
        interrupt_after: Any = None,
        durability: str | None = None,
        subgraphs: bool = False,
        debug: bool | None = None,
        version: str = "v1",
        **kwargs: Any,
    ) -> Iterator[Any]:
        """Run the graph, yielding its progress in the requested stream mode(s).

        A ``str`` mode yields chunks; a ``list`` yields ``(mode, chunk)``; ``subgraphs=True``
        prefixes the namespace; ``version="v2"`` yields ``{"type", "ns", "data"}`` dicts.
        Modes emitted between steps only (values, updates, tasks, checkpoints, debug) run
        on the caller's thread, one step ahead at most. With modes emitted from inside nodes
        (custom, messages, tools) or ``subgraphs=True``, the run happens on a producer thread
        that pauses when the consumer falls ``stream_buffer`` events behind.
        """
        opts = _run_options(
            context, print_mode, output_keys, interrupt_before, interrupt_after, durability, version
        )
        events: deque[Any] = deque()
        channel: EventChannel | None = None

        def target(wanted: frozenset[str]) -> Target:
            nonlocal channel
            if not subgraphs and wanted.isdisjoint(_IN_NODE_MODES):
                return Target(wanted, events.append, False)
            channel = EventChannel(self.stream_buffer)
            return Target(wanted, channel.put, subgraphs, channel=channel)

        loop, delivery = self._prepare_stream(
            input, config, stream_mode, subgraphs, debug, opts, kwargs, target
        )
        if channel is None:
            return self._iterate_inline(loop, events, delivery)
        return self._iterate(loop, channel, delivery)

    def _prepare_stream(
        self,
        input: Any,
        config: Mapping[str, Any] | None,
        stream_mode: Any,
        subgraphs: bool,
        debug: bool | None,
        opts: dict[str, Any],
        kwargs: dict[str, Any],
        target: Callable[[frozenset[str]], Target],
    ) -> tuple[RunLoop, _Delivery]:
        """Validate a ``stream``/``astream`` call; the run's loop and how to hand out events.

        ``target`` makes the stream's own consumer from the modes it must receive.
        """
        control = kwargs.pop("control", None)
        durability = _pop_deprecated(kwargs) or opts["durability"]
        modes, tagged, printed, version = self._stream_setup(
            stream_mode, opts["print_mode"], debug, subgraphs, opts["version"], kwargs
        )
        loop = self._make_loop(
            input,
            config,
            own=target(frozenset(modes) | printed),
            context=opts["context"],
            output_keys=opts["output_keys"],
            interrupt_before=opts["interrupt_before"],
            interrupt_after=opts["interrupt_after"],
            durability=durability,
            control=control,
        )
        to_state = self._to_state(opts["output_keys"])
        return loop, _Delivery(modes, tagged, printed, subgraphs, version, to_state)

    def _iterate_inline(
        self, loop: RunLoop, events: deque[Any], delivery: _Delivery
    ) -> Iterator[Any]:
        """Run the loop on the caller's thread, handing out each step's events after it.

        Used when no requested mode is emitted from inside nodes: such events only appear
        between steps, so there is nothing to deliver while a node runs, and the run never
        gets ahead of its reader by more than one step.
        """
        driver = drive_sync(loop)
        try:
            done = False
            error: BaseException | None = None
            while not done:
                try:
                    next(driver)
                except StopIteration:
                    done = True
                except BaseException as e:  # hand out what the step emitted, then raise
                    done, error = True, e
                yield from delivery.drain(events)
            if error is not None:
                raise error
        finally:
            driver.close()

    def _iterate(self, loop: RunLoop, channel: EventChannel, delivery: _Delivery) -> Iterator[Any]:
        """Run the loop on a producer thread; hand out events as they arrive."""
        ctx = contextvars.copy_context()

        def produce() -> None:
            try:
                ctx.run(run_sync, loop)
            except StreamClosed:
                channel.finish()
            except BaseException as e:
                channel.finish(e)
            else:
                channel.finish()

        thread = threading.Thread(target=produce, name="relaygraph-run", daemon=True)
        thread.start()
        try:
            while channel.wait():
                yield from delivery.drain(channel.buf)
                channel.wake_producers()
        finally:
            channel.close()
            if thread is not threading.current_thread():
                thread.join()

    async def astream(
        self,
        input: Any,
        config: Mapping[str, Any] | None = None,
        *,
        context: Any = None,
        stream_mode: Any = None,
        print_mode: Any = (),
        output_keys: str | Sequence[str] | None = None,
        interrupt_before: Any = None,
        interrupt_after: Any = None,
        durability: str | None = None,
        subgraphs: bool = False,
        debug: bool | None = None,
        version: str = "v1",
        **kwargs: Any,
    ) -> AsyncIterator[Any]:
        """The async face of ``stream()``: the run is a task on the running event loop."""
        import asyncio

        opts = _run_options(
            context, print_mode, output_keys, interrupt_before, interrupt_after, durability, version
        )
        channel = EventChannel(self.stream_buffer)
        channel.bind_loop()
        loop, delivery = self._prepare_stream(
            input,
            config,
            stream_mode,
            subgraphs,
            debug,
            opts,
            kwargs,
            lambda wanted: Target(wanted, channel.put, subgraphs, channel=channel),
        )

        async def produce() -> None:
            try:
                await run_async(loop, channel.wait_writable, channel.is_full)
            except StreamClosed:
                channel.finish()
            except BaseException as e:
                channel.finish(e)
                if isinstance(e, asyncio.CancelledError):
                    raise
            else:
                channel.finish()

        runner = asyncio.ensure_future(produce())
        try:
            while await channel.await_items():
                for item in delivery.drain(channel.buf):
                    yield item
        finally:
            channel.close()
            if not runner.done():
                runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)

    def _to_state(self, output_keys: Any) -> Any:
        info = self.state_info
        if output_keys is not None or info.kind in ("typeddict", "dict", "other"):
            return None
        return info.build

    # == invoke ==========================================================================
    def invoke(
        self,
        input: Any,
        config: Mapping[str, Any] | None = None,
        *,
        context: Any = None,
        stream_mode: Any = "values",
        print_mode: Any = (),
        output_keys: str | Sequence[str] | None = None,
        interrupt_before: Any = None,
        interrupt_after: Any = None,
        durability: str | None = None,
        version: str = "v1",
        **kwargs: Any,
    ) -> Any:
        """Run the graph to the end and return its output (the final state by default)."""
        opts = _run_options(
            context, print_mode, output_keys, interrupt_before, interrupt_after, durability, version
        )
        if stream_mode != "values":
            return list(self.stream(input, config, stream_mode=stream_mode, **opts, **kwargs))
        loop = self._invoke_loop(input, config, opts, kwargs)
        run_sync(loop)
        return self._invoke_result(loop, version)

    async def ainvoke(
        self,
        input: Any,
        config: Mapping[str, Any] | None = None,
        *,
        context: Any = None,
        stream_mode: Any = "values",
        print_mode: Any = (),
        output_keys: str | Sequence[str] | None = None,
        interrupt_before: Any = None,
        interrupt_after: Any = None,
        durability: str | None = None,
        version: str = "v1",
        **kwargs: Any,
    ) -> Any:
        """The async face of ``invoke()``."""
        opts = _run_options(
            context, print_mode, output_keys, interrupt_before, interrupt_after, durability, version
        )
        if stream_mode != "values":
            stream = self.astream(input, config, stream_mode=stream_mode, **opts, **kwargs)
            return [c async for c in stream]
        loop = self._invoke_loop(input, config, opts, kwargs)
        await run_async(loop)
        return self._invoke_result(loop, version)

    def _invoke_loop(
        self, input: Any, config: Any, opts: dict[str, Any], kwargs: dict[str, Any]
    ) -> RunLoop:
        control = kwargs.pop("control", None)
        durability = _pop_deprecated(kwargs) or opts["durability"]
        if kwargs:
            raise TypeError(f"invoke() got unexpected keyword arguments: {sorted(kwargs)}")
        fmt.check_version(opts["version"])
        printed, _ = fmt.parse_modes(opts["print_mode"] or [], "values")
        own = Target(frozenset(printed), _printer, False) if printed else None
        return self._make_loop(
            input,
            config,
            own=own,
            context=opts["context"],
            output_keys=opts["output_keys"],
            interrupt_before=opts["interrupt_before"],
            interrupt_after=opts["interrupt_after"],
            durability=durability,
            control=control,
        )

    def _invoke_result(self, loop: RunLoop, version: str) -> Any:
        output = loop.output()
        if version == "v2":
            to_state = self._to_state(None)
            value = to_state(output) if to_state and isinstance(output, dict) else output
            return GraphOutput(value=value, interrupts=tuple(loop.interrupts))
        if loop.interrupts and isinstance(output, dict):
            output = {**output, INTERRUPT: list(loop.interrupts)}
        return output

    # == events and cache =================================================================
    def astream_events(
        self,
        input: Any,
        config: Mapping[str, Any] | None = None,
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
        """LangChain stream events (``on_chain_start``, ``on_chat_model_stream``, ...) of a run.

        ``version`` is ``"v2"`` (with ``parent_ids``) or ``"v1"``; ``include_*``/``exclude_*``
        filter by run name, type and tag; other keyword arguments (``stream_mode``,
        ``context``, ...) go to ``astream``, whose chunks become the root graph's
        ``on_chain_stream`` events. Needs ``langchain-core``.
        """
        from relaygraph.pregel._events import astream_events

        return astream_events(
            self,
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

    def stream_events(
        self,
        input: Any,
        config: Mapping[str, Any] | None = None,
        *,
        version: str = "v2",
        **kwargs: Any,
    ) -> Iterator[dict[str, Any]]:
        """Not supported for ``v1``/``v2`` (as in LangChain): raises; use ``astream_events``."""
        from relaygraph.pregel._events import stream_events

        return stream_events(self, input, config, version=version, **kwargs)

    def clear_cache(self, nodes: Sequence[str] | None = None) -> None:
        """Drop the cached writes of ``nodes`` (all nodes by default) from the graph's cache."""
        from relaygraph.pregel._cache import clear_cache

        clear_cache(self, nodes)

    async def aclear_cache(self, nodes: Sequence[str] | None = None) -> None:
        """The async face of ``clear_cache()``."""
        from relaygraph.pregel._cache import aclear_cache

        await aclear_cache(self, nodes)

    # == introspection ===================================================================
    def get_graph(self, config: Any = None, *, xray: int | bool = False) -> Any:
        """A drawable view of the graph (nodes, edges, ``draw_mermaid()``)."""
        from relaygraph.graph._drawing import graph_view

        return graph_view(self, xray=xray)

    async def aget_graph(self, config: Any = None, *, xray: int | bool = False) -> Any:
        """The async face of ``get_graph()`` (the view is built without I/O)."""
        return self.get_graph(config, xray=xray)

    def get_subgraphs(
        self, *, namespace: str | None = None, recurse: bool = False
    ) -> Iterator[tuple[str, Any]]:
        """Subgraphs added as nodes, as ``(name, graph)``; nested names joined with ``|``."""
        for name in sorted(self.subgraph_nodes):
            sub = self.nodes[name].action
            if not hasattr(sub, "_is_relaygraph_graph"):
                continue
            if namespace is None or name == namespace:
                yield name, sub
            if recurse:
                for child_name, child in sub.get_subgraphs(recurse=True):
                    full = f"{name}|{child_name}"
                    if namespace is None or full == namespace:
                        yield full, child

    def with_config(self, config: Mapping[str, Any] | None = None, **kwargs: Any) -> Pregel:
        """A copy of the graph whose runs start from ``config`` (merged under each run's own)."""
        import copy

        clone = copy.copy(self)
        clone.bound_config = merge_configs(self.bound_config, {**(config or {}), **kwargs})
        return clone


def merge_configs(
    base: Mapping[str, Any] | None, extra: Mapping[str, Any] | None
) -> dict[str, Any]:
    """``extra`` over ``base``: ``configurable`` and ``metadata`` merge key by key, tags add up."""
    out: dict[str, Any] = dict(base or {})
    for key, value in (extra or {}).items():
        if key in ("configurable", "metadata") and isinstance(out.get(key), Mapping):
            out[key] = {**out[key], **(value or {})}
        elif key == "tags" and out.get("tags"):
            out[key] = [*out["tags"], *(t for t in value or () if t not in out["tags"])]
        else:
            out[key] = value
    return out


class _Delivery:
    """How a stream hands out its events: what it yields, what it prints, in which shape."""

    __slots__ = ("bare", "printed", "shape", "wanted")

    def __init__(
        self,
        modes: list[str],
        tagged: bool,
        printed: frozenset[str],
        subgraphs: bool,
        version: str,
        to_state: Any,
    ) -> None:
        self.wanted = frozenset(modes)
        self.printed = printed
        self.shape = fmt.formatter(tagged, subgraphs, version, to_state)
        # every event is a wanted, untagged v1 chunk: yield the payload as it is
        self.bare = not tagged and not subgraphs and version == "v1" and not printed

    def drain(self, events: deque[Any]) -> Iterator[Any]:
        """Yield the items for the ``(ns, mode, payload)`` events queued in ``events``."""
        popleft = events.popleft
        if self.bare:
            while events:
                yield popleft()[2]
            return
        printed, wanted, shape = self.printed, self.wanted, self.shape
        while events:
            ns, mode, payload = popleft()
            if mode in printed:
                fmt.print_item(ns, mode, payload)
            if mode in wanted:
                yield shape(ns, mode, payload)


def _run_options(
    context: Any,
    print_mode: Any,
    output_keys: Any,
    interrupt_before: Any,
    interrupt_after: Any,
    durability: Any,
    version: Any,
) -> dict[str, Any]:
    """The run options ``invoke``/``ainvoke`` share with ``stream``, as keyword arguments."""
    return {
        "context": context,
        "print_mode": print_mode,
        "output_keys": output_keys,
        "interrupt_before": interrupt_before,
        "interrupt_after": interrupt_after,
        "durability": durability,
        "version": version,
    }


def _pop_deprecated(kwargs: dict[str, Any]) -> str | None:
    """Accept the deprecated ``checkpoint_during`` flag as a durability setting."""
    if "checkpoint_during" not in kwargs:
        return None
    flag = kwargs.pop("checkpoint_during")
    warnings.warn(
        "`checkpoint_during` is deprecated; use `durability` ('exit' for False, 'async' for True)",
        DeprecationWarning,
        stacklevel=4,
    )
    return "async" if flag else "exit"


def _printer(item: tuple[tuple[str, ...], str, Any]) -> None:
    fmt.print_item(*item)
