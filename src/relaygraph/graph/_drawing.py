"""``get_graph()``: a drawable view of a compiled graph (nodes, edges, Mermaid text).

The view is built from the ``StateGraph`` the graph was compiled from:

* nodes: ``__start__``, the graph's nodes in the order they were added, then ``__end__``
  when some edge reaches it;
* edges: static edges and join edges (plain), conditional edges with a known destination
  set (dotted, labelled with the ``path_map`` key when it differs from the node), and the
  ``destinations`` a node declared for its ``Command(goto=...)`` returns (dotted). Only
  edges leaving a node reachable from ``__start__`` are drawn, and a reached node with no
  way out gets a plain edge to ``__end__``;
* ``xray``: nodes that are compiled subgraphs are replaced by the subgraph's own nodes, with
  ids prefixed ``"<node>:"`` (``True`` expands every level, an int that many levels).

``draw_mermaid()`` writes the same flowchart text as LangChain's ``Graph.draw_mermaid()``,
so a drawing made with LangGraph and one made here can be compared line by line. Nothing
here imports LangChain (``draw_mermaid_png`` does, lazily, to reach its renderer).
"""

from __future__ import annotations

import dataclasses
import string
import typing
from collections.abc import Callable, Hashable, Iterable, Mapping
from enum import Enum
from typing import Any

from relaygraph.constants import END, START

__all__ = ["CurveStyle", "Edge", "Graph", "Node", "NodeStyles", "graph_view"]

_MARKDOWN_SPECIAL_CHARS = "*_`"
_SAFE_ID_CHARS = frozenset(string.ascii_letters + string.digits + "_-")
_LABEL_ESCAPES = {
    "[": "#91;",
    "]": "#93;",
    "(": "#40;",
    ")": "#41;",
    "{": "#123;",
    "}": "#125;",
    '"': "#quot;",
    "<": "#60;",
    ">": "#62;",
    "|": "#124;",
}


@dataclasses.dataclass(frozen=True)
class Node:
    """A node of the drawing: ``id`` (unique, ``"sub:node"`` under xray), display ``name``,
    the node's action as ``data`` (``None`` for ``__end__``), and optional ``metadata``."""

    id: str
    name: str
    data: Any
    metadata: dict[str, Any] | None = None

    def copy(self, *, id: str | None = None, name: str | None = None) -> Node:
        """This node with a new ``id`` and/or ``name``."""
        return Node(id or self.id, name or self.name, self.data, self.metadata)


@dataclasses.dataclass(frozen=True)
class Edge:
    """An edge of the drawing; ``data`` is its label, ``conditional`` draws it dotted."""

    source: str
    target: str
    data: str | None = None
    conditional: bool = False

    def copy(self, *, source: str | None = None, target: str | None = None) -> Edge:
        """This edge with a new ``source`` and/or ``target``."""
        return Edge(source or self.source, target or self.target, self.data, self.conditional)


class CurveStyle(Enum):
    """How Mermaid draws edge curves."""

    BASIS = "basis"
    BUMP_X = "bumpX"
    BUMP_Y = "bumpY"
    CARDINAL = "cardinal"
    CATMULL_ROM = "catmullRom"
    LINEAR = "linear"
    MONOTONE_X = "monotoneX"
    MONOTONE_Y = "monotoneY"
    NATURAL = "natural"
    STEP = "step"
    STEP_AFTER = "stepAfter"
    STEP_BEFORE = "stepBefore"


@dataclasses.dataclass
class NodeStyles:
    """The Mermaid ``classDef`` styles of ordinary, first and last nodes."""

    default: str = "fill:#f2f0ff,line-height:1.2"
    first: str = "fill-opacity:0"
    last: str = "fill:#bfb6fc"


