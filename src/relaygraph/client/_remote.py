"""``RemoteGraph``: a graph deployed on a LangGraph API server, behind the local graph interface.

``invoke``/``stream``/``get_state``/``update_state``/``get_state_history`` (and their ``a``
twins) take and return what a compiled local graph does: an input and a ``config`` whose
``configurable.thread_id`` picks the server thread (none: a stateless run). Because it has
``invoke`` and ``ainvoke``, a ``RemoteGraph`` can be a node of a local graph:
``builder.add_node("remote", RemoteGraph("agent", url=...))``. As a node:

- the run's ``checkpoint_ns``/``checkpoint_id`` and other engine-internal config keys are not
  sent; values that are not plain JSON are dropped;
- a remote ``interrupt()`` raises ``GraphInterrupt`` in the parent, so the parent pauses too;
- a failure on the server raises :class:`~relaygraph.client.RunError` in the node.

Every method is built from the same pure ops as the clients (``_ops.runs``/``_ops.threads``)
and run by the sync or the async face; no method is written twice.
"""

from __future__ import annotations

import dataclasses
import uuid
import weakref
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, NamedTuple, TypeVar, cast

from relaygraph.client._client import (
    FROM_ENV,
    LangGraphClient,
    SyncLangGraphClient,
    get_client,
    get_sync_client,
)
from relaygraph.client._errors import RunError
from relaygraph.client._ops import runs as runs_ops
from relaygraph.client._ops import threads as threads_ops
from relaygraph.client._protocol import Emit, Op, StreamOp
from relaygraph.client._schema import Checkpoint, Command, Config, StreamMode
from relaygraph.client._stream import StreamPart

__all__ = ["Interrupt", "RemoteGraph", "RemoteTask", "StateSnapshot"]

T = TypeVar("T")

_INTERNAL_CONF = frozenset(("checkpoint_ns", "checkpoint_id", "checkpoint_map"))
_INTERRUPT = "__interrupt__"
_GRAPH_NAMESPACE = uuid.UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8")
"""A graph's default assistant id is ``uuid5(_GRAPH_NAMESPACE, graph_id)`` (the platform's rule)."""


@dataclasses.dataclass(frozen=True)
class Interrupt:
    """An ``interrupt()`` that paused the remote run; ``id`` addresses it when resuming."""

    value: Any
    id: str = "placeholder-id"
    response_schema: Any = None


class RemoteTask(NamedTuple):
    """A pending task of a remote state (the fields of the engine's ``PregelTask``)."""

    id: str
    name: str
    path: tuple[Any, ...] = ()
    error: Any = None
    interrupts: tuple[Interrupt, ...] = ()
    state: Any = None
    result: Any = None


class StateSnapshot(NamedTuple):
    """A remote thread's state at one checkpoint (the fields of the engine's snapshot)."""

    values: Any
    next: tuple[str, ...]
    config: dict[str, Any]
    metadata: dict[str, Any] | None
    created_at: str | None
    parent_config: dict[str, Any] | None
    tasks: tuple[RemoteTask, ...]
    interrupts: tuple[Interrupt, ...]


# -- pure helpers -----------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """``value`` with whatever is not plain JSON dropped (``None`` if nothing is left)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, Mapping):
        out = {k: v for k, v in ((k, _plain(v)) for k, v in value.items()) if v is not None}
        return {k: v for k, v in out.items() if isinstance(k, str)}
    if isinstance(value, (list, tuple)):
        return [v for v in map(_plain, value) if v is not None]
    return None


