"""``StateGraph``: the authoring API. Nodes, edges and schemas in; a compiled graph out."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Hashable, Sequence
from typing import Any, Generic, TypeVar, get_type_hints

from relaygraph.channels import (
    BaseChannel,
    BinaryOperatorAggregate,
    EphemeralValue,
    NamedBarrierValue,
    Topic,
)
from relaygraph.constants import END, RESERVED, START, TASKS
from relaygraph.errors import GraphSetupError, UnknownNodeError
from relaygraph.graph._branch import Branch
from relaygraph.graph._node import NodeSpec, injected_kwargs, is_async_callable
from relaygraph.graph._state import channels_for_schema, schema_info

__all__ = ["StateGraph"]

S = TypeVar("S")


def _is_schema(annotation: Any) -> bool:
    from dataclasses import is_dataclass

    from typing_extensions import is_typeddict

    return bool(
        is_typeddict(annotation) or is_dataclass(annotation) or hasattr(annotation, "model_fields")
    )


def _branch_channel(node: str) -> str:
    return f"branch:to:{node}"


def _join_channel(sources: Sequence[str], target: str) -> str:
    return f"join:{'+'.join(sources)}:{target}"


class StateGraph(Generic[S]):
    """A graph whose nodes read and write a shared state.

    Args:
        state_schema: a TypedDict, dataclass or Pydantic model; ``Annotated[T, reducer]``
            fields fold writes with ``reducer(current, update)``.
        context_schema: the type of ``Runtime.context`` (run-scoped, read-only data).
        input_schema / output_schema: narrower views of the state for input and output.
    """

    def __init__(
        self,
        state_schema: type[S] | None = None,
        context_schema: type[Any] | None = None,
        *,
        input_schema: type[Any] | None = None,
        output_schema: type[Any] | None = None,
        **kwargs: Any,
    ) -> None:
        input_schema = input_schema or kwargs.pop("input", None)
        output_schema = output_schema or kwargs.pop("output", None)
        if "config_schema" in kwargs:
            context_schema = context_schema or kwargs.pop("config_schema")
        if kwargs:
            raise TypeError(f"StateGraph() got unexpected keyword arguments: {sorted(kwargs)}")
        if state_schema is None:
            if input_schema is None or output_schema is None:
                raise GraphSetupError("Must provide state_schema or input and output schemas")
            state_schema = input_schema
        self.state_schema = state_schema
        self.input_schema = input_schema or state_schema
        self.output_schema = output_schema or state_schema
        self.context_schema = context_schema
        self.channels: dict[str, BaseChannel] = {}
        self._schemas: list[Any] = []
        for schema in (state_schema, self.input_schema, self.output_schema):
            self._add_schema(schema)
        self.nodes: dict[str, NodeSpec] = {}
        self.edges: set[tuple[str, str]] = set()
        self._edge_order: list[tuple[str, str]] = []
        self.waiting_edges: list[tuple[tuple[str, ...], str]] = []
        self.branches: dict[str, dict[str, Branch]] = {}
        self.compiled = False

    def _add_schema(self, schema: Any) -> None:
        if schema in self._schemas:
            return
        self._schemas.append(schema)
        for key, channel in channels_for_schema(schema).items():
            if key in self.channels:
                existing = self.channels[key]
                if isinstance(channel, BinaryOperatorAggregate) and not isinstance(
                    existing, BinaryOperatorAggregate
                ):  # a later schema that gives the key a reducer wins
                    self.channels[key] = channel
                continue
            if key in RESERVED:
                raise GraphSetupError(f"State key {key!r} is reserved")
            self.channels[key] = channel

    # -- nodes -----------------------------------------------------------------------------
    def add_node(
        self,
        node: str | Callable[..., Any] | Any,
        action: Callable[..., Any] | Any = None,
        *,
        defer: bool = False,
        metadata: dict[str, Any] | None = None,
        input_schema: type[Any] | None = None,
        retry_policy: Any = None,
        cache_policy: Any = None,
        destinations: dict[str, str] | tuple[str, ...] | None = None,
        **kwargs: Any,
    ) -> StateGraph[S]:
        """Add a node: ``add_node(fn)``, ``add_node("name", fn)`` or a compiled subgraph.

        A node receives the state (or its ``input_schema`` view) and returns a partial
        update, a ``Command``, or ``None``. It may also declare ``config``, ``writer``,
        ``runtime`` or ``store`` parameters to have them passed in.
        """
        if "retry" in kwargs:
            retry_policy = retry_policy or kwargs.pop("retry")
        if "input" in kwargs:
            input_schema = input_schema or kwargs.pop("input")
        if kwargs:
            raise TypeError(f"add_node() got unexpected keyword arguments: {sorted(kwargs)}")
        if self.compiled:
            raise GraphSetupError("Cannot add a node to a graph that has been compiled")
        if not isinstance(node, str):
            action = node
            node = getattr(action, "name", None) or getattr(action, "__name__", None)
            if not isinstance(node, str) or node == "<lambda>":
                raise GraphSetupError(
                    f"Cannot infer a node name from {action!r}; pass add_node(name, action)"
                )
        if action is None:
            raise GraphSetupError(f"Node {node!r} needs an action")
        if node in self.nodes:
            raise GraphSetupError(f"Node `{node}` already present.")
        if node in (START, END) or node in RESERVED:
            raise GraphSetupError(f"Node name {node!r} is reserved")
        for ch in ("|", ":"):
            if ch in node:
                raise GraphSetupError(f"'{ch}' is a reserved character in node names: {node!r}")
        if node in self.channels:
            raise GraphSetupError(f"'{node}' is already being used as a state key")
        is_graph = hasattr(action, "_is_relaygraph_graph")
        is_runnable = not is_graph and hasattr(action, "invoke") and hasattr(action, "ainvoke")
        if input_schema is None and not is_graph and not is_runnable:
            input_schema = self._infer_input_schema(action)
        if input_schema is not None:
            self._add_schema(input_schema)
        if isinstance(destinations, dict):
            dests: tuple[str, ...] = tuple(destinations)
        else:
            dests = tuple(destinations or ())
        self.nodes[node] = NodeSpec(
            name=node,
            action=action,
            input_info=schema_info(input_schema or self.state_schema),
            kwargs=() if (is_graph or is_runnable) else injected_kwargs(action),
            is_async=is_async_callable(action),
            is_runnable=is_runnable,
            is_graph=is_graph,
            retry_policy=retry_policy,
            cache_policy=cache_policy,
            metadata=metadata,
            defer=defer,
            destinations=dests,
        )
        return self

    def _infer_input_schema(self, action: Any) -> type[Any] | None:
        try:
            params = list(inspect.signature(action).parameters.values())
        except (TypeError, ValueError):
            return None
        if not params:
            return None
        annotation = params[0].annotation
        if annotation is inspect.Parameter.empty:
            return None
        if isinstance(annotation, str):
            try:
                annotation = get_type_hints(action).get(params[0].name, None)
            except Exception:
                return None
        if annotation is self.state_schema or not isinstance(annotation, type):
            return None
        kind = schema_info(annotation).kind if _is_schema(annotation) else None
        return annotation if kind in ("typeddict", "dataclass", "pydantic") else None

    def add_sequence(self, nodes: Sequence[Callable[..., Any] | tuple[str, Any]]) -> StateGraph[S]:
        """Add nodes and chain them with edges, in order."""
        if not nodes:
            raise GraphSetupError("Sequence requires at least one node.")
        previous: str | None = None
        for item in nodes:
            if isinstance(item, tuple):
                name, action = item
                self.add_node(name, action)
            else:
                self.add_node(item)
                name = list(self.nodes)[-1]
            if previous is not None:
                self.add_edge(previous, name)
            previous = name
        return self

    # -- edges -----------------------------------------------------------------------------
    def add_edge(self, start_key: str | list[str], end_key: str) -> StateGraph[S]:
        """Run ``end_key`` after ``start_key``; a list waits for every listed node (a join)."""
        if self.compiled:
            raise GraphSetupError("Cannot add an edge to a graph that has been compiled")
        if isinstance(start_key, str):
            if start_key == END:
                raise GraphSetupError("END cannot be a start node")
            if end_key == START:
                raise GraphSetupError("START cannot be an end node")
            if (start_key, end_key) not in self.edges:
                self.edges.add((start_key, end_key))
                self._edge_order.append((start_key, end_key))
            return self
        sources = tuple(start_key)
        for s in sources:
            if s == END:
                raise GraphSetupError("END cannot be a start node")
        if end_key == START:
            raise GraphSetupError("START cannot be an end node")
        self.waiting_edges.append((sources, end_key))
        return self

    def add_conditional_edges(
        self,
        source: str,
        path: Callable[..., Any],
        path_map: dict[Hashable, str] | list[str] | None = None,
    ) -> StateGraph[S]:
        """After ``source``, call ``path(state)`` and go where it says (names, END or Sends)."""
        if self.compiled:
            raise GraphSetupError("Cannot add an edge to a graph that has been compiled")
        name = getattr(path, "__name__", None) or "condition"
        if name == "<lambda>":
            name = "condition"
        branches = self.branches.setdefault(source, {})
        if name in branches:
            raise GraphSetupError(f"Branch with name `{name}` already exists for node `{source}`")
        branches[name] = Branch.make(path, path_map)
        return self

    def set_entry_point(self, key: str) -> StateGraph[S]:
        return self.add_edge(START, key)

    def set_finish_point(self, key: str) -> StateGraph[S]:
        return self.add_edge(key, END)

    def set_conditional_entry_point(
        self, path: Callable[..., Any], path_map: dict[Hashable, str] | list[str] | None = None
    ) -> StateGraph[S]:
        return self.add_conditional_edges(START, path, path_map)

    # -- compile ---------------------------------------------------------------------------
    def validate(self, interrupt: Sequence[str] | None = None) -> None:
        """Check every edge, branch and breakpoint names a real node."""
        known = set(self.nodes)
        sources = {s for s, _ in self.edges} | {s for ss, _ in self.waiting_edges for s in ss}
        sources |= set(self.branches)
        for s in sources:
            if s != START and s not in known:
                raise UnknownNodeError(f"Found edge starting at unknown node '{s}'")
        if START not in sources:
            raise GraphSetupError(
                "Graph must have an entrypoint: add at least one edge from START to another node"
            )
        for _, t in self.edges:
            if t != END and t not in known:
                raise UnknownNodeError(f"Found edge ending at unknown node `{t}`")
        for _, t in self.waiting_edges:
            if t != END and t not in known:
                raise UnknownNodeError(f"Found edge ending at unknown node `{t}`")
        for src, branches in self.branches.items():
            for branch in branches.values():
                for dest in branch.destinations():
                    if dest != END and dest not in known:
                        raise UnknownNodeError(
                            f"At '{src}' node, 'condition' branch found unknown target '{dest}'"
                        )
        for spec in self.nodes.values():
            for dest in spec.destinations:
                if dest != END and dest not in known:
                    raise UnknownNodeError(
                        f"Node {spec.name!r} declares unknown destination {dest!r}"
                    )
        for name in interrupt or ():
            if name != "*" and name not in known:
                raise UnknownNodeError(f"Interrupt node `{name}` not found")

    def compile(
        self,
        checkpointer: Any = None,
        *,
        cache: Any = None,
        store: Any = None,
        interrupt_before: Sequence[str] | str | None = None,
        interrupt_after: Sequence[str] | str | None = None,
        debug: bool = False,
        name: str | None = None,
    ) -> Any:
        """Freeze the graph into a runnable ``CompiledStateGraph``."""
        from relaygraph.graph._compiled import CompiledStateGraph

        ib = (
            [interrupt_before]
            if isinstance(interrupt_before, str)
            else list(interrupt_before or ())
        )
        ia = [interrupt_after] if isinstance(interrupt_after, str) else list(interrupt_after or ())
        self.validate([*ib, *ia])
        channels: dict[str, BaseChannel] = dict(self.channels)
        node_names = set(self.nodes)
        triggers: dict[str, list[str]] = {n: [] for n in self.nodes}
        edge_writes: dict[str, list[tuple[str, Any]]] = {n: [] for n in [START, *self.nodes]}
        for s, t in self._edge_order:
            if t == END:
                continue
            ch = _branch_channel(t)
            channels.setdefault(ch, EphemeralValue(ch))
            if ch not in triggers[t]:
                triggers[t].append(ch)
            edge_writes[s].append((ch, None))
        for sources, t in self.waiting_edges:
            if t == END:
                continue
            ch = _join_channel(sources, t)
            channels[ch] = NamedBarrierValue(frozenset(sources), ch)
            triggers[t].append(ch)
            for s in sources:
                edge_writes[s].append((ch, s))
        for n in self.nodes:
            ch = _branch_channel(n)
            if ch not in channels:
                channels[ch] = EphemeralValue(ch)
            if ch not in triggers[n]:
                triggers[n].insert(0, ch)
        channels[TASKS] = Topic(TASKS)
        nodes: dict[str, NodeSpec] = {}
        for n, spec in self.nodes.items():
            spec.triggers = tuple(triggers[n])
            spec.barriers = tuple(t for t in spec.triggers if t.startswith("join:"))
            spec.edge_writes = tuple(edge_writes[n])
            spec.branches = tuple(self.branches.get(n, {}).values())
            nodes[n] = spec
        state_keys = tuple(k for k in self.channels)
        self.compiled = True
        return CompiledStateGraph(
            builder=self,
            channels=channels,
            nodes=nodes,
            node_names=frozenset(node_names),
            state_keys=state_keys,
            start_writes=tuple(edge_writes[START]),
            start_branches=tuple(self.branches.get(START, {}).values()),
            input_info=schema_info(self.input_schema),
            output_info=schema_info(self.output_schema),
            state_info=schema_info(self.state_schema),
            checkpointer=checkpointer,
            cache=cache,
            store=store,
            interrupt_before=tuple(ib),
            interrupt_after=tuple(ia),
            debug=debug,
            name=name or "LangGraph",
            context_schema=self.context_schema,
        )