class Graph:
    """The drawable view ``get_graph()`` returns: ``nodes`` by id and ``edges`` in order."""

    def __init__(
        self, nodes: dict[str, Node] | None = None, edges: list[Edge] | None = None
    ) -> None:
        self.nodes: dict[str, Node] = nodes if nodes is not None else {}
        self.edges: list[Edge] = edges if edges is not None else []

    def __repr__(self) -> str:
        return f"Graph(nodes={list(self.nodes)}, edges={len(self.edges)})"

    # == building =======================================================================
    def add_node(self, data: Any, id: str, *, metadata: dict[str, Any] | None = None) -> Node:
        """Add a node named ``id``."""
        if id in self.nodes:
            raise ValueError(f"Node with id {id!r} already exists")
        node = Node(id, id, data, metadata)
        self.nodes[id] = node
        return node

    def remove_node(self, node: Node) -> None:
        """Remove ``node`` and every edge touching it."""
        self.nodes.pop(node.id)
        self.edges = [e for e in self.edges if node.id not in (e.source, e.target)]

    def add_edge(
        self, source: Node, target: Node, data: str | None = None, conditional: bool = False
    ) -> Edge:
        """Add an edge between two nodes of this graph."""
        if source.id not in self.nodes or target.id not in self.nodes:
            raise ValueError(f"Edge {source.id!r} -> {target.id!r} names an unknown node")
        edge = Edge(source.id, target.id, data, conditional)
        self.edges.append(edge)
        return edge

    def extend(self, graph: Graph, *, prefix: str = "") -> tuple[Node | None, Node | None]:
        """Add ``graph``'s nodes and edges with ids prefixed ``"<prefix>:"``.

        Returns the (prefixed) first and last nodes of ``graph``.
        """

        def prefixed(id_: str) -> str:
            return f"{prefix}:{id_}" if prefix else id_

        self.nodes.update({prefixed(k): v.copy(id=prefixed(k)) for k, v in graph.nodes.items()})
        self.edges.extend(
            e.copy(source=prefixed(e.source), target=prefixed(e.target)) for e in graph.edges
        )
        first, last = graph.first_node(), graph.last_node()
        return (
            first.copy(id=prefixed(first.id)) if first else None,
            last.copy(id=prefixed(last.id)) if last else None,
        )

    # == ends ===========================================================================
    def first_node(self) -> Node | None:
        """The one node no edge leads to (``None`` if there are none or several)."""
        return _first_node(self)

    def last_node(self) -> Node | None:
        """The one node no edge leaves (``None`` if there are none or several)."""
        return _last_node(self)

    def trim_first_node(self) -> None:
        """Remove the first node when it has one outgoing edge and another node would be first."""
        first = self.first_node()
        if (
            first
            and _first_node(self, exclude=(first.id,))
            and len({e for e in self.edges if e.source == first.id}) == 1
        ):
            self.remove_node(first)

    def trim_last_node(self) -> None:
        """Remove the last node when it has one incoming edge and another node would be last."""
        last = self.last_node()
        if (
            last
            and _last_node(self, exclude=(last.id,))
            and len({e for e in self.edges if e.target == last.id}) == 1
        ):
            self.remove_node(last)

    # == output =========================================================================
    def to_json(self) -> dict[str, list[dict[str, Any]]]:
        """Nodes and edges as JSON-ready dicts (the shape LangChain's ``Graph.to_json`` has,
        without the class path LangChain puts in each node's ``data``)."""
        nodes: list[dict[str, Any]] = []
        for node in self.nodes.values():
            item: dict[str, Any] = {"id": node.id}
            if node.data is not None:
                item["type"] = "runnable"
                item["data"] = {"name": node.id}
            if node.metadata is not None:
                item["metadata"] = node.metadata
            nodes.append(item)
        edges: list[dict[str, Any]] = []
        for e in self.edges:
            edge: dict[str, Any] = {"source": e.source, "target": e.target}
            if e.data is not None:
                edge["data"] = e.data
            if e.conditional:
                edge["conditional"] = True
            edges.append(edge)
        return {"nodes": nodes, "edges": edges}

    def draw_mermaid(
        self,
        *,
        with_styles: bool = True,
        curve_style: CurveStyle | str = CurveStyle.LINEAR,
        node_colors: Any = None,
        wrap_label_n_words: int = 9,
        frontmatter_config: dict[str, Any] | None = None,
    ) -> str:
        """The graph as a Mermaid flowchart (``graph TD;``).

        ``with_styles=False`` leaves out the front matter, node declarations and class
        definitions; ``curve_style`` sets the flowchart curve; ``node_colors`` (a
        ``NodeStyles``) the node classes; edge labels wrap every ``wrap_label_n_words`` words;
        ``frontmatter_config`` is merged into the YAML front matter.
        """
        first, last = self.first_node(), self.last_node()
        return _draw_mermaid(
            self.nodes,
            self.edges,
            first_node=first.id if first else None,
            last_node=last.id if last else None,
            with_styles=with_styles,
            curve_style=str(getattr(curve_style, "value", curve_style)),
            node_styles=node_colors or NodeStyles(),
            wrap_label_n_words=wrap_label_n_words,
            frontmatter_config=frontmatter_config,
        )

    def draw_mermaid_png(self, **kwargs: Any) -> bytes:
        """A PNG rendering of ``draw_mermaid()`` through LangChain's Mermaid renderer.

        Keyword arguments of ``draw_mermaid`` shape the text; the others go to LangChain's
        ``draw_mermaid_png`` (``output_file_path``, ``draw_method``, ...). Needs
        ``langchain-core`` (and network access for the default API renderer).
        """
        from langchain_core.runnables.graph_mermaid import draw_mermaid_png

        text_args = ("with_styles", "curve_style", "node_colors", "wrap_label_n_words")
        text_kwargs = {k: kwargs.pop(k) for k in (*text_args, "frontmatter_config") if k in kwargs}
        return draw_mermaid_png(self.draw_mermaid(**text_kwargs), **kwargs)