def sanitize_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of a local run config that make sense to a server."""
    out: dict[str, Any] = {}
    if "recursion_limit" in config:
        out["recursion_limit"] = config["recursion_limit"]
    if config.get("tags"):
        out["tags"] = [t for t in config["tags"] if isinstance(t, str)]
    if config.get("metadata"):
        out["metadata"] = _plain(config["metadata"])
    conf = config.get("configurable")
    if conf:
        out["configurable"] = _plain(
            {
                k: v
                for k, v in conf.items()
                if k not in _INTERNAL_CONF and not (isinstance(k, str) and k.startswith("__"))
            }
        )
    return out


def merge_configs(*configs: Mapping[str, Any] | None) -> dict[str, Any]:
    """Later configs win; ``configurable``/``metadata`` merge key by key, ``tags`` add up."""
    out: dict[str, Any] = {}
    for config in configs:
        for key, value in (config or {}).items():
            if key in ("configurable", "metadata") and isinstance(value, Mapping):
                out[key] = {**out.get(key, {}), **value}
            elif key == "tags" and value:
                out[key] = [*out.get(key, []), *value]
            else:
                out[key] = value
    return out


def _command(input: Any) -> dict[str, Any] | None:
    """A local ``Command`` (duck-typed: the client cannot import the engine) as wire JSON."""
    if type(input).__name__ != "Command" or not hasattr(input, "resume"):
        return None
    out: dict[str, Any] = {}
    if getattr(input, "resume", None) is not None:
        out["resume"] = input.resume
    if getattr(input, "update", None) is not None:
        out["update"] = input.update
    goto = getattr(input, "goto", None)
    if goto:
        items = goto if isinstance(goto, (list, tuple)) else [goto]
        out["goto"] = [
            {"node": g.node, "input": g.arg} if hasattr(g, "node") and hasattr(g, "arg") else g
            for g in items
        ]
    return out


def _interrupts(raw: Iterable[Any]) -> tuple[Interrupt, ...]:
    return tuple(
        Interrupt(i.get("value"), i.get("id", "placeholder-id"), i.get("response_schema"))
        if isinstance(i, Mapping)
        else Interrupt(i)
        for i in raw or ()
    )


def _raise_graph_interrupt(interrupts: tuple[Interrupt, ...]) -> None:
    # relaygraph.errors is the one engine module the client may use (test_architecture.py);
    # it is imported only here, when a RemoteGraph node pauses inside a local graph.
    from relaygraph.errors import GraphInterrupt

    raise GraphInterrupt(interrupts)  # type: ignore[arg-type]  # same fields as the engine's


def _checkpoint_config(checkpoint: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not checkpoint:
        return None
    return {
        "configurable": {
            "thread_id": checkpoint.get("thread_id"),
            "checkpoint_ns": checkpoint.get("checkpoint_ns", ""),
            "checkpoint_id": checkpoint.get("checkpoint_id"),
            "checkpoint_map": checkpoint.get("checkpoint_map") or {},
        }
    }


def _checkpoint(config: Mapping[str, Any] | None, *, pinned: bool = False) -> Checkpoint | None:
    """The checkpoint a config names; with ``pinned``, only if it names a checkpoint id."""
    conf = (config or {}).get("configurable") or {}
    if pinned and not conf.get("checkpoint_id"):
        return None
    keys = ("thread_id", "checkpoint_ns", "checkpoint_id", "checkpoint_map")
    return cast(Checkpoint, {k: conf[k] for k in keys if k in conf}) or None


def to_snapshot(state: Mapping[str, Any]) -> StateSnapshot:
    """A ``ThreadState`` from the server as a :class:`StateSnapshot`."""
    tasks = tuple(
        RemoteTask(
            id=t["id"],
            name=t["name"],
            path=tuple(t.get("path") or ()),
            error=t.get("error"),
            interrupts=_interrupts(t.get("interrupts") or ()),
            state=_checkpoint_config(t["checkpoint"]) if t.get("checkpoint") else t.get("state"),
            result=t.get("result"),
        )
        for t in state.get("tasks") or ()
    )
    return StateSnapshot(
        values=state.get("values"),
        next=tuple(state.get("next") or ()),
        config=_checkpoint_config(state.get("checkpoint")) or {"configurable": {}},
        metadata=state.get("metadata"),
        created_at=state.get("created_at"),
        parent_config=_checkpoint_config(state.get("parent_checkpoint")),
        tasks=tasks,
        interrupts=tuple(i for t in tasks for i in t.interrupts),
    )


def _shaper(
    requested: list[str], single: bool, subgraphs: bool, caller_ns: str | None
) -> Callable[[StreamPart], list[Any]]:
    """``StreamPart`` -> what a local graph's ``stream`` would yield (maybe nothing)."""
    parent_ns = tuple(caller_ns.split("|")) if caller_ns else ()

    def shape(part: StreamPart) -> list[Any]:
        mode, *ns_parts = part.event.split("|")
        data = part.data
        if mode == "error":
            raise RunError.from_payload(data)
        if (
            caller_ns
            and mode == "updates"
            and isinstance(data, dict)
            and _INTERRUPT in data
            and not ns_parts
        ):
            _raise_graph_interrupt(_interrupts(data[_INTERRUPT]))
        if mode == "messages":
            mode = "messages" if "messages" in requested else "messages-tuple"
            data = tuple(data) if isinstance(data, list) else data
        if mode not in requested or (ns_parts and not subgraphs):
            return []
        if subgraphs:
            ns = parent_ns + tuple(ns_parts)
            return [(ns, data) if single else (ns, mode, data)]
        return [data if single else (mode, data)]

    return shape


