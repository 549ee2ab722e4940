"""``CompiledStateGraph``: a ``StateGraph`` frozen into the engine's spec."""

from __future__ import annotations

from typing import Any

from relaygraph.graph._node import NodeSpec
from relaygraph.pregel.main import Pregel


def _calls_graph(action: Any) -> bool:
    """Whether a node function refers to a compiled graph (so its task runs a subgraph)."""
    fn = getattr(action, "__func__", action)
    code = getattr(fn, "__code__", None)
    if code is None:
        return False
    g = getattr(fn, "__globals__", {})
    for name in code.co_names:
        if hasattr(g.get(name), "_is_relaygraph_graph"):
            return True
    for cell in getattr(fn, "__closure__", None) or ():
        try:
            if hasattr(cell.cell_contents, "_is_relaygraph_graph"):
                return True
        except ValueError:
            continue
    return False


class CompiledStateGraph(Pregel):
    """A runnable graph: ``invoke``/``stream`` and their async faces, state and history."""

    def __init__(
        self,
        *,
        builder: Any,
        channels: dict[str, Any],
        nodes: dict[str, NodeSpec],
        node_names: frozenset[str],
        state_keys: tuple[str, ...],
        start_writes: tuple[tuple[str, Any], ...],
        start_branches: tuple[Any, ...],
        input_info: Any,
        output_info: Any,
        state_info: Any,
        checkpointer: Any,
        cache: Any,
        store: Any,
        interrupt_before: tuple[str, ...],
        interrupt_after: tuple[str, ...],
        debug: bool,
        name: str,
        context_schema: Any,
    ) -> None:
        self.builder = builder
        self.channels = channels
        self.nodes = nodes
        self.node_names = node_names
        self.state_keys = state_keys
        self.start_writes = start_writes
        self.start_branches = start_branches
        self.input_info = input_info
        self.output_info = output_info
        self.state_info = state_info
        self.checkpointer = checkpointer
        self.cache = cache
        self.store = store
        self.interrupt_before_nodes = interrupt_before
        self.interrupt_after_nodes = interrupt_after
        self.debug = debug
        self.name = name
        self.context_schema = context_schema
        index: dict[str, list[str]] = {}
        for n, spec in nodes.items():
            for t in spec.triggers:
                index.setdefault(t, []).append(n)
        self.trigger_index = index
        self.subgraph_nodes = frozenset(
            n for n, spec in nodes.items() if spec.is_graph or _calls_graph(spec.action)
        )

    def __repr__(self) -> str:
        return f"<CompiledStateGraph {self.name!r} nodes={list(self.nodes)}>"

    @property
    def InputType(self) -> Any:
        return self.input_info.schema

    @property
    def OutputType(self) -> Any:
        return self.output_info.schema