def _first_node(graph: Graph, exclude: Iterable[str] = ()) -> Node | None:
    excluded = set(exclude)
    targets = {e.target for e in graph.edges if e.source not in excluded}
    found = [n for n in graph.nodes.values() if n.id not in excluded and n.id not in targets]
    return found[0] if len(found) == 1 else None


def _last_node(graph: Graph, exclude: Iterable[str] = ()) -> Node | None:
    excluded = set(exclude)
    sources = {e.source for e in graph.edges if e.target not in excluded}
    found = [n for n in graph.nodes.values() if n.id not in excluded and n.id not in sources]
    return found[0] if len(found) == 1 else None


# == building the view =====================================================================
def graph_view(compiled: Any, xray: int | bool = False) -> Graph:
    """The drawable view of ``compiled`` (what ``get_graph(xray=...)`` returns)."""
    builder = getattr(compiled, "builder", None)
    specs: Mapping[str, Any] = builder.nodes if builder is not None else compiled.nodes
    found = _edges_of(builder, specs) if builder is not None else set()
    edges = _reachable(found)
    graph = Graph()
    graph.add_node(getattr(getattr(compiled, "input_info", None), "schema", START), START)
    before = set(compiled.interrupt_before_nodes or ())
    after = set(compiled.interrupt_after_nodes or ())
    for name, spec in specs.items():
        graph.add_node(spec.action, name, metadata=_node_metadata(spec, name, before, after))
    ordered = sorted(edges, key=lambda e: (e.source, e.target, e.conditional, e.data or ""))
    for e in ordered:
        _add_edge(graph, e)
    termini = sorted({e.target for e in edges if e.target != END} - {e.source for e in edges})
    for name in termini:
        _add_edge(graph, Edge(name, END))
    if not termini and not any(e.target == END for e in edges):
        # No way out is known (a cycle, or only Sends): LangGraph ends the drawing at the
        # nodes its step-by-step walk reaches last, when that is a single node.
        last = _last_step(edges)
        if len(last) == 1:
            _add_edge(graph, Edge(last[0], END, None, True))
    if xray:
        _expand_subgraphs(graph, specs, xray)
    return graph