def _map(inner: StreamOp[Any], shape: Callable[[Any], list[Any]]) -> StreamOp[Any]:
    """Forward ``inner``'s instructions; replace each emitted item by ``shape(item)``."""
    value: Any = None
    error: BaseException | None = None
    try:
        while True:
            try:
                instr = inner.send(value) if error is None else inner.throw(error)
            except StopIteration:
                return
            value = error = None
            if isinstance(instr, Emit):
                out: list[Any] = []
                try:
                    for item in instr.items:
                        out.extend(shape(item))
                finally:
                    if out:
                        yield Emit(out)
                continue
            try:
                value = yield instr
            except Exception as exc:  # a transport error thrown in by the driver
                error = exc
    finally:
        inner.close()


def _last(inner: StreamOp[Any]) -> Op[Any]:
    """Run a stream op for its last item."""
    box: list[Any] = [None]

    def keep(item: Any) -> list[Any]:
        box[0] = item
        return []

    yield from cast(Op[None], _map(inner, keep))  # emits nothing: keep() returns []
    return box[0]


# -- the graph ----------------------------------------------------------------------------


class RemoteGraph:
    """A graph on a LangGraph API server, used like a compiled local graph.

    ``assistant_id`` is a graph name (``"agent"``) or an assistant id. Give ``url`` (and
    ``api_key``/``headers``) to build clients, or pass ``client``/``sync_client``.
    ``config`` is merged under every call's config.
    """

    def __init__(
        self,
        assistant_id: str,
        /,
        *,
        url: str | None = None,
        api_key: str | None = FROM_ENV,
        headers: Mapping[str, str] | None = None,
        client: LangGraphClient | None = None,
        sync_client: SyncLangGraphClient | None = None,
        config: Mapping[str, Any] | None = None,
        name: str | None = None,
    ) -> None:
        self.assistant_id = assistant_id
        self.name = name or assistant_id
        self.config: dict[str, Any] = dict(config or {})
        self._url, self._api_key, self._headers = url, api_key, headers
        self._client = client
        self._sync_client = sync_client
        self._close_sync: weakref.finalize[Any, Any] | None = None

    # the two faces
    @property
    def sync_client(self) -> SyncLangGraphClient:
        """The blocking client this graph uses (made on first use)."""
        if self._sync_client is None:
            client = get_sync_client(url=self._url, api_key=self._api_key, headers=self._headers)
            self._sync_client = client
            self._close_sync = weakref.finalize(self, client.close)  # ours: close it with us
        return self._sync_client

    def close(self) -> None:
        """Close the blocking client if this graph made it (it also closes when collected)."""
        if self._close_sync is not None:
            self._close_sync()

    @asynccontextmanager
    async def _async_client(self) -> AsyncIterator[LangGraphClient]:
        # The given client, else a fresh one per call: an httpx pool is bound to the event
        # loop it was used on, and a sync parent graph runs async nodes on loops of their own.
        if self._client is not None:
            yield self._client
            return
        client = get_client(url=self._url, api_key=self._api_key, headers=self._headers)
        try:
            yield client
        finally:
            await client.aclose()

    async def _arun(self, op: Op[T]) -> T:
        async with self._async_client() as client:
            return await client._face.run(op)

    async def _aiterate(self, op: StreamOp[Any]) -> AsyncIterator[Any]:
        async with self._async_client() as client:
            async for item in client._face.iterate(op):
                yield item

    def with_config(self, config: Mapping[str, Any] | None = None, **kwargs: Any) -> RemoteGraph:
        """A copy whose default config is this one's merged with ``config``."""
        other = RemoteGraph(
            self.assistant_id,
            url=self._url,
            api_key=self._api_key,
            headers=self._headers,
            client=self._client,
            sync_client=self._sync_client if self._close_sync is None else None,  # not ours
            config=merge_configs(self.config, config, kwargs),
            name=self.name,
        )
        return other

    # -- ops (pure; one per graph method) -------------------------------------------------

    def _stream_op(
        self,
        input: Any,
        config: Mapping[str, Any] | None,
        *,
        stream_mode: str | Sequence[str] | None,
        default_mode: str,
        subgraphs: bool = False,
        interrupt_before: Any = None,
        interrupt_after: Any = None,
        context: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> StreamOp[Any]:
        merged = merge_configs(self.config, config)
        caller_ns = (config or {}).get("configurable", {}).get("checkpoint_ns") or None
        sanitized = sanitize_config(merged)
        thread_id = (sanitized.get("configurable") or {}).pop("thread_id", None)
        single = stream_mode is None or isinstance(stream_mode, str)
        requested: list[str] = (
            [str(stream_mode or default_mode)] if single else [str(m) for m in stream_mode or ()]
        )
        sent = ["messages-tuple" if m == "messages" else m for m in requested if m != "events"]
        if "updates" not in sent:
            sent.append("updates")  # interrupts arrive as updates
        command = _command(input)
        inner = runs_ops.stream(
            thread_id,
            self.assistant_id,
            input=None if command is not None else input,
            command=cast(Command, command),
            config=cast(Config, sanitized),
            context=context,
            stream_mode=cast(list[StreamMode], list(dict.fromkeys(sent))),
            stream_subgraphs=subgraphs,
            interrupt_before=interrupt_before,
            interrupt_after=interrupt_after,
            if_not_exists="create",
            headers=headers,
            params=params,
            **kwargs,
        )
        return _map(inner, _shaper(requested, single, subgraphs, caller_ns))

    def _invoke_op(self, input: Any, config: Mapping[str, Any] | None, **kwargs: Any) -> Op[Any]:
        return _last(
            self._stream_op(input, config, stream_mode="values", default_mode="values", **kwargs)
        )

    def _state_op(
        self, config: Mapping[str, Any], *, subgraphs: bool = False, **kwargs: Any
    ) -> Op[StateSnapshot]:
        merged = merge_configs(self.config, config)
        state = yield from threads_ops.get_state(
            merged["configurable"]["thread_id"],
            checkpoint=_checkpoint(merged, pinned=True),
            subgraphs=subgraphs,
            **kwargs,
        )
        return to_snapshot(state)

    def _update_op(
        self, config: Mapping[str, Any], values: Any, as_node: str | None = None, **kwargs: Any
    ) -> Op[dict[str, Any]]:
        merged = merge_configs(self.config, config)
        response = yield from threads_ops.update_state(
            merged["configurable"]["thread_id"],
            values,
            as_node=as_node,
            checkpoint=_checkpoint(merged, pinned=True),
            **kwargs,
        )
        return _checkpoint_config(response.get("checkpoint")) or {}

    def _history_op(
        self,
        config: Mapping[str, Any],
        *,
        filter: Mapping[str, Any] | None = None,
        before: Mapping[str, Any] | None = None,
        limit: int | None = None,
        **kwargs: Any,
    ) -> Op[list[StateSnapshot]]:
        merged = merge_configs(self.config, config)
        states = yield from threads_ops.get_history(
            merged["configurable"]["thread_id"],
            limit=limit or 10,
            before=_checkpoint(before),
            metadata=filter,
            checkpoint=_checkpoint(merged, pinned=True),
            **kwargs,
        )
        return [to_snapshot(s) for s in states]

    # -- the graph interface: each method runs one op on one face ---------------------------

    def invoke(self, input: Any, config: Mapping[str, Any] | None = None, **kwargs: Any) -> Any:
        """Run the graph on the server to the end; returns its final state."""
        return self.sync_client._face.run(self._invoke_op(input, config, **kwargs))

    async def ainvoke(
        self, input: Any, config: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> Any:
        """Async :meth:`invoke`."""
        return await self._arun(self._invoke_op(input, config, **kwargs))

    def stream(
        self,
        input: Any,
        config: Mapping[str, Any] | None = None,
        *,
        stream_mode: str | Sequence[str] | None = None,
        subgraphs: bool = False,
        **kwargs: Any,
    ) -> Iterator[Any]:
        """Stream the run like a local graph: a chunk per event for one mode (default
        ``"updates"``), ``(mode, chunk)`` for a list of modes, ``(namespace, ...)`` first
        with ``subgraphs``."""
        op = self._stream_op(
            input,
            config,
            stream_mode=stream_mode,
            default_mode="updates",
            subgraphs=subgraphs,
            **kwargs,
        )
        return self.sync_client._face.iterate(op)

    def astream(
        self,
        input: Any,
        config: Mapping[str, Any] | None = None,
        *,
        stream_mode: str | Sequence[str] | None = None,
        subgraphs: bool = False,
        **kwargs: Any,
    ) -> AsyncIterator[Any]:
        """Async :meth:`stream`."""
        op = self._stream_op(
            input,
            config,
            stream_mode=stream_mode,
            default_mode="updates",
            subgraphs=subgraphs,
            **kwargs,
        )
        return self._aiterate(op)

    def get_state(self, config: Mapping[str, Any], *, subgraphs: bool = False) -> StateSnapshot:
        """The thread's state (at ``checkpoint_id`` if the config names one)."""
        return self.sync_client._face.run(self._state_op(config, subgraphs=subgraphs))

    async def aget_state(
        self, config: Mapping[str, Any], *, subgraphs: bool = False
    ) -> StateSnapshot:
        """Async :meth:`get_state`."""
        return await self._arun(self._state_op(config, subgraphs=subgraphs))

    def update_state(
        self, config: Mapping[str, Any], values: Any, as_node: str | None = None
    ) -> dict[str, Any]:
        """Write ``values`` as ``as_node``; returns the config of the new checkpoint."""
        return self.sync_client._face.run(self._update_op(config, values, as_node))

    async def aupdate_state(
        self, config: Mapping[str, Any], values: Any, as_node: str | None = None
    ) -> dict[str, Any]:
        """Async :meth:`update_state`."""
        return await self._arun(self._update_op(config, values, as_node))

    def get_state_history(
        self,
        config: Mapping[str, Any],
        *,
        filter: Mapping[str, Any] | None = None,
        before: Mapping[str, Any] | None = None,
        limit: int | None = None,
    ) -> Iterator[StateSnapshot]:
        """The thread's past states, newest first."""
        op = self._history_op(config, filter=filter, before=before, limit=limit)
        return iter(self.sync_client._face.run(op))

    async def aget_state_history(
        self,
        config: Mapping[str, Any],
        *,
        filter: Mapping[str, Any] | None = None,
        before: Mapping[str, Any] | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[StateSnapshot]:
        """Async :meth:`get_state_history`."""
        op = self._history_op(config, filter=filter, before=before, limit=limit)
        for state in await self._arun(op):
            yield state

    @property
    def _assistant_uuid(self) -> str:
        """Assistant endpoints take ids only; a graph name maps to its default assistant."""
        try:
            return str(uuid.UUID(self.assistant_id))
        except ValueError:
            return str(uuid.uuid5(_GRAPH_NAMESPACE, self.assistant_id))

    def get_graph(
        self, config: Mapping[str, Any] | None = None, *, xray: int | bool = False
    ) -> Any:
        """The graph's drawing data from the server: ``{"nodes": [...], "edges": [...]}``."""
        return self.sync_client.assistants.get_graph(self._assistant_uuid, xray=xray)

    async def aget_graph(
        self, config: Mapping[str, Any] | None = None, *, xray: int | bool = False
    ) -> Any:
        """Async :meth:`get_graph`."""
        async with self._async_client() as client:
            return await client.assistants.get_graph(self._assistant_uuid, xray=xray)

    def __repr__(self) -> str:
        return f"RemoteGraph({self.assistant_id!r})"