def _edges_of(builder: Any, specs: Mapping[str, Any]) -> set[Edge]:
    # Plain edges to ``__end__`` are not drawn as such: a node that has no other way out
    # gets its edge to ``__end__`` back as a terminus (see ``graph_view``), as in LangGraph.
    edges: set[Edge] = set()
    for source, target in builder._edge_order:
        if target != END:
            edges.add(Edge(source, target))
    for sources, target in builder.waiting_edges:
        if target == END:
            continue
        for source in sources:
            edges.add(Edge(source, target))
    for source, branches in builder.branches.items():
        for branch in branches.values():
            for key, target in _branch_ends(branch).items():
                label = str(key)
                edges.add(Edge(source, target, None if label == target else label, True))
    for name, spec in specs.items():
        for target, name_label in _destinations(spec).items():
            shown = None if name_label in (None, target) else name_label
            edges.add(Edge(name, target, shown, True))
    return edges


def _branch_ends(branch: Any) -> dict[Hashable, str]:
    """Where a conditional edge can go: its ``path_map``, or a ``Literal`` return hint."""
    if branch.path_map:
        return dict(branch.path_map)
    values = _literal_values(_return_hint(branch.path))
    return {v: v for v in values if isinstance(v, str)}


def _destinations(spec: Any) -> dict[str, str | None]:
    """A node's declared ``Command`` destinations (``destinations=`` or ``Command[Literal]``)."""
    if spec.destinations:
        return dict.fromkeys(spec.destinations)
    hint = _return_hint(spec.action)
    for candidate in (hint, *typing.get_args(hint)):
        if getattr(typing.get_origin(candidate), "__name__", None) == "Command":
            return dict.fromkeys(
                v for v in _literal_values(typing.get_args(candidate)[0:1]) if isinstance(v, str)
            )
    return {}


def _return_hint(fn: Any) -> Any:
    if not callable(fn) or getattr(fn, "_is_relaygraph_graph", False):
        return None
    target: Callable[..., Any] = fn
    if not (hasattr(fn, "__code__") or hasattr(fn, "__func__")):
        target = fn.__call__
    try:
        return typing.get_type_hints(target).get("return")
    except Exception:
        return getattr(target, "__annotations__", {}).get("return")


def _literal_values(hint: Any) -> tuple[Any, ...]:
    """The values of a ``Literal[...]`` (or a tuple/union of them)."""
    if isinstance(hint, tuple):
        return tuple(v for h in hint for v in _literal_values(h))
    if typing.get_origin(hint) is typing.Literal:
        return typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return tuple(v for h in typing.get_args(hint) for v in _literal_values(h))
    return ()


def _reachable(edges: set[Edge]) -> set[Edge]:
    """The edges whose source can be reached from ``__start__``."""
    out: dict[str, list[Edge]] = {}
    for e in edges:
        out.setdefault(e.source, []).append(e)
    seen = {START}
    stack = [START]
    while stack:
        for e in out.get(stack.pop(), ()):
            if e.target not in seen:
                seen.add(e.target)
                stack.append(e.target)
    return {e for e in edges if e.source in seen}


def _last_step(edges: set[Edge], limit: int = 250) -> list[str]:
    """The nodes a step-by-step walk from ``__start__`` runs in its last step."""
    out: dict[str, set[str]] = {}
    for e in edges:
        if e.target != END:
            out.setdefault(e.source, set()).add(e.target)
    frontier = {START}
    last = frontier
    for _ in range(limit + 1):
        if not frontier:
            break
        last = frontier
        frontier = {t for s in frontier for t in out.get(s, ())}
    return sorted(last)


def _node_metadata(
    spec: Any, name: str, before: set[str], after: set[str]
) -> dict[str, Any] | None:
    metadata = dict(spec.metadata or {})
    if getattr(spec, "defer", False):
        metadata["defer"] = True
    in_before = name in before or "*" in before
    in_after = name in after or "*" in after
    if in_before and in_after:
        metadata["__interrupt"] = "before,after"
    elif in_before:
        metadata["__interrupt"] = "before"
    elif in_after:
        metadata["__interrupt"] = "after"
    tools = getattr(spec.action, "tools_by_name", None)
    if isinstance(tools, Mapping) and tools:
        metadata["__tools"] = list(tools)
    return metadata or None


def _add_edge(graph: Graph, edge: Edge) -> None:
    """Add ``edge`` unless one already joins the same nodes; ``__end__`` appears on demand."""
    for e in graph.edges:
        if e.source == edge.source and e.target == edge.target:
            return
    if edge.target == END and END not in graph.nodes:
        graph.add_node(None, END)
    graph.edges.append(edge)


def _expand_subgraphs(graph: Graph, specs: Mapping[str, Any], xray: int | bool) -> None:
    deeper: int | bool = xray if isinstance(xray, bool) or xray <= 0 else xray - 1
    for name, spec in specs.items():
        if not getattr(spec, "is_graph", False) or name not in graph.nodes:
            continue
        sub = spec.action.get_graph(xray=deeper)
        if len(sub.nodes) <= 1 or not sub.first_node() or not sub.last_node():
            continue
        sub.trim_first_node()
        sub.trim_last_node()
        graph.nodes.pop(name)
        first, last = graph.extend(sub, prefix=name)
        for i, e in enumerate(graph.edges):
            if e.source == name and last is not None:
                e = e.copy(source=last.id)
            if e.target == name and first is not None:
                e = e.copy(target=first.id)
            graph.edges[i] = e


# == Mermaid ==============================================================================
def _to_safe_id(label: str) -> str:
    """A Mermaid id: ``[A-Za-z0-9_-]`` kept, anything else as ``\\<hex code point>``."""
    return "".join(ch if ch in _SAFE_ID_CHARS else "\\" + format(ord(ch), "x") for ch in label)


def _escape_label(text: str) -> str:
    text = text.replace("#", "#35;")
    for char, entity in _LABEL_ESCAPES.items():
        text = text.replace(char, entity)
    return text


def _metadata_lines(metadata: Mapping[str, Any]) -> list[str]:
    scalars = (str, int, float, bool)
    lines: list[str] = []
    for key, value in metadata.items():
        if isinstance(value, scalars):
            text = str(value)
        elif isinstance(value, (list, tuple, set)) and all(isinstance(v, scalars) for v in value):
            items = [str(v) for v in value]
            text = ", ".join(sorted(items) if isinstance(value, set) else items)
        else:
            continue
        lines.append(_escape_label(f"{key} = {text}"))
    return lines


def _yaml(value: Any, indent: int = 0) -> str:
    """Block-style YAML for nested dicts of scalars, keys sorted (as ``yaml.dump`` writes)."""
    pad = "  " * indent
    out = ""
    for key in sorted(value):
        item = value[key]
        if isinstance(item, Mapping):
            out += f"{pad}{key}:\n" + _yaml(item, indent + 1) if item else f"{pad}{key}: {{}}\n"
        elif isinstance(item, bool):
            out += f"{pad}{key}: {'true' if item else 'false'}\n"
        elif item is None:
            out += f"{pad}{key}: null\n"
        elif isinstance(item, (int, float)):
            out += f"{pad}{key}: {item}\n"
        else:
            text = str(item)
            plain = text and text[0] not in "#&*!|>'\"%@`{[" and ": " not in text
            out += f"{pad}{key}: {text if plain else repr(text)}\n"
    return out


def _front_matter(config: dict[str, Any]) -> str:
    try:
        import yaml  # type: ignore[import-untyped]
    except ImportError:
        return _yaml(config)
    return str(yaml.dump(config, default_flow_style=False))


def _draw_mermaid(
    nodes: Mapping[str, Node],
    edges: list[Edge],
    *,
    first_node: str | None,
    last_node: str | None,
    with_styles: bool,
    curve_style: str,
    node_styles: Any,
    wrap_label_n_words: int,
    frontmatter_config: dict[str, Any] | None,
) -> str:
    original = frontmatter_config or {}
    original_flowchart = original.get("config", {}).get("flowchart", {})
    config = {
        **original,
        "config": {
            **original.get("config", {}),
            "flowchart": {**original_flowchart, "curve": curve_style},
        },
    }
    text = f"---\n{_front_matter(config)}---\ngraph TD;\n" if with_styles else "graph TD;\n"

    subgraph_nodes: dict[str, dict[str, Node]] = {}
    regular_nodes: dict[str, Node] = {}
    for key, node in nodes.items():
        if ":" in key:
            subgraph_nodes.setdefault(key.rsplit(":", 1)[0], {})[key] = node
        else:
            regular_nodes[key] = node

    shapes = {"default": "{0}({1})"}
    if first_node is not None:
        shapes[first_node] = "{0}([{1}]):::first"
    if last_node is not None:
        shapes[last_node] = "{0}([{1}]):::last"

    def render(key: str, node: Node) -> str:
        name = node.name.split(":")[-1]
        special = tuple(_MARKDOWN_SPECIAL_CHARS)
        label = f"<p>{name}</p>" if name.startswith(special) and name.endswith(special) else name
        lines = _metadata_lines(node.metadata or {})
        if lines:
            label = f"{label}<hr/><small><em>" + "\n".join(lines) + "</em></small>"
        return "\t" + shapes.get(key, shapes["default"]).format(_to_safe_id(key), label) + "\n"

    if with_styles:
        for key, node in regular_nodes.items():
            text += render(key, node)

    groups: dict[str, list[Edge]] = {}
    for e in edges:
        pairs = zip(e.source.split(":"), e.target.split(":"), strict=False)
        prefix = ":".join(s for s, t in pairs if s == t)
        groups.setdefault(prefix, []).append(e)
    seen: set[str] = set()
    parts: list[str] = [text]

    def add_group(group: list[Edge], prefix: str) -> None:
        self_loop = len(group) == 1 and group[0].source == group[0].target
        if prefix and not self_loop:
            name = prefix.rsplit(":", 1)[-1]
            if name in seen:
                raise ValueError(
                    f"Found duplicate subgraph '{name}' -- this likely means that you're "
                    "reusing a subgraph node with the same name. Please adjust your graph to "
                    "have subgraph nodes with unique names."
                )
            seen.add(name)
            parts.append(f"\tsubgraph {name}\n")
            if with_styles:
                for key, node in subgraph_nodes.get(prefix, {}).items():
                    parts.append(render(key, node))
        for e in group:
            if e.data is not None:
                label = str(e.data)
                words = label.split()
                if len(words) > wrap_label_n_words:
                    label = "&nbsp<br>&nbsp".join(
                        " ".join(words[i : i + wrap_label_n_words])
                        for i in range(0, len(words), wrap_label_n_words)
                    )
                arrow = (
                    f" -. &nbsp;{label}&nbsp; .-> "
                    if e.conditional
                    else f" -- &nbsp;{label}&nbsp; --> "
                )
            else:
                arrow = " -.-> " if e.conditional else " --> "
            parts.append(f"\t{_to_safe_id(e.source)}{arrow}{_to_safe_id(e.target)};\n")
        for nested, nested_edges in groups.items():
            if not nested.startswith(prefix + ":") or nested == prefix:
                continue
            if ":" in nested[len(prefix) + 1 :]:
                continue
            add_group(nested_edges, nested)
        if prefix and not self_loop:
            parts.append("\tend\n")

    add_group(groups.get("", []), "")
    for prefix, group in groups.items():
        if not prefix or ":" in prefix:
            continue
        add_group(group, prefix)
        seen.add(prefix)
    if with_styles:
        for prefix, members in subgraph_nodes.items():
            if ":" not in prefix and prefix not in seen:
                parts.append(f"\tsubgraph {prefix}\n")
                parts.extend(render(key, node) for key, node in members.items())
                parts.append("\tend\n")
                seen.add(prefix)
        styles = (
            dataclasses.asdict(node_styles)
            if dataclasses.is_dataclass(node_styles) and not isinstance(node_styles, type)
            else dict(vars(node_styles))
        )
        for name, style in styles.items():
            parts.append(f"\tclassDef {name} {style}\n")
    return "".join(parts)
